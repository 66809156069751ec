/**
 * `ledgerFilesFingerprint` (ledger/ledger-store.ts) is what the daemon's evidence status caches a
 * verification against: it must change when a record is appended or a segment is edited, stay the
 * same when nothing in the segments changed, and ignore files in `ledger/` that are not segments.
 */
import { mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ledgerFilesFingerprint, openLedger } from '../../agent/ledger/ledger-store.js';

const tempState = () => mkdtemp(path.join(tmpdir(), 'vouch-fingerprint-'));

describe('ledger files fingerprint', () => {
  it('is empty for a state directory without a ledger', async () => {
    expect(await ledgerFilesFingerprint(await tempState())).toBe('');
  });

  it('changes with every append and with an edit that keeps the size, and only then', async () => {
    const dir = await tempState();
    const ledger = await openLedger(dir);
    await ledger.append('snapshot-scan', { set: 'orders', snapshot: 'orders-1', verdict: 'clean' });
    const first = await ledgerFilesFingerprint(dir);
    expect(first).toMatch(/^00000001\.ndjson:\d+:[\d.]+$/);
    expect(await ledgerFilesFingerprint(dir)).toBe(first);

    await ledger.append('snapshot-scan', { set: 'orders', snapshot: 'orders-2', verdict: 'clean' });
    await ledger.close();
    const second = await ledgerFilesFingerprint(dir);
    expect(second).not.toBe(first);

    // Same size, new modification time: an in-place edit still invalidates the cache.
    const segment = path.join(dir, 'ledger', '00000001.ndjson');
    await utimes(segment, new Date(2001, 0, 1), new Date(2001, 0, 1));
    expect(await ledgerFilesFingerprint(dir)).not.toBe(second);
  });

  it('ignores files in ledger/ that are not segments (the head, locks, stray files)', async () => {
    const dir = await tempState();
    const ledger = await openLedger(dir);
    await ledger.append('snapshot-scan', { set: 'orders', snapshot: 'orders-1', verdict: 'clean' });
    await ledger.close();
    const before = await ledgerFilesFingerprint(dir);
    await writeFile(path.join(dir, 'ledger', 'notes.ndjson'), 'not a segment\n');
    await writeFile(path.join(dir, 'ledger', 'head.json'), '{}');
    expect(await ledgerFilesFingerprint(dir)).toBe(before);
  });
});
