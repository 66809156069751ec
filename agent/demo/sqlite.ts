/**
 * The warehouse inventory database (`db/inventory.sqlite`): a real SQLite 3 file built in memory
 * with sql.js (SQLite compiled to WebAssembly) and exported as bytes.
 */
import { createRequire } from 'node:module';
import type { SqlJsStatic } from 'sql.js';
import type { Product, StockRow } from './kanda.js';

let sqlJs: Promise<SqlJsStatic> | null = null;

/**
 * The sql.js module, loaded once per process (the wasm sits next to sql.js in node_modules). sql.js
 * is an optional dependency, installed by default, that only the demo needs: an error says how to
 * install it when it is missing.
 */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (!sqlJs) {
    sqlJs = (async () => {
      const requireHere = createRequire(import.meta.url);
      let wasm: string;
      try {
        wasm = requireHere.resolve('sql.js/dist/sql-wasm.wasm');
      } catch (error) {
        throw new Error(
          'the demo\'s SQLite database needs the optional "sql.js" package (npm i -E sql.js@1.16.0)',
          { cause: error },
        );
      }
      const { default: initSqlJs } = await import('sql.js');
      return initSqlJs({ locateFile: () => wasm });
    })();
    sqlJs.catch(() => {
      sqlJs = null;
    });
  }
  return sqlJs;
}

const SCHEMA = `
CREATE TABLE products (
  product_id     INTEGER PRIMARY KEY,
  sku            TEXT NOT NULL UNIQUE,
  name           TEXT NOT NULL,
  category       TEXT NOT NULL,
  brand          TEXT NOT NULL,
  unit           TEXT NOT NULL,
  unit_price_jpy INTEGER NOT NULL CHECK (unit_price_jpy >= 0),
  cost_jpy       INTEGER NOT NULL,
  supplier       TEXT NOT NULL
);
CREATE TABLE stock (
  product_id    INTEGER NOT NULL REFERENCES products(product_id),
  warehouse     TEXT NOT NULL,
  on_hand       INTEGER NOT NULL CHECK (on_hand >= 0),
  reserved      INTEGER NOT NULL DEFAULT 0,
  reorder_point INTEGER NOT NULL,
  reorder_qty   INTEGER NOT NULL,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (product_id, warehouse)
) WITHOUT ROWID;
CREATE INDEX stock_warehouse_idx ON stock (warehouse, on_hand);
CREATE VIEW low_stock AS
  SELECT p.sku, p.name, s.warehouse, s.on_hand - s.reserved AS available, s.reorder_point
  FROM stock s JOIN products p USING (product_id)
  WHERE s.on_hand - s.reserved < s.reorder_point;
`;

/** Builds the inventory database and returns the file's bytes. */
export async function buildInventoryDb(
  products: readonly Product[],
  stock: readonly StockRow[],
): Promise<Buffer> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  try {
    db.run('PRAGMA page_size = 4096');
    db.run('PRAGMA user_version = 7');
    db.run(SCHEMA);
    db.run('BEGIN');
    const insertProduct = db.prepare('INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const p of products)
      insertProduct.run([p.id, p.sku, p.name, p.category, p.brand, p.unit, p.price, p.cost, p.supplier]);
    insertProduct.free();
    const insertStock = db.prepare('INSERT INTO stock VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const s of stock) {
      insertStock.run([
        s.productId,
        s.warehouse,
        s.onHand,
        s.reserved,
        s.reorderPoint,
        s.reorderQty,
        s.updatedAt.toISOString().replace('.000Z', 'Z'),
      ]);
    }
    insertStock.free();
    db.run('COMMIT');
    return Buffer.from(db.export());
  } finally {
    db.close();
  }
}
