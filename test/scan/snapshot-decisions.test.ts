/**
 * The decisions between a snapshot scan's phases are pure (scan/snapshot-decisions.ts,
 * scan/entry-judge.ts): which digests a read computes, what its outcome says about the object,
 * the listing and the baseline, and what the state and ledger record keep. The phases that read
 * and write are pinned end to end by the scan tests; these pin the decisions without a store.
 */
import { describe, expect, it } from 'vitest';
import type { ArchiveEntry } from '../../agent/archives/entry-reader.js';
import type { Finding } from '../../agent/model/findings.js';
import type { SnapshotState } from '../../agent/model/snapshot-state.js';
import { manifestEntryOf, problemFinding } from '../../agent/scan/entry-judge.js';
import {
  algorithmChangeFinding,
  baselineHeader,
  carriedBaseline,
  currentObjectIdentity,
  deepScanRecord,
  deepScanState,
  digestPlan,
  faultsToRecord,
  objectChangedFinding,
  readComplete,
  scanListing,
  type DeepScanOutcome,
} from '../../agent/scan/snapshot-decisions.js';
import type { SourceObject } from '../../agent/sources/backup-source.js';
import type { ArchiveSnapshot, DirectorySnapshot } from '../../agent/sources/snapshot-discovery.js';

const NOW = new Date('2025-10-20T03:00:00Z');
const object = (extra: Partial<SourceObject> = {}): SourceObject => ({
  key: 'db-20251019.tar.gz',
  size: 1000,
  mtime: new Date('2025-10-19T01:00:00Z'),
  kind: 'file',
  ...extra,
});
const archive = (extra: Partial<ArchiveSnapshot> = {}): ArchiveSnapshot => ({
  id: 'db-20251019',
  time: new Date('2025-10-19T00:00:00Z'),
  timeSource: 'name',
  layout: 'archive',
  object: object(),
  format: 'tar.gz',
  sums: [],
  ...extra,
});
const directory: DirectorySnapshot = {
  id: '2025-10-19',
  time: new Date('2025-10-19T00:00:00Z'),
  timeSource: 'name',
  layout: 'directory',
  prefix: '2025-10-19/',
  listing: { objects: 3, bytes: 30, fingerprint: 'listed' },
  memberSample: [],
  sums: [],
};

describe('which digests a deep read computes', () => {
  it('compares in the baseline algorithm when the policy changed, and warns once', () => {
    const plan = digestPlan('blake3', 'sha256', []);
    expect(plan).toEqual({ algorithm: 'sha256', extraAlgorithms: [], objectAlgorithm: 'sha256' });
    expect(algorithmChangeFinding('s1', 'sha256', 'blake3')).toMatchObject({
      kind: 'read-error',
      path: 's1',
      severity: 'warning',
    });
    expect(algorithmChangeFinding('s1', 'sha256', 'sha256')).toBeNull();
    expect(algorithmChangeFinding('s1', undefined, 'blake3')).toBeNull();
  });

  it('adds each other algorithm of entry lists once, and digests the object in the first object list’s', () => {
    const plan = digestPlan('sha256', undefined, [
      { key: 'a/B3SUMS', algorithm: 'blake3', scope: 'entries' },
      { key: 'a/other/B3SUMS', algorithm: 'blake3', scope: 'entries' },
      { key: 'a/SHA256SUMS', algorithm: 'sha256', scope: 'entries' },
      { key: 'x.tar.b3', algorithm: 'blake3', scope: 'object' },
    ]);
    expect(plan).toEqual({ algorithm: 'sha256', extraAlgorithms: ['blake3'], objectAlgorithm: 'blake3' });
  });
});

describe('what a read’s outcome says', () => {
  it('is complete only when the reader finished and nothing failed to read', () => {
    expect(readComplete({ entries: 1, bytes: 1, complete: true }, {})).toBe(true);
    expect(readComplete({ entries: 1, bytes: 1, complete: true }, { 'read-error': 1 })).toBe(false);
    expect(readComplete({ entries: 1, bytes: 1, complete: false }, {})).toBe(false);
  });

  it('calls an object that changed under the read drift only when it has a baseline', () => {
    const changed = new Error('GetObject db.tar.gz: precondition failed (412)');
    expect(objectChangedFinding(archive(), changed, true)).toEqual({
      kind: 'drift-object-changed',
      path: 'db-20251019.tar.gz',
      severity: 'critical',
      detail:
        'object rewritten after its baseline: the store no longer holds the listed version (precondition failed (412))',
    });
    expect(objectChangedFinding(archive(), changed, false)).toBeNull();
    expect(objectChangedFinding(archive(), null, true)).toBeNull();
  });

  it('records the object digest only when every byte went through it (a zip only after a complete read)', () => {
    const whole = { served: {}, object: { bytes: 1000, digest: 'abc' } };
    expect(currentObjectIdentity(archive(), whole, false)?.digest).toBe('abc');
    expect(currentObjectIdentity(archive({ format: 'zip' }), whole, false)?.digest).toBeUndefined();
    expect(currentObjectIdentity(archive({ format: 'zip' }), whole, true)?.digest).toBe('abc');
    const partial = { served: {}, object: { bytes: 999, digest: 'abc' } };
    expect(currentObjectIdentity(archive(), partial, true)?.digest).toBeUndefined();
    const empty = archive({ object: object({ size: 0 }) });
    expect(
      currentObjectIdentity(empty, { served: {}, object: { bytes: 0, digest: 'e' } }, true),
    ).not.toHaveProperty('digest');
  });

  it('takes the ETag and VersionId the store served over the listed ones; a directory has no object', () => {
    const listed = archive({ object: object({ etag: '"old"', versionId: 'v1' }) });
    const seen = currentObjectIdentity(
      listed,
      { served: { etag: '"new"', versionId: 'v2' }, object: { bytes: 1000, digest: 'd' } },
      true,
    );
    expect(seen).toEqual({
      key: 'db-20251019.tar.gz',
      size: 1000,
      mtime: '2025-10-19T01:00:00.000Z',
      etag: '"new"',
      versionId: 'v2',
      digest: 'd',
    });
    expect(currentObjectIdentity(directory, { served: {}, object: null }, true)).toBeUndefined();
  });

  it('records the listing this read streamed when complete, else the one discovery listed', () => {
    const streamed = { objects: 4, bytes: 40, fingerprint: 'streamed' };
    expect(scanListing(directory, true, streamed)).toBe(streamed);
    expect(scanListing(directory, false, streamed)).toBe(directory.listing);
    expect(scanListing(archive(), true, null)).toBeUndefined();
  });
});

describe('the baseline a scan writes or carries', () => {
  it('names the version the store served when the listing named none', () => {
    const header = baselineHeader({ name: 'db', algorithm: 'sha256' }, archive(), { versionId: 'v9' }, NOW);
    expect(header).toMatchObject({
      format: 'vouch-manifest',
      version: 2,
      set: 'db',
      snapshot: 'db-20251019',
      layout: 'archive',
      createdAt: NOW.toISOString(),
      object: { key: 'db-20251019.tar.gz', versionId: 'v9' },
    });
    const listedVersion = archive({ object: object({ versionId: 'v1' }) });
    expect(
      baselineHeader({ name: 'db', algorithm: 'sha256' }, listedVersion, { versionId: 'v9' }, NOW).object
        ?.versionId,
    ).toBe('v1');
    expect(baselineHeader({ name: 'db', algorithm: 'sha256' }, directory, {}, NOW)).not.toHaveProperty(
      'object',
    );
  });

  it('fills in the VersionId of a baseline recorded before versions were, only while the bytes are the same', () => {
    const before = { sha256: 'h', entries: 2, createdAt: '2025-10-01T00:00:00.000Z' };
    const baselined = { key: 'k', size: 10, mtime: '2025-10-01T00:00:00.000Z' };
    const current = { ...baselined, versionId: 'v3' };
    expect(carriedBaseline(before, baselined, current, false)).toEqual({ ...before, versionId: 'v3' });
    expect(carriedBaseline(before, { ...baselined, versionId: 'v1' }, current, false)?.versionId).toBe('v1');
    expect(carriedBaseline(before, baselined, current, true)).toBe(before);
    expect(carriedBaseline(before, baselined, { ...current, size: 11 }, false)).toBe(before);
    const versioned = { ...before, versionId: 'v0' };
    expect(carriedBaseline(versioned, baselined, current, false)).toBe(versioned);
    expect(carriedBaseline(undefined, baselined, current, false)).toBeUndefined();
  });
});

describe('the state and ledger record a deep read leaves', () => {
  const findings: Finding[] = Array.from({ length: 120 }, (_, index) => ({
    kind: 'drift-modified',
    path: `f${index}`,
    severity: 'critical',
    detail: 'changed',
  }));
  const outcome = (extra: Partial<DeepScanOutcome> = {}): DeepScanOutcome => ({
    snapshot: archive(),
    reason: 'no baseline yet',
    verdict: 'compromised',
    complete: true,
    summary: { entries: 130, bytes: 5000, complete: true },
    findings: { kept: findings, counts: { 'drift-modified': 150 }, total: 150 },
    object: { key: 'db-20251019.tar.gz', size: 1000, mtime: '2025-10-19T01:00:00.000Z' },
    listing: undefined,
    detection: undefined,
    baseline: undefined,
    faults: undefined,
    now: NOW,
    previous: undefined,
    runId: 'run-1',
    ...extra,
  });
  const earlier: SnapshotState = {
    id: 'db-20251019',
    time: '2025-10-19T00:00:00.000Z',
    verdict: 'clean',
    complete: true,
    entries: 1,
    bytes: 1,
    findings: [],
    findingCounts: {},
    lastScan: '2025-10-18T00:00:00.000Z',
    lastDeepScan: '2025-10-18T00:00:00.000Z',
  };

  it('is verified now after a complete read, and keeps when it was last verified after an incomplete one', () => {
    expect(deepScanState(outcome()).lastVerified).toBe(NOW.toISOString());
    expect(deepScanState(outcome({ complete: false, previous: earlier })).lastVerified).toBe(
      '2025-10-18T00:00:00.000Z',
    );
    expect(deepScanState(outcome({ complete: false })).lastVerified).toBeUndefined();
  });

  it('lists the first 100 findings in the record and counts the rest as omitted', () => {
    const state = deepScanState(outcome());
    const record = deepScanRecord('db', outcome(), state);
    expect(record.findings).toHaveLength(100);
    expect(record.findingsOmitted).toBe(50);
    expect(record).toMatchObject({
      set: 'db',
      snapshot: 'db-20251019',
      deep: true,
      reason: 'no baseline yet',
    });
    expect(state).toMatchObject({ entries: 130, bytes: 5000, runId: 'run-1', verdict: 'compromised' });
  });

  it('records store faults only when one was retried or given up', () => {
    expect(faultsToRecord({ transient: 0, resumed: 2, gaveUp: 0, examples: [] })).toBeUndefined();
    const faults = { transient: 1, resumed: 0, gaveUp: 0, examples: ['503'] };
    const kept = faultsToRecord(faults);
    expect(kept).toEqual(faults);
    expect(kept?.examples).not.toBe(faults.examples);
  });
});

describe('what the judge records of an entry', () => {
  const entry: ArchiveEntry = {
    rawName: 'a/b.txt',
    path: 'a/b.txt',
    type: 'file',
    size: 10,
    mtime: new Date('2025-10-19T00:00:00Z'),
    etag: '"e"',
  };

  it('keeps a member’s mtime in a directory snapshot only, and the analysed size over the declared one', () => {
    expect(manifestEntryOf(entry, 'directory', { size: 12, digest: 'd' })).toEqual({
      path: 'a/b.txt',
      type: 'file',
      size: 12,
      digest: 'd',
      etag: '"e"',
      mtime: '2025-10-19T00:00:00.000Z',
    });
    expect(manifestEntryOf(entry, 'archive', { size: 10 })).toEqual({
      path: 'a/b.txt',
      type: 'file',
      size: 10,
      etag: '"e"',
    });
  });

  it('makes a reader’s read error critical and any other problem a warning', () => {
    expect(problemFinding({ kind: 'read-error', path: 'x', detail: 'truncated' }).severity).toBe('critical');
    expect(problemFinding({ kind: 'unsafe-entry', path: '../x', detail: 'escapes' }).severity).toBe(
      'warning',
    );
  });
});
