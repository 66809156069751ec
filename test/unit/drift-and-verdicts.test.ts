import { describe, expect, it } from 'vitest';
import { entryDrift, objectDrift } from '../../agent/integrity/drift.js';
import { parseSumsFile } from '../../agent/integrity/sums-file.js';
import { deepReadReason, expectsDeepRead } from '../../agent/scan/deep-read-decision.js';
import type { SetIndex, SnapshotState } from '../../agent/model/snapshot-state.js';
import { lastCleanSnapshot } from '../../agent/verdicts/last-clean.js';
import { snapshotVerdict } from '../../agent/verdicts/snapshot-verdict.js';

const file = (size: number, digest: string) => ({
  path: 'db/orders.sql',
  type: 'file' as const,
  size,
  digest,
});

describe('entry drift', () => {
  it('is silent for identical entries', () => {
    expect(entryDrift(file(10, 'aa'), file(10, 'aa'))).toBeNull();
  });
  it('calls a shorter entry with a different digest truncated', () => {
    expect(entryDrift(file(10, 'aa'), file(4, 'bb'))?.kind).toBe('drift-truncated');
  });
  it('calls same-size different content modified', () => {
    expect(entryDrift(file(10, 'aa'), file(10, 'bb'))).toMatchObject({
      kind: 'drift-modified',
      severity: 'critical',
    });
  });
  it('catches a file replaced by a symlink and a retargeted link', () => {
    expect(
      entryDrift(file(10, 'aa'), {
        path: 'db/orders.sql',
        type: 'symlink',
        size: 0,
        linkTarget: '/etc/passwd',
      })?.detail,
    ).toBe('was a file, now a symlink');
    expect(
      entryDrift(
        { path: 'l', type: 'symlink', size: 0, linkTarget: 'a' },
        { path: 'l', type: 'symlink', size: 0, linkTarget: 'b' },
      )?.kind,
    ).toBe('drift-modified');
  });
});

describe('object drift', () => {
  const base = { key: 'o.tar.gz', size: 100, mtime: '2025-01-01T00:00:00.000Z', etag: 'e1', versionId: 'v1' };
  it('names a changed ETag and VersionId', () => {
    expect(objectDrift(base, { ...base, etag: 'e2', versionId: 'v2' })?.detail).toContain(
      'ETag e1 → e2, VersionId v1 → v2',
    );
  });
  it('does not call a modification time alone drift', () => {
    expect(objectDrift(base, { ...base, mtime: '2025-02-01T00:00:00.000Z' })).toBeNull();
  });
});

describe('deep-read decision (cheap pass)', () => {
  const now = new Date('2025-01-10T00:00:00Z');
  const previous: SnapshotState = {
    id: 's',
    time: now.toISOString(),
    verdict: 'clean',
    complete: true,
    entries: 1,
    bytes: 1,
    findings: [],
    findingCounts: {},
    object: { key: 'o', size: 1, mtime: '2025-01-01T00:00:00.000Z', etag: 'e' },
    lastScan: now.toISOString(),
    lastDeepScan: '2025-01-09T00:00:00.000Z',
  };
  const facts = { hasBaseline: true, previous, object: previous.object!, rehashSeconds: 7 * 86_400, now };
  it('skips the read when nothing changed and the last read is recent', () => {
    expect(deepReadReason(facts)).toBeNull();
  });
  it('reads when there is no baseline, when metadata changed, when the read is old or the policy says always', () => {
    expect(deepReadReason({ ...facts, hasBaseline: false })).toBe('no baseline yet');
    expect(
      deepReadReason({ ...facts, object: { ...previous.object!, mtime: '2025-01-05T00:00:00.000Z' } }),
    ).toMatch(/object changed \(modified/);
    expect(deepReadReason({ ...facts, rehashSeconds: 3600 })).toMatch(/last full read 24h ago/);
    expect(deepReadReason({ ...facts, rehashSeconds: 0 })).toBe('policy re-hashes on every scan');
    expect(deepReadReason({ ...facts, previous: { ...previous, complete: false } })).toBe(
      'last read was incomplete',
    );
  });
});

describe('whether a set scan will read in full (the analysis workers boot during discovery)', () => {
  const index = (ids: string[]): Pick<SetIndex, 'snapshots'> => ({
    snapshots: Object.fromEntries(ids.map((id) => [id, { id } as SnapshotState])),
  });
  it('expects a deep read of a set with nothing recorded, or whose policy re-hashes on every scan', () => {
    expect(expectsDeepRead({ rehashSeconds: 86_400 }, index([]))).toBe(true);
    expect(expectsDeepRead({ rehashSeconds: 0 }, index(['a']))).toBe(true);
  });
  it('does not for a recorded set re-hashed by age or by sampling: its cheap pass may suffice', () => {
    expect(expectsDeepRead({ rehashSeconds: 86_400 }, index(['a']))).toBe(false);
    expect(
      expectsDeepRead({ rehashSeconds: 0, sample: { windowSeconds: 86_400, dailyBytes: 1 } }, index(['a'])),
    ).toBe(false);
  });
});

describe('verdicts', () => {
  it('drift → compromised, even when the read was incomplete', () => {
    expect(snapshotVerdict({ findingCounts: { 'drift-missing': 1, 'read-error': 1 }, complete: false })).toBe(
      'compromised',
    );
  });
  it('anything not read → unverified, never clean', () => {
    expect(snapshotVerdict({ findingCounts: {}, complete: false })).toBe('unverified');
    expect(snapshotVerdict({ findingCounts: { 'read-error': 1 }, complete: true })).toBe('unverified');
  });
  it('unsafe entries alone → suspicious; nothing → clean', () => {
    expect(snapshotVerdict({ findingCounts: { 'unsafe-entry': 3 }, complete: true })).toBe('suspicious');
    expect(snapshotVerdict({ findingCounts: {}, complete: true })).toBe('clean');
  });
  it('last clean is the newest clean snapshot', () => {
    const s = (id: string, time: string, verdict: 'clean' | 'compromised') => ({ id, time, verdict });
    expect(
      lastCleanSnapshot([
        s('a', '2025-01-01T00:00:00Z', 'clean'),
        s('c', '2025-01-03T00:00:00Z', 'compromised'),
        s('b', '2025-01-02T00:00:00Z', 'clean'),
      ])?.id,
    ).toBe('b');
    expect(lastCleanSnapshot([s('c', '2025-01-03T00:00:00Z', 'compromised')])).toBeNull();
  });
});

describe('checksum lists', () => {
  it('reads GNU text and binary lines and BSD lines', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    const c = 'c'.repeat(64);
    expect([
      ...parseSumsFile(`${a}  ./db/orders.sql\n${b} *images/x.png\n# comment\nSHA256 (notes.txt) = ${c}\n`),
    ]).toEqual([
      ['db/orders.sql', a],
      ['images/x.png', 'b'.repeat(64)],
      ['notes.txt', c],
    ]);
  });
});
