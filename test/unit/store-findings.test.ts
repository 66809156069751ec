/**
 * Findings about the store itself, decided purely: which objects beside the snapshots are
 * ransomware's leftovers (and which ordinary leftovers are not), when a snapshot that left the
 * store is a finding or a pruning, when a snapshot was replaced, and that held findings stay.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  appendedExtension,
  headsToRead,
  judgeForeignObjects,
  MAX_FOREIGN_HEADS,
} from '../../agent/scan/foreign-objects.js';
import { judgeRemoval, mergeSetFindings, replacementFinding } from '../../agent/scan/set-findings.js';
import type { SourceObject } from '../../agent/sources/backup-source.js';
import type { SnapshotState } from '../../agent/model/snapshot-state.js';
import type { Finding } from '../../agent/model/findings.js';

const object = (key: string, size = 1000): SourceObject => ({
  key,
  size,
  mtime: new Date('2026-01-02T00:00:00Z'),
  kind: 'file',
});
const NOTE = Buffer.from(
  'All your files have been encrypted! To decrypt your files pay 0.5 bitcoin to the wallet address below. Download Tor Browser and visit abcdefghijklmnop.onion. Do not rename the files.',
);

describe('foreign objects beside the snapshots', () => {
  it('flags a ransom note by its name and says what it says', () => {
    const [finding] = judgeForeignObjects(
      [object('HOW_TO_DECRYPT_FILES.txt', NOTE.length)],
      new Map([['HOW_TO_DECRYPT_FILES.txt', NOTE]]),
    );
    expect(finding).toMatchObject({
      kind: 'foreign-object',
      path: 'HOW_TO_DECRYPT_FILES.txt',
      severity: 'critical',
    });
    expect(finding!.detail).toMatch(/named like a ransom note and says so \(.*payment/);
  });

  it('flags a note under an ordinary name by what it says, and leaves an ordinary README alone', () => {
    const findings = judgeForeignObjects(
      [object('notice.txt'), object('README.txt')],
      new Map([
        ['notice.txt', NOTE],
        ['README.txt', Buffer.from('Backups are written nightly by the backup job. Restore with tar -xzf.')],
      ]),
    );
    expect(findings.map((finding) => finding.path)).toEqual(['notice.txt']);
    expect(findings[0]!.detail).toContain('reads like a ransom note');
  });

  it('flags a snapshot archive with an extension appended, and one new extension on many objects', () => {
    const others = [
      'orders-20251018.tar.gz.locked',
      'orders-20251020.tar.gz.locked',
      'inventory.db.locked',
    ].map((key) => object(key));
    const findings = judgeForeignObjects(others, new Map());
    expect(findings.map((finding) => finding.path)).toEqual([
      'orders-20251018.tar.gz.locked',
      'orders-20251020.tar.gz.locked',
      '*.locked',
    ]);
    expect(findings.at(-1)!.detail).toMatch(/^3 objects named \*\.locked/);
    expect(appendedExtension('orders-1.zip.enc')).toBe('enc');
    expect(appendedExtension('orders-1.tar.gz.sha256')).toBeNull(); // a checksum sidecar
    expect(appendedExtension('notes.txt')).toBeNull();
  });

  it('flags encrypted content under a name that does not claim it, and random bytes under an unexplained name', () => {
    const salted = Buffer.concat([Buffer.from('Salted__'), randomBytes(8), randomBytes(4096)]);
    const findings = judgeForeignObjects(
      [object('export.csv'), object('blob'), object('data.gpg')],
      new Map([
        ['export.csv', salted],
        ['blob', randomBytes(8192)],
        ['data.gpg', salted],
      ]),
    );
    expect(findings.map((finding) => [finding.path, finding.severity])).toEqual([
      ['blob', 'warning'],
      ['data.gpg', 'critical'],
      ['export.csv', 'critical'],
    ]);
    expect(findings.find((finding) => finding.path === 'export.csv')!.detail).toContain(
      'openssl-salted-encrypted',
    );
  });

  it("leaves ordinary leftovers alone: logs, another set's archives, checksum lists, rotated logs", () => {
    const others = [
      'backup.log',
      'other-set-20251017.tar.gz',
      'SHA256SUMS.old',
      'job.log.1',
      'job.log.2',
      'job.log.3',
      'report.pdf',
    ].map((key) => object(key));
    const gzip = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(4096)]);
    expect(judgeForeignObjects(others, new Map([['other-set-20251017.tar.gz', gzip]]))).toEqual([]);
  });

  it('reads the heads of ransom-note names first, then unexplained names, at most MAX_FOREIGN_HEADS', () => {
    const many = Array.from({ length: 40 }, (_, i) => object(`x${i}.weird`));
    const picked = headsToRead([...many, object('report.pdf'), object('HOW_TO_DECRYPT.txt')]);
    expect(picked).toHaveLength(MAX_FOREIGN_HEADS);
    expect(picked[0]!.key).toBe('HOW_TO_DECRYPT.txt');
    expect(picked.some((picked) => picked.key === 'report.pdf')).toBe(false);
  });
});

const state = (id: string, time: string, extra: Partial<SnapshotState> = {}): SnapshotState => ({
  id,
  time,
  verdict: 'clean',
  complete: true,
  entries: 3,
  bytes: 100,
  findings: [],
  findingCounts: {},
  lastScan: time,
  baseline: { sha256: 'a'.repeat(64), entries: 3, createdAt: time },
  object: { key: `${id}.tar.gz`, size: 100, mtime: time },
  ...extra,
});

describe('snapshots removed from or replaced in the store', () => {
  const now = new Date('2026-03-01T00:00:00Z');

  it('makes every removal a finding without a retention, and a removal past the retention a pruning', () => {
    const old = state('orders-20260101', '2026-01-01T00:00:00Z');
    const removal = judgeRemoval(old, undefined, now);
    expect(removal.expected).toBe(false);
    if (!removal.expected)
      expect(removal.finding).toMatchObject({
        kind: 'snapshot-removed',
        path: 'orders-20260101',
        severity: 'critical',
      });
    expect(judgeRemoval(old, 30 * 86_400, now)).toMatchObject({ expected: true });
    const young = judgeRemoval(state('orders-20260225', '2026-02-25T00:00:00Z'), 30 * 86_400, now);
    expect(young.expected).toBe(false);
    if (!young.expected)
      expect(young.finding.detail).toContain("younger than the set's retention of 30 days");
  });

  it('lifts a baselined archive rewritten under its name to snapshot-replaced, with the new bytes as its identity', () => {
    const changed: Finding = {
      kind: 'drift-object-changed',
      path: 'orders-1.tar.gz',
      severity: 'critical',
      detail: 'object rewritten after its baseline: size 100 → 120',
      contentId: 'sha256:' + 'b'.repeat(64),
    };
    const replaced = replacementFinding(
      state('orders-1', '2026-01-01T00:00:00Z', {
        findings: [changed],
        findingCounts: { 'drift-object-changed': 1 },
      }),
      'orders',
    );
    expect(replaced).toMatchObject({
      kind: 'snapshot-replaced',
      path: 'orders-1',
      contentId: changed.contentId,
    });
    expect(replaced!.detail).toContain('size 100 → 120');
    expect(replaced!.detail).toContain('no VersionId was recorded for the baseline');
    expect(replacementFinding(state('orders-2', '2026-01-01T00:00:00Z'), 'orders')).toBeNull();
  });

  it('names the baselined VersionId of a replaced archive and, when the store still holds it, the commands that read it back', () => {
    const changed: Finding = {
      kind: 'drift-object-changed',
      path: 'orders-1.tar.gz',
      severity: 'critical',
      detail: 'object rewritten after its baseline: VersionId v1 → v2',
    };
    const replaced = state('orders-1', '2026-01-01T00:00:00Z', {
      findings: [changed],
      findingCounts: { 'drift-object-changed': 1 },
      baseline: { sha256: 'a'.repeat(64), entries: 3, createdAt: '2026-01-02T00:00:00Z', versionId: 'v1' },
    });
    const kept = replacementFinding(replaced, 'orders', { kept: true })!;
    expect(kept.detail).toContain(
      'the baselined version v1 is still in the store: vouch recover orders --snapshot orders-1@v1 --to DIR restores it, vouch drill orders --snapshot orders-1@v1 drills it',
    );
    const gone = replacementFinding(replaced, 'orders', { kept: false, detail: 'NoSuchVersion' })!;
    expect(gone.detail).toContain('the baselined version v1 is no longer in the store (NoSuchVersion)');
    expect(gone.detail).not.toContain('vouch recover');
    expect(replacementFinding(replaced, 'orders', null)!.detail).toContain(
      'the baselined version is v1 (the store was not asked',
    );
  });

  it('keeps every held finding (accepted ones too) and adds only new ones', () => {
    const removed: Finding = {
      kind: 'snapshot-removed',
      path: 'a',
      severity: 'critical',
      detail: 'gone',
      accepted: { id: 7, by: 'ops', at: '2026-01-01T00:00:00Z', reason: 'pruned by hand' },
    };
    const replaced: Finding = {
      kind: 'snapshot-replaced',
      path: 'b',
      severity: 'critical',
      detail: 'new bytes',
      contentId: 'sha256:1',
    };
    const merged = mergeSetFindings(
      [removed, replaced],
      [
        { ...replaced },
        { ...replaced, contentId: 'sha256:2' },
        { kind: 'snapshot-removed', path: 'a', severity: 'critical', detail: 'gone again' },
      ],
    );
    expect(merged).toEqual([removed, replaced, { ...replaced, contentId: 'sha256:2' }]);
  });
});
