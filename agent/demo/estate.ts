/**
 * The demo estate: 14 daily backups of the order-management system of "Kanda Office Supply", a
 * small office-supply retailer. Each snapshot is a realistic file tree — a pg_dump of the order
 * database, a SQLite inventory database, daily CSV exports, invoice PDFs and product photos —
 * that grows day by day while older files stay byte-identical, as real backups do.
 *
 * Everything is a pure function of (seed, start, day): no clock reads except for the default
 * start, no Math.random. Generated business data and immutable files are cached per estate.
 */
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import tarStream from 'tar-stream';
import type { Customer, DayData, Order, Product } from './kanda.js';
import {
  buildBaseCustomers,
  buildCatalog,
  COMPANY,
  computeStock,
  DAY_MS,
  generateDay,
  HISTORY_DAYS,
  orderStatus,
} from './kanda.js';
import { renderInvoicePdf } from './invoice.js';
import { renderPgDump } from './pg-dump.js';
import { Random } from './prng.js';
import { renderProductImage } from './product-image.js';
import { buildInventoryDb } from './sqlite.js';
import { now as clockNow } from '../clock.js';
import type { DemoFile } from './demo-file.js';

export { RANSOM_EXTENSION, RANSOM_NOTE, ransomwareHit } from './ransomware.js';

export interface DemoOptions {
  /** PRNG seed; the same seed, start and day always give the same files. */
  seed?: number;
  /** Date of the first backup (its UTC midnight is used); default: today's UTC midnight minus 13 days. */
  start?: Date;
}

/** How many daily snapshots the demo shows. */
export const DEMO_DAYS = 14;
export const DEMO_SEED = 0x6b616e64; // 'kand'
const BACKUP_HOUR_MS = 2 * 3_600_000;
const FIRST_IMAGES = 12;
const FIRST_ORDER_ID = 100_001;

/** Today's UTC midnight minus 13 days, so the newest of 14 daily backups is today's. */
export function defaultDemoStart(now = clockNow()): Date {
  return new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (DEMO_DAYS - 1) * DAY_MS,
  );
}

function normaliseStart(start: Date | undefined): Date {
  const base = start ?? defaultDemoStart();
  if (Number.isNaN(base.getTime())) throw new RangeError('demo start is not a valid date');
  return new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth(), base.getUTCDate()));
}

function checkDay(day: number): void {
  if (!Number.isInteger(day) || day < 0)
    throw new RangeError(`demo day must be a non-negative integer, got ${day}`);
}

/** When the backup of `day` was taken (02:00Z). */
export function demoBackupTime(day: number, start?: Date): Date {
  checkDay(day);
  return new Date(normaliseStart(start).getTime() + day * DAY_MS + BACKUP_HOUR_MS);
}

const compactTime = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** Snapshot object name for a day, e.g. `orders-20261108T020000Z.tar.gz`. */
export function demoSnapshotName(day: number, start?: Date): string {
  return `orders-${compactTime(demoBackupTime(day, start))}.tar.gz`;
}

interface Estate {
  seed: number;
  start: Date;
  products: Product[];
  productById: Map<number, Product>;
  baseCustomers: Customer[];
  /** Days -HISTORY_DAYS.. in order, generated on demand. */
  days: DayData[];
  customers: Customer[];
  imageOrder: Product[];
  /** Files that never change once written (invoices, images, daily exports). */
  immutable: Map<string, Buffer>;
}

const estates = new Map<string, Estate>();
const MAX_ESTATES = 4;

function estateFor(seed: number, start: Date): Estate {
  const key = `${seed}/${start.getTime()}`;
  let estate = estates.get(key);
  if (!estate) {
    const products = buildCatalog(seed);
    const baseCustomers = buildBaseCustomers(seed, start);
    estate = {
      seed,
      start,
      products,
      productById: new Map(products.map((p) => [p.id, p])),
      baseCustomers,
      days: [],
      customers: [...baseCustomers],
      imageOrder: new Random(seed, 'image-order').shuffle(products),
      immutable: new Map(),
    };
    if (estates.size >= MAX_ESTATES) estates.delete(estates.keys().next().value as string);
    estates.set(key, estate);
  }
  return estate;
}

/** Generates days up to `day`, in order (each day continues the order and invoice numbering). */
function ensureDays(estate: Estate, day: number): void {
  let next = estate.days.length - HISTORY_DAYS;
  while (next <= day) {
    const previous = estate.days[estate.days.length - 1];
    const lastOrder = previous?.orders[previous.orders.length - 1];
    const lastInvoice = [...estate.days]
      .reverse()
      .find((d) => d.invoices.length > 0)
      ?.invoices.at(-1);
    const data = generateDay(
      {
        seed: estate.seed,
        start: estate.start,
        products: estate.products,
        customers: estate.customers,
        nextOrderId: lastOrder ? lastOrder.id + 1 : FIRST_ORDER_ID,
        nextInvoiceNo: lastInvoice
          ? Number(lastInvoice.number.slice(4)) + 1
          : new Random(estate.seed, 'invoice-base').int(20_100, 20_900),
      },
      next,
    );
    estate.days.push(data);
    estate.customers.push(...data.newCustomers);
    next++;
  }
}

function immutableFile(estate: Estate, path: string, make: () => Buffer): Buffer {
  let data = estate.immutable.get(path);
  if (!data) {
    data = make();
    estate.immutable.set(path, data);
  }
  return Buffer.from(data);
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
const csvRow = (values: readonly (string | number | null)[]) => `${values.map(csvField).join(',')}\r\n`;
const isoSeconds = (date: Date) => date.toISOString().replace('.000Z', 'Z');
const isoDate = (date: Date) => date.toISOString().slice(0, 10);

function ordersCsv(estate: Estate, data: DayData, customers: readonly Customer[]): Buffer {
  let out = csvRow([
    'order_id',
    'ordered_at',
    'customer_id',
    'customer_name',
    'channel',
    'status',
    'line_no',
    'sku',
    'product_name',
    'quantity',
    'unit_price_jpy',
    'line_amount_jpy',
    'order_total_jpy',
    'invoice_no',
  ]);
  for (const order of data.orders) {
    const customer = customers[order.customerId - 1];
    for (const line of order.lines) {
      const product = estate.productById.get(line.productId);
      out += csvRow([
        order.id,
        isoSeconds(order.orderedAt),
        order.customerId,
        customer?.company ?? null,
        order.channel,
        orderStatus(order, data.day),
        line.lineNo,
        product?.sku ?? null,
        product?.name ?? null,
        line.quantity,
        line.unitPrice,
        line.quantity * line.unitPrice,
        order.total,
        order.invoiceNo,
      ]);
    }
  }
  return Buffer.from(out, 'utf8');
}

function readme(name: string, backupAt: Date, counts: Record<string, number>): string {
  const jst = new Date(backupAt.getTime() + 9 * 3_600_000).toISOString().slice(11, 16);
  return [
    `${COMPANY.name} - order management system backup`,
    '='.repeat(62),
    '',
    `Snapshot     ${name.replace(/\.tar\.gz$/, '')}`,
    `Taken at     ${isoSeconds(backupAt)} (${jst} JST)`,
    'Source host  oms-db01.kanda.internal (database kanda_oms), files from oms-app01:/srv/oms',
    'Backup job   nightly-orders: pg_dump 15.18 plain format + inventory export + file sync',
    'Retention    35 days in S3 with Object Lock (compliance mode), weekly copy to offline disk',
    '',
    'Contents',
    `  db/orders.sql            pg_dump of kanda_oms: ${counts.customers} customers, ${counts.orders} orders, ${counts.lines} order lines, ${counts.products} products`,
    `  db/inventory.sqlite      warehouse inventory (SQLite 3): ${counts.products} products, ${counts.stock} stock rows`,
    `  exports/orders-*.csv     daily order exports for accounting (${counts.exports} files)`,
    '  exports/inventory.csv    stock per product and warehouse at backup time',
    `  invoices/INV-*.pdf       invoices issued by the nightly billing run (${counts.invoices} files)`,
    `  images/product-*.png     product photos for the web shop (${counts.images} files)`,
    '',
    'Restore',
    '  createdb kanda_oms && psql -v ON_ERROR_STOP=1 -d kanda_oms -f db/orders.sql',
    "  sqlite3 db/inventory.sqlite 'PRAGMA integrity_check'",
    '',
    'Contact      IT operations, it-ops@kanda-office.example, +81 3-5209-0001',
    '',
  ].join('\n');
}

/** Files of the backup taken on `day` (0 = oldest); deterministic for a given seed and day. */
export async function demoSnapshotFiles(day: number, options: DemoOptions = {}): Promise<DemoFile[]> {
  checkDay(day);
  const seed = options.seed ?? DEMO_SEED;
  const start = normaliseStart(options.start);
  const estate = estateFor(seed, start);
  ensureDays(estate, day);

  const backupAt = demoBackupTime(day, start);
  const at = (ms: number) => new Date(backupAt.getTime() + ms);
  const upTo = estate.days.filter((d) => d.day <= day);
  const customers = [...estate.baseCustomers, ...upTo.flatMap((d) => d.newCustomers)];
  const orders: Order[] = upTo.flatMap((d) => d.orders);
  const orderById = new Map(orders.map((o) => [o.id, o]));
  const visibleDays = upTo.filter((d) => d.day >= 0);
  const files: DemoFile[] = [];

  const dump = renderPgDump({ seed, snapshotDay: day, customers, products: estate.products, orders });
  files.push({ path: 'db/orders.sql', data: Buffer.from(dump, 'utf8'), mtime: at(-(3 * 60 + 43) * 1000) });

  const stock = computeStock(seed, start, estate.products, upTo, day);
  files.push({
    path: 'db/inventory.sqlite',
    data: await buildInventoryDb(estate.products, stock),
    mtime: at(-(1 * 60 + 12) * 1000),
  });

  let inventory = csvRow([
    'sku',
    'product_name',
    'category',
    'warehouse',
    'on_hand',
    'reserved',
    'available',
    'reorder_point',
    'unit_price_jpy',
    'updated_at',
  ]);
  for (const row of stock) {
    const product = estate.productById.get(row.productId);
    inventory += csvRow([
      product?.sku ?? null,
      product?.name ?? null,
      product?.category ?? null,
      row.warehouse,
      row.onHand,
      row.reserved,
      row.onHand - row.reserved,
      row.reorderPoint,
      product?.price ?? null,
      isoSeconds(row.updatedAt),
    ]);
  }
  files.push({
    path: 'exports/inventory.csv',
    data: Buffer.from(inventory, 'utf8'),
    mtime: at(-100 * 60_000),
  });

  let invoiceCount = 0;
  for (const data of visibleDays) {
    // The nightly export job writes yesterday's orders at 00:20Z, before the 02:00Z backup.
    const exportAt = new Date(data.date.getTime() + DAY_MS + 20 * 60_000);
    const csvPath = `exports/orders-${isoDate(data.date)}.csv`;
    files.push({
      path: csvPath,
      data: immutableFile(estate, csvPath, () => ordersCsv(estate, data, customers)),
      mtime: exportAt,
    });
    for (const invoice of data.invoices) {
      const order = orderById.get(invoice.orderId);
      const customer = order ? customers[order.customerId - 1] : undefined;
      if (!order || !customer) throw new Error(`demo invoice ${invoice.number} has no order or customer`);
      const path = `invoices/${invoice.number}.pdf`;
      files.push({
        path,
        data: immutableFile(estate, path, () =>
          renderInvoicePdf(invoice, order, customer, estate.productById),
        ),
        mtime: new Date(invoice.issuedAt),
      });
      invoiceCount++;
    }
  }

  // Product photos: a first batch shot before the demo period, then one new photo each day.
  const imageCount = Math.min(estate.imageOrder.length, FIRST_IMAGES + day);
  for (let i = 0; i < imageCount; i++) {
    const product = estate.imageOrder[i] as Product;
    const mtime =
      i < FIRST_IMAGES
        ? new Date(start.getTime() - (FIRST_IMAGES + 8 - i) * DAY_MS + (5 * 3600 + i * 97) * 1000)
        : new Date(start.getTime() + (i - FIRST_IMAGES) * DAY_MS + (7 * 3600 + 15 * 60) * 1000);
    const path = `images/product-${String(product.id).padStart(3, '0')}.png`;
    files.push({ path, data: immutableFile(estate, path, () => renderProductImage(seed, product)), mtime });
  }

  const counts = {
    customers: customers.length,
    orders: orders.length,
    lines: orders.reduce((sum, o) => sum + o.lines.length, 0),
    products: estate.products.length,
    stock: stock.length,
    exports: visibleDays.length,
    invoices: invoiceCount,
    images: imageCount,
  };
  files.push({
    path: 'README.txt',
    data: Buffer.from(readme(demoSnapshotName(day, start), backupAt, counts), 'utf8'),
    mtime: at(-5 * 60_000),
  });

  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The parent directories of `path` ("a/b/c.txt" → ["a", "a/b"]). */
function parents(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** A .tar.gz of those files (ustar via tar-stream, gzip via zlib; 0644 files, 0755 directories). */
export async function packTarGz(files: DemoFile[]): Promise<Buffer> {
  const newestUnder = new Map<string, number>();
  for (const file of files) {
    for (const dir of parents(file.path))
      newestUnder.set(dir, Math.max(newestUnder.get(dir) ?? 0, file.mtime.getTime()));
  }
  const pack = tarStream.pack();
  const gzip = createGzip({ level: 6 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const finished = once(gzip, 'end');
  pack.on('error', (error) => gzip.destroy(error));
  pack.pipe(gzip);

  const entry = (header: Partial<tarStream.Header> & { name: string }, data?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const callback = (error?: Error | null) => (error ? reject(error) : resolve());
      if (data) pack.entry(header, data, callback);
      else pack.entry(header, callback);
    });
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root' };
  const written = new Set<string>();
  for (const file of files) {
    for (const dir of parents(file.path)) {
      if (written.has(dir)) continue;
      written.add(dir);
      await entry({
        name: `${dir}/`,
        type: 'directory',
        mode: 0o755,
        mtime: new Date(newestUnder.get(dir) ?? 0),
        ...owner,
      });
    }
    await entry(
      { name: file.path, type: 'file', size: file.data.length, mode: 0o644, mtime: file.mtime, ...owner },
      file.data,
    );
  }
  pack.finalize();
  await finished;
  return Buffer.concat(chunks);
}
