import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import initSqlJs from 'sql.js';
import tarStream from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DemoFile } from '../../agent/demo/demo-file.js';
import {
  DEMO_DAYS,
  demoSnapshotFiles,
  demoSnapshotName,
  packTarGz,
  RANSOM_EXTENSION,
  RANSOM_NOTE,
  ransomwareHit,
} from '../../agent/demo/estate.js';
import { crc32 } from '../../agent/demo/png.js';
import { now } from '../../agent/clock.js';

const start = new Date('2026-11-01T00:00:00Z');
const byPath = (files: readonly DemoFile[]) => new Map(files.map((file) => [file.path, file]));
const text = (files: readonly DemoFile[], path: string) => {
  const file = files.find((f) => f.path === path);
  if (!file) throw new Error(`missing ${path}`);
  return file.data.toString('utf8');
};

/** Rows of one COPY block of a pg_dump. */
function copyRows(dump: string, table: string): string[][] {
  const header = new RegExp(`^COPY public\\.${table} \\(([^)]*)\\) FROM stdin;$`, 'm').exec(dump);
  if (!header) throw new Error(`no COPY block for ${table}`);
  const body = dump.slice(header.index + header[0].length + 1);
  const end = body.indexOf('\n\\.\n');
  expect(end).toBeGreaterThan(0);
  const columns = (header[1] ?? '').split(', ').length;
  const rows = body
    .slice(0, end)
    .split('\n')
    .map((line) => line.split('\t'));
  for (const row of rows) expect(row).toHaveLength(columns);
  return rows;
}

/** CRC-32 from zlib where Node has it (≥ 20.15), else ours — which must then match the check value. */
const referenceCrc32: (data: Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (zlib as unknown as { crc32: (d: Uint8Array) => number }).crc32
    : crc32;

function pngChunks(png: Buffer): { type: string; data: Buffer; crc: number; computed: number }[] {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const chunks = [];
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    chunks.push({
      type,
      data: png.subarray(at + 8, at + 8 + length),
      crc: png.readUInt32BE(at + 8 + length),
      computed: referenceCrc32(png.subarray(at + 4, at + 8 + length)),
    });
    at += 12 + length;
  }
  expect(at).toBe(png.length);
  return chunks;
}

async function untar(tgz: Buffer): Promise<Map<string, { header: tarStream.Header; data: Buffer }>> {
  const extract = tarStream.extract();
  const entries = new Map<string, { header: tarStream.Header; data: Buffer }>();
  extract.end(zlib.gunzipSync(tgz));
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, { header: entry.header, data: Buffer.concat(chunks) });
  }
  return entries;
}

describe('demo estate', () => {
  let day0: DemoFile[];
  let day1: DemoFile[];
  let day13: DemoFile[];

  beforeAll(async () => {
    day0 = await demoSnapshotFiles(0, { start });
    day1 = await demoSnapshotFiles(1, { start });
    day13 = await demoSnapshotFiles(DEMO_DAYS - 1, { start });
  });

  it('names snapshots by backup time at 02:00Z, matching the policy pattern', () => {
    expect(demoSnapshotName(0, start)).toBe('orders-20261101T020000Z.tar.gz');
    expect(demoSnapshotName(13, start)).toBe('orders-20261114T020000Z.tar.gz');
    expect(demoSnapshotName(2, new Date('2026-11-01T17:45:00Z'))).toBe('orders-20261103T020000Z.tar.gz');
    expect(demoSnapshotName(5)).toMatch(/^orders-(?<time>\d{8}T\d{6}Z)\.tar\.gz$/);
    const today = now().toISOString().slice(0, 10).replace(/-/g, '');
    expect(demoSnapshotName(DEMO_DAYS - 1)).toBe(`orders-${today}T020000Z.tar.gz`);
    expect(() => demoSnapshotName(-1)).toThrow(RangeError);
  });

  it('is deterministic for a seed and day, and different for another seed', async () => {
    const again = await demoSnapshotFiles(1, { start });
    expect(again.map((f) => f.path)).toEqual(day1.map((f) => f.path));
    for (const [i, file] of again.entries()) {
      expect(file.data.equals(day1[i]?.data ?? Buffer.alloc(0)), file.path).toBe(true);
      expect(file.mtime.getTime()).toBe(day1[i]?.mtime.getTime());
    }
    const other = await demoSnapshotFiles(1, { start, seed: 42 });
    expect(text(other, 'db/orders.sql')).not.toBe(text(day1, 'db/orders.sql'));
  });

  it('has the expected layout, sizes and timestamps', () => {
    const paths = day13.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    for (const path of [
      'README.txt',
      'db/orders.sql',
      'db/inventory.sqlite',
      'exports/inventory.csv',
      'exports/orders-2026-10-31.csv',
      'exports/orders-2026-11-13.csv',
    ]) {
      expect(paths).toContain(path);
    }
    expect(paths.filter((p) => /^exports\/orders-\d{4}-\d{2}-\d{2}\.csv$/.test(p))).toHaveLength(DEMO_DAYS);
    expect(paths.filter((p) => /^invoices\/INV-\d{5}\.pdf$/.test(p)).length).toBeGreaterThanOrEqual(
      3 * DEMO_DAYS,
    );
    expect(paths.filter((p) => /^images\/product-\d{3}\.png$/.test(p)).length).toBeGreaterThanOrEqual(12);
    const bytes = (files: DemoFile[]) => files.reduce((sum, f) => sum + f.data.length, 0);
    expect(bytes(day0)).toBeGreaterThan(400_000);
    expect(bytes(day13)).toBeGreaterThan(1_000_000);
    expect(bytes(day13)).toBeLessThan(3_500_000);
    const backupAt = new Date('2026-11-14T02:00:00Z').getTime();
    for (const file of day13) expect(file.mtime.getTime(), file.path).toBeLessThanOrEqual(backupAt);
    expect(text(day13, 'README.txt')).toContain('orders-20261114T020000Z');
  });

  it('grows day by day while older invoices, images and exports stay byte-identical', () => {
    const next = byPath(day1);
    const shared = day0.filter((f) => /^(invoices|images|exports\/orders-)/.test(f.path));
    expect(shared.length).toBeGreaterThan(10);
    for (const file of shared) {
      const later = next.get(file.path);
      expect(later, file.path).toBeDefined();
      expect(later?.data.equals(file.data), file.path).toBe(true);
      expect(later?.mtime.getTime(), file.path).toBe(file.mtime.getTime());
    }
    expect(day1.filter((f) => f.path.startsWith('invoices/')).length).toBeGreaterThan(
      day0.filter((f) => f.path.startsWith('invoices/')).length,
    );
    expect(day1.filter((f) => f.path.startsWith('images/')).length).toBe(
      day0.filter((f) => f.path.startsWith('images/')).length + 1,
    );

    const orders0 = copyRows(text(day0, 'db/orders.sql'), 'orders');
    const orders1 = copyRows(text(day1, 'db/orders.sql'), 'orders');
    const orders13 = copyRows(text(day13, 'db/orders.sql'), 'orders');
    expect(orders0.length).toBeGreaterThan(300);
    expect(orders1.length).toBeGreaterThan(orders0.length);
    expect(orders13.length).toBeGreaterThan(orders1.length);
    // Every order of day 0 is still there, with the same id, customer, time and total.
    const ids1 = new Map(orders1.map((row) => [row[0], row]));
    for (const row of orders0) {
      const later = ids1.get(row[0]);
      expect(later?.slice(0, 4)).toEqual(row.slice(0, 4));
      expect(later?.[7]).toBe(row[7]);
    }
  });

  it('writes a pg_dump lookalike: header, SET preamble, tables, COPY blocks, constraints', () => {
    const dump = text(day13, 'db/orders.sql');
    expect(dump.startsWith('--\n-- PostgreSQL database dump\n--\n')).toBe(true);
    expect(dump).toMatch(/^-- Dumped from database version \d+\.\d+/m);
    expect(dump).toContain("SET client_encoding = 'UTF8';");
    expect(dump).toContain("SELECT pg_catalog.set_config('search_path', '', false);");
    for (const table of ['customers', 'orders', 'order_lines', 'products'])
      expect(dump).toContain(`CREATE TABLE public.${table} (`);
    const lines = copyRows(dump, 'order_lines');
    const orders = copyRows(dump, 'orders');
    const products = copyRows(dump, 'products');
    const customers = copyRows(dump, 'customers');
    expect(products.length).toBeGreaterThanOrEqual(150);
    expect(customers.length).toBeGreaterThanOrEqual(100);
    // Referential integrity and totals (subtotal + 10 % tax rounded down).
    const orderIds = new Set(orders.map((row) => row[0]));
    const subtotal = new Map<string, number>();
    for (const [orderId = '', , productId = '', quantity = '', price = ''] of lines) {
      expect(orderIds.has(orderId)).toBe(true);
      expect(Number(productId)).toBeLessThanOrEqual(products.length);
      subtotal.set(orderId, (subtotal.get(orderId) ?? 0) + Number(quantity) * Number(price));
    }
    for (const row of orders) {
      expect(Number(row[5])).toBe(subtotal.get(row[0] ?? ''));
      expect(Number(row[7])).toBe(Number(row[5]) + Math.floor(Number(row[5]) * 0.1));
      expect(row[2]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00$/);
    }
    expect(dump).toContain(
      `SELECT pg_catalog.setval('public.orders_order_id_seq', ${orders.at(-1)?.[0]}, true);`,
    );
    expect(dump).toContain(
      'ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(customer_id);',
    );
    expect(dump).toMatch(/-- PostgreSQL database dump complete\n--\n\n\\unrestrict \w+\n\n$/);
  });

  it('exports CSVs with a header and one row per order line', () => {
    const csv = text(day13, 'exports/orders-2026-11-13.csv').split('\r\n');
    expect(csv[0]).toBe(
      'order_id,ordered_at,customer_id,customer_name,channel,status,line_no,sku,product_name,quantity,unit_price_jpy,line_amount_jpy,order_total_jpy,invoice_no',
    );
    expect(csv.at(-1)).toBe('');
    expect(csv.length).toBeGreaterThan(10);
    for (const line of csv.slice(1, -1)) expect(line).toMatch(/^\d{6},2026-11-13T\d{2}:\d{2}:\d{2}Z,\d+,/);
    const inventory = text(day13, 'exports/inventory.csv').split('\r\n');
    expect(inventory[0]).toMatch(/^sku,product_name,category,warehouse,on_hand,reserved,available/);
    expect(inventory.length).toBeGreaterThan(300);
  });

  it('makes PNGs whose chunk CRCs and image data verify', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const images = day13.filter((f) => f.path.endsWith('.png'));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const chunks = pngChunks(image.data);
      for (const chunk of chunks) expect(chunk.crc, `${image.path} ${chunk.type}`).toBe(chunk.computed);
      expect(chunks[0]?.type).toBe('IHDR');
      expect(chunks.at(-1)?.type).toBe('IEND');
      const ihdr = chunks[0]?.data ?? Buffer.alloc(13);
      const [width, height] = [ihdr.readUInt32BE(0), ihdr.readUInt32BE(4)];
      const raw = zlib.inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
      expect(raw.length).toBe((width * 3 + 1) * height);
      for (let y = 0; y < height; y++) expect(raw[y * (width * 3 + 1)]).toBeLessThanOrEqual(4);
      // A picture, not noise: it compresses well.
      expect(image.data.length).toBeLessThan(raw.length / 3);
    }
  });

  it('makes PDFs whose xref offsets, stream lengths and startxref are exact', () => {
    const invoices = day13.filter((f) => f.path.endsWith('.pdf'));
    expect(invoices.length).toBeGreaterThan(0);
    for (const invoice of invoices) {
      const pdf = invoice.data;
      const latin = pdf.toString('latin1');
      expect(latin.startsWith('%PDF-1.4\n')).toBe(true);
      expect(latin.endsWith('%%EOF\n')).toBe(true);
      const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(latin)?.[1]);
      expect(latin.slice(startxref, startxref + 4)).toBe('xref');
      const table = /^xref\n0 (\d+)\n/.exec(latin.slice(startxref));
      const count = Number(table?.[1]);
      const entriesAt = startxref + (table?.[0].length ?? 0);
      for (let i = 0; i < count; i++) {
        const entry = latin.slice(entriesAt + i * 20, entriesAt + (i + 1) * 20);
        expect(entry).toMatch(i === 0 ? /^0000000000 65535 f\r\n$/ : /^\d{10} 00000 n\r\n$/);
        if (i > 0) expect(latin.startsWith(`${i} 0 obj\n`, Number(entry.slice(0, 10)))).toBe(true);
      }
      const stream = /<< \/Length (\d+) \/Filter \/FlateDecode >>\nstream\n/.exec(latin);
      const length = Number(stream?.[1]);
      const streamAt = (stream?.index ?? 0) + (stream?.[0].length ?? 0);
      expect(latin.slice(streamAt + length, streamAt + length + 10)).toBe('\nendstream');
      const content = zlib.inflateSync(pdf.subarray(streamAt, streamAt + length)).toString('latin1');
      const number = invoice.path.slice('invoices/'.length, -'.pdf'.length);
      expect(content).toContain(`(${number}) Tj`);
      expect(content).toContain('(Kanda Office Supply Co., Ltd.) Tj');
    }
  });

  it('makes PDFs that pdftotext reads', () => {
    const invoice = day13.find((f) => f.path.endsWith('.pdf'));
    const out = execFileSync('pdftotext', ['-', '-'], { input: invoice?.data }).toString();
    expect(out).toContain('INVOICE');
    expect(out).toContain(invoice?.path.slice('invoices/'.length, -'.pdf'.length));
  });

  it('makes a real SQLite database that sql.js can reopen', async () => {
    const file = day13.find((f) => f.path === 'db/inventory.sqlite');
    expect(file?.data.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    const SQL = await initSqlJs({
      locateFile: () => createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm'),
    });
    const db = new SQL.Database(file?.data);
    try {
      const value = (sql: string) => db.exec(sql)[0]?.values[0]?.[0];
      expect(value('PRAGMA integrity_check')).toBe('ok');
      const products = Number(value('SELECT count(*) FROM products'));
      expect(products).toBeGreaterThanOrEqual(150);
      expect(Number(value('SELECT count(*) FROM stock'))).toBe(products * 2);
      expect(Number(value('SELECT count(*) FROM stock WHERE on_hand < 0'))).toBe(0);
    } finally {
      db.close();
    }
  });

  it('packs a .tar.gz that lists back with every path, mode and mtime', async () => {
    const tgz = await packTarGz(day13);
    expect(tgz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const entries = await untar(tgz);
    for (const file of day13) {
      const entry = entries.get(file.path);
      expect(entry, file.path).toBeDefined();
      expect(entry?.header.type).toBe('file');
      expect(entry?.header.mode).toBe(0o644);
      expect(entry?.header.mtime.getTime()).toBe(file.mtime.getTime());
      expect(entry?.data.equals(file.data), file.path).toBe(true);
    }
    for (const dir of ['db/', 'exports/', 'invoices/', 'images/']) {
      expect(entries.get(dir)?.header.type, dir).toBe('directory');
      expect(entries.get(dir)?.header.mode).toBe(0o755);
    }
    expect(entries.size).toBe(day13.length + 4);
    expect((await packTarGz(day13)).equals(tgz)).toBe(true);
  });

  it('simulates a ransomware hit: note, renamed fully encrypted files, intermittent encryption in place', () => {
    const original = day13.map((f) => ({ ...f, data: Buffer.from(f.data) }));
    const hit = ransomwareHit(day13, 7);
    // The input is untouched and the hit is deterministic.
    for (const [i, file] of day13.entries())
      expect(file.data.equals(original[i]?.data ?? Buffer.alloc(0))).toBe(true);
    expect(ransomwareHit(day13, 7).map((f) => f.data.toString('hex'))).toEqual(
      hit.map((f) => f.data.toString('hex')),
    );

    const note = hit.find((f) => f.path === RANSOM_NOTE);
    expect(note?.data.toString()).toMatch(/http:\/\/[a-z2-7]{56}\.onion\//);
    expect(note?.data.toString()).toContain(RANSOM_EXTENSION);

    const before = byPath(day13);
    const locked = hit.filter((f) => f.path.endsWith(RANSOM_EXTENSION));
    expect(locked.length).toBeGreaterThan(50);
    for (const file of locked) {
      const source = before.get(file.path.slice(0, -RANSOM_EXTENSION.length));
      expect(source, file.path).toBeDefined();
      expect(before.has(file.path)).toBe(false);
      const prefix = file.data.subarray(0, source?.data.length);
      expect(prefix.equals(source?.data ?? Buffer.alloc(0))).toBe(false);
      // No surviving magic bytes.
      expect(file.data.subarray(0, 4).equals(source?.data.subarray(0, 4) ?? Buffer.alloc(0))).toBe(false);
    }
    expect(hit.some((f) => /^(invoices|images)\/[^/]*\.(pdf|png)$/.test(f.path))).toBe(false);

    const dump = hit.find((f) => f.path === 'db/orders.sql');
    const plain = before.get('db/orders.sql')?.data ?? Buffer.alloc(0);
    expect(dump?.data.length).toBe(plain.length);
    expect(dump?.data.equals(plain)).toBe(false);
    // 16 bytes on, 16 off: every "off" slot is intact, almost every "on" slot changed.
    let changedSlots = 0;
    let slots = 0;
    for (let at = 0; at + 32 <= plain.length; at += 32) {
      expect(dump?.data.subarray(at + 16, at + 32).equals(plain.subarray(at + 16, at + 32))).toBe(true);
      slots++;
      if (!dump?.data.subarray(at, at + 16).equals(plain.subarray(at, at + 16))) changedSlots++;
    }
    expect(changedSlots).toBe(slots);
    const sqlite = hit.find((f) => f.path === 'db/inventory.sqlite');
    expect(sqlite?.data.subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\0');
    expect(
      hit
        .find((f) => f.path === 'README.txt')
        ?.data.equals(before.get('README.txt')?.data ?? Buffer.alloc(0)),
    ).toBe(true);
    // The hit lands after the newest legitimate write but before the 02:00Z backup captures it.
    const newest = Math.max(...day13.map((f) => f.mtime.getTime()));
    for (const file of hit.filter((f) => !before.get(f.path)?.data.equals(f.data))) {
      expect(file.mtime.getTime()).toBeGreaterThan(newest);
      expect(file.mtime.getTime()).toBeLessThanOrEqual(Date.parse('2026-11-14T02:00:00Z'));
    }
  });
});
