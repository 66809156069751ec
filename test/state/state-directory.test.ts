import { appendFile, mkdtemp, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createChainChecker, type LedgerRecord } from '../../agent/ledger/ledger-record.js';
import { StateLockedError } from '../../agent/errors.js';
import { openLedger, readLedger } from '../../agent/ledger/ledger-store.js';
import {
  createManifestWriter,
  listManifests,
  loadManifest,
  manifestPath,
  removeDeadManifestTemps,
} from '../../agent/state/manifest-store.js';
import { acquireStateLock } from '../../agent/state/state-lock.js';

const tempState = () => mkdtemp(path.join(tmpdir(), 'vouch-state-'));

async function allRecords(dir: string): Promise<LedgerRecord[]> {
  const records: LedgerRecord[] = [];
  for await (const record of readLedger(dir)) records.push(record!);
  return records;
}

function firstBreak(records: LedgerRecord[]) {
  const checker = createChainChecker();
  for (const [index, record] of records.entries()) {
    const problem = checker.check(record, index + 1);
    if (problem) return problem;
  }
  return null;
}

describe('ledger', () => {
  it('chains records across reopenings and verifies', async () => {
    const dir = await tempState();
    let ledger = await openLedger(dir);
    await ledger.append('scan-run', { n: 1 });
    await ledger.close();
    ledger = await openLedger(dir);
    await Promise.all([ledger.append('snapshot-scan', { n: 2 }), ledger.append('snapshot-scan', { n: 3 })]);
    await ledger.close();
    const records = await allRecords(dir);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(firstBreak(records)).toBeNull();
  });

  it('names the first edited, dropped, reordered or replayed record', async () => {
    const dir = await tempState();
    const ledger = await openLedger(dir);
    for (let n = 1; n <= 4; n++) await ledger.append('snapshot-scan', { n });
    await ledger.close();
    const records = await allRecords(dir);
    expect(firstBreak([records[0]!, { ...records[1]!, data: { n: 99 } }, ...records.slice(2)])).toMatchObject(
      { seq: 2, problem: 'edited' },
    );
    expect(firstBreak([records[0]!, records[2]!, records[3]!])).toMatchObject({
      seq: 3,
      problem: 'dropped-or-reordered',
    });
    expect(firstBreak([records[0]!, records[1]!, records[1]!])).toMatchObject({
      seq: 2,
      problem: 'replayed',
    });
  });

  it('cuts a torn last line left by a crash mid-append and keeps chaining', async () => {
    const dir = await tempState();
    let ledger = await openLedger(dir);
    await ledger.append('scan-run', { n: 1 });
    await ledger.close();
    const [segment] = await readdir(path.join(dir, 'ledger'));
    await appendFile(path.join(dir, 'ledger', segment!), '{"v":1,"seq":2,"time":"2025-');
    ledger = await openLedger(dir);
    await ledger.append('scan-run', { n: 2 });
    await ledger.close();
    const records = await allRecords(dir);
    expect(records.map((r) => r.seq)).toEqual([1, 2]);
    expect(firstBreak(records)).toBeNull();
  });
});

describe('state lock', () => {
  it('lets one writer in and names the holder to the next', async () => {
    const dir = await tempState();
    const lock = await acquireStateLock(dir);
    await expect(acquireStateLock(dir)).rejects.toThrow(StateLockedError);
    await expect(acquireStateLock(dir)).rejects.toThrow(new RegExp(`pid ${process.pid}`));
    await lock.release();
    const again = await acquireStateLock(dir);
    await again.release();
  });

  it('takes over a lock left by a process that died', async () => {
    const dir = await tempState();
    const { hostname } = await import('node:os');
    await writeFile(
      path.join(dir, 'lock'),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: '2025-01-01T00:00:00Z' }),
    );
    const lock = await acquireStateLock(dir);
    expect(JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('never leaves a lock file without its owner, nor its private owner file', async () => {
    const dir = await tempState();
    const lock = await acquireStateLock(dir);
    expect(JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8'))).toMatchObject({
      pid: process.pid,
      host: expect.any(String),
    });
    expect((await readdir(dir)).filter((name) => name.startsWith('lock.'))).toEqual([]);
    await lock.release();
  });

  it('takes over an empty lock file left by a writer killed while taking it, once it is old, and sweeps such leftovers', async () => {
    const dir = await tempState();
    const old = new Date(Date.now() - 120_000);
    await writeFile(path.join(dir, 'lock'), '');
    // Fresh, it may be a lock being written this instant: held.
    await expect(acquireStateLock(dir)).rejects.toThrow(StateLockedError);
    await utimes(path.join(dir, 'lock'), old, old);
    await writeFile(path.join(dir, 'lock.owner-deadbeef'), '{"pid":1}');
    await utimes(path.join(dir, 'lock.owner-deadbeef'), old, old);
    const lock = await acquireStateLock(dir);
    expect(JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
    expect((await readdir(dir)).filter((name) => name.startsWith('lock.'))).toEqual([]);
    await lock.release();
  });
});

describe('manifests', () => {
  const header = {
    format: 'vouch-manifest' as const,
    version: 1 as const,
    set: 'orders',
    snapshot: 'nested/orders-1',
    snapshotTime: '2025-01-01T00:00:00.000Z',
    layout: 'archive' as const,
    algorithm: 'sha256' as const,
    createdAt: '2025-01-01T00:00:00.000Z',
  };

  it('become visible only when committed, and read back entry for entry', async () => {
    const dir = await tempState();
    const writer = await createManifestWriter(dir, header);
    await writer.add({ path: 'a.txt', type: 'file', size: 3, digest: 'ab' });
    expect(await loadManifest(dir, 'orders', 'nested/orders-1')).toBeNull();
    const written = await writer.commit();
    expect(written.file).toBe(manifestPath(dir, 'orders', 'nested/orders-1'));
    const loaded = await loadManifest(dir, 'orders', 'nested/orders-1');
    expect(loaded!.header.snapshot).toBe('nested/orders-1');
    expect([...loaded!.entries.values()]).toEqual([{ path: 'a.txt', type: 'file', size: 3, digest: 'ab' }]);
    expect(loaded!.sha256).toBe(written.sha256);
  });

  it('leave nothing behind when aborted', async () => {
    const dir = await tempState();
    const writer = await createManifestWriter(dir, header);
    await writer.add({ path: 'a.txt', type: 'file', size: 3, digest: 'ab' });
    await writer.abort();
    expect(await readdir(path.join(dir, 'manifests', 'orders'))).toEqual([]);
  });

  it('are listed by snapshot id once committed, never while being written', async () => {
    const dir = await tempState();
    expect(await listManifests(dir, 'orders')).toEqual(new Set());
    const committed = await createManifestWriter(dir, header);
    await committed.commit();
    const open = await createManifestWriter(dir, { ...header, snapshot: 'orders-2' });
    await open.add({ path: 'a.txt', type: 'file', size: 3, digest: 'ab' });
    expect(await listManifests(dir, 'orders')).toEqual(new Set(['nested/orders-1']));
    await open.abort();
  });

  it("lose a dead writer's temp file to the sweep; a live writer's stays", async () => {
    const dir = await tempState();
    const live = await createManifestWriter(dir, header);
    await live.add({ path: 'a.txt', type: 'file', size: 3, digest: 'ab' });
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const folder = path.dirname(manifestPath(dir, 'orders', 'x'));
    const dead = `${path.basename(manifestPath(dir, 'orders', 'gone'))}.${deadPid}.tmp`;
    const otherLive = `${path.basename(manifestPath(dir, 'orders', 'parent'))}.${process.ppid}.tmp`;
    await writeFile(path.join(folder, dead), 'partial');
    await writeFile(path.join(folder, otherLive), 'partial');
    const before = await readdir(folder);
    expect(before).toContain(dead);
    await removeDeadManifestTemps(dir);
    expect((await readdir(folder)).sort()).toEqual(before.filter((name) => name !== dead).sort());
    await live.commit();
    expect(await listManifests(dir, 'orders')).toEqual(new Set(['nested/orders-1']));
  });
});
