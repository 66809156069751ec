import { appendFile, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../../agent/ledger/ledger-record.js';
import { openLedger } from '../../agent/ledger/ledger-store.js';
import { ledgerIndex } from '../../agent/ledger/ledger-index.js';

/** A signed ledger of `count` records: snapshot scans of two sets, a drill every 10th record. */
async function ledger(count: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vouch-ledger-index-'));
  const store = await openLedger(dir);
  for (let n = 1; n <= count; n++) {
    const set = n % 2 ? 'orders' : 'invoices';
    if (n % 10 === 0)
      await store.append('drill', { id: `drill-${n}`, set, snapshot: `${set}-${n % 7}`, outcome: 'passed' });
    else
      await store.append('snapshot-scan', {
        set,
        snapshot: `${set}-${n % 7}`,
        deep: false,
        verdict: 'clean',
      });
  }
  await store.close();
  return dir;
}

const segment = (dir: string, n = 1) => path.join(dir, 'ledger', `${String(n).padStart(8, '0')}.ndjson`);
const seqs = (records: { seq: number }[]) => records.map((record) => record.seq);

describe('ledger index', () => {
  it('counts, filters and pages records newest first, reading only the page', async () => {
    const dir = await ledger(120);
    const index = ledgerIndex(dir);
    await index.refresh();
    expect(index.size()).toBe(120);
    expect(index.sets()).toEqual(['invoices', 'orders']);
    expect(index.kinds()).toEqual(['drill', 'snapshot-scan']);
    expect(index.count({})).toBe(120);
    expect(index.count({ set: 'orders' })).toBe(60);
    expect(index.count({ kind: 'drill' })).toBe(12);
    expect(index.count({ set: 'orders', kind: 'drill' })).toBe(0); // drills are every 10th record: all of even n
    expect(index.count({ set: 'nobody' })).toBe(0);
    expect(seqs(await index.page({}, 0, 5))).toEqual([120, 119, 118, 117, 116]);
    expect(seqs(await index.page({}, 115, 50))).toEqual([5, 4, 3, 2, 1]);
    expect(seqs(await index.page({ kind: 'drill' }, 10, 50))).toEqual([20, 10]);
    const [first] = await index.page({ set: 'invoices', kind: 'drill' }, 0, 1);
    expect(first!.record).toMatchObject({ seq: 120, type: 'drill', data: { id: 'drill-120' } });
    expect(JSON.parse(first!.raw)).toEqual(first!.record);
    expect(first!.segment).toBe('00000001.ndjson');
    // Where a record is listed: records newer than it under the filter.
    expect(index.newerThan(100, {})).toBe(20);
    expect(index.newerThan(100, { kind: 'drill' })).toBe(2);
    expect(index.newerThan(99, { kind: 'drill' })).toBeNull();
    expect(seqs(await index.all({ set: 'orders', snapshot: 'orders-1' }))).toEqual([
      1, 15, 29, 43, 57, 71, 85, 99, 113,
    ]);
    expect((await index.at(0))!.seq).toBe(1);
    expect(await index.at(120)).toBeNull();
  });

  it('follows appends incrementally and ignores a torn last line until it is complete', async () => {
    const dir = await ledger(30);
    const index = ledgerIndex(dir);
    await index.refresh();
    const store = await openLedger(dir);
    await store.append('scan-run', { sets: [] });
    await store.close();
    await index.refresh();
    expect(index.size()).toBe(31);
    expect(seqs(await index.page({ kind: 'scan-run' }, 0, 10))).toEqual([31]);
    const torn = '{"v":1,"seq":32,"time":"2026-01-01T00:00:00.000Z","type":"scan-run"';
    await appendFile(segment(dir), torn);
    await index.refresh();
    expect(index.size()).toBe(31);
    await appendFile(segment(dir), ',"prev":"x","data":{"sets":[]},"hash":"y"}\n');
    await index.refresh();
    expect(index.size()).toBe(32);
    expect((await index.page({}, 0, 1))[0]!.record).toMatchObject({ seq: 32, type: 'scan-run' });
  });

  it('rebuilds after a record is edited in place, showing the ledger as it is now stored', async () => {
    const dir = await ledger(40);
    const index = ledgerIndex(dir);
    await index.refresh();
    const lines = (await readFile(segment(dir), 'utf8')).split('\n');
    lines[4] = lines[4]!.replace('"verdict":"clean"', '"verdict":"compromised, and then some"');
    await writeFile(segment(dir), lines.join('\n'));
    await index.refresh();
    const [edited] = await index.page({}, 35, 1);
    expect(edited!.seq).toBe(5);
    expect((edited!.record as LedgerRecord<{ verdict: string }>).data.verdict).toBe(
      'compromised, and then some',
    );
    // Every record still reads back whole after the shift.
    const all = await index.all({});
    expect(all.map((stored) => stored.record?.seq)).toEqual(Array.from({ length: 40 }, (_, n) => n + 1));
    // A line that is not JSON is listed as malformed, not dropped.
    await appendFile(segment(dir), 'garbage\n');
    await index.refresh();
    expect(index.count({ kind: 'malformed' })).toBe(1);
    expect((await index.page({}, 0, 1))[0]).toMatchObject({ record: null, raw: 'garbage' });
  });

  it('reads records across segments in order', async () => {
    const dir = await ledger(20);
    const lines = (await readFile(segment(dir), 'utf8')).trimEnd().split('\n');
    await writeFile(segment(dir, 1), `${lines.slice(0, 12).join('\n')}\n`);
    await writeFile(segment(dir, 2), `${lines.slice(12).join('\n')}\n`);
    const index = ledgerIndex(dir);
    await index.refresh();
    expect(seqs(await index.page({}, 0, 100))).toEqual(Array.from({ length: 20 }, (_, n) => 20 - n));
    expect((await index.page({}, 0, 1))[0]!.segment).toBe('00000002.ndjson');
    // A segment replaced by another file: rebuilt from scratch.
    await rename(segment(dir, 2), path.join(dir, 'ledger', 'moved.txt'));
    await index.refresh();
    expect(index.size()).toBe(12);
  });

  it('indexes a junk line over the record limit as malformed, without keeping it, and the records after it', async () => {
    const dir = await ledger(4);
    const lines = (await readFile(segment(dir), 'utf8')).split('\n').filter(Boolean);
    await writeFile(segment(dir), `${lines.slice(0, 2).join('\n')}\n`);
    await appendFile(segment(dir), Buffer.alloc(65 * 2 ** 20, 0x41));
    await appendFile(segment(dir), `\n${lines.slice(2).join('\n')}\n`);
    const index = ledgerIndex(dir);
    await index.refresh();
    expect(index.size()).toBe(5);
    expect(index.kinds()).toContain('malformed');
    expect(seqs((await index.page({}, 0, 2)).filter((record) => !Number.isNaN(record.seq)))).toEqual([4, 3]);
  });
});
