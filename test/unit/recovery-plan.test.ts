import { describe, expect, it } from 'vitest';
import {
  drillDemotion,
  lastCleanReport,
  latestDrills,
  type DrillFacts,
} from '../../agent/verdicts/last-clean.js';
import {
  nextVersion,
  planRecovery,
  snapshotPlan,
  type PlanSnapshot,
} from '../../agent/recover/recovery-plan.js';
import type { Finding } from '../../agent/model/findings.js';
import type { Verdict } from '../../agent/model/verdict.js';

const time = (day: number) => `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;
function snapshot(
  day: number,
  verdict: Verdict,
  files: Record<string, string>,
  findings: Finding[] = [],
  extra: Partial<PlanSnapshot> = {},
): PlanSnapshot {
  return {
    id: `s${day}`,
    time: time(day),
    verdict,
    complete: true,
    findings,
    unlisted: 0,
    baseline: new Map(Object.entries(files).map(([path, digest]) => [path, { size: digest.length, digest }])),
    ...extra,
  };
}
const encrypted = (path: string): Finding => ({
  kind: 'encrypted',
  path,
  severity: 'critical',
  detail: 'became encrypted',
});

describe('recovery plan (pure)', () => {
  it('takes each path from its newest intact version, says why newer ones were rejected, and the loss window', () => {
    const plan = planRecovery('orders', [
      snapshot(1, 'clean', { 'a.pdf': 'a1', 'b.sql': 'b1' }),
      snapshot(2, 'clean', { 'a.pdf': 'a2', 'b.sql': 'b2' }),
      snapshot(3, 'compromised', { 'a.pdf': 'x3', 'b.sql': 'b3', 'new.pdf': 'x3n' }, [
        encrypted('a.pdf'),
        encrypted('new.pdf'),
      ]),
    ]);
    expect(plan.files.map((file) => [file.path, file.snapshot, file.digest])).toEqual([
      ['a.pdf', 's2', 'a2'],
      ['b.sql', 's3', 'b3'],
    ]);
    expect(plan.files[0]).toMatchObject({
      rejected: [{ snapshot: 's3', reason: 'encrypted: became encrypted' }],
      lossWindow: { from: time(2), to: time(3) },
    });
    expect(plan.files[1]!.lossWindow).toBeNull();
    expect(plan.lost).toEqual([
      {
        path: 'new.pdf',
        versions: [{ snapshot: 's3', time: time(3), reason: 'encrypted: became encrypted' }],
        lossWindow: { from: time(3), to: time(3) },
      },
    ]);
    expect(plan.counts).toMatchObject({ files: 2, fromNewest: 1, fromOlder: 1, lost: 1 });
  });

  it('counts accepted findings as intact', () => {
    const accepted: Finding = {
      ...encrypted('vault.kdbx'),
      accepted: { id: 7, by: 'alice', at: time(3), reason: 'encrypted by the app' },
    };
    const plan = planRecovery('orders', [
      snapshot(2, 'clean', { 'vault.kdbx': 'v2' }),
      snapshot(3, 'clean', { 'vault.kdbx': 'v3' }, [accepted]),
    ]);
    expect(plan.files).toMatchObject([{ path: 'vault.kdbx', snapshot: 's3' }]);
  });

  it('uses no version of a snapshot without a baseline, not read completely, or with unlisted findings', () => {
    const plan = planRecovery('orders', [
      snapshot(1, 'clean', { 'a.txt': 'a1' }),
      snapshot(2, 'unverified', { 'a.txt': 'a2' }, [], { complete: false }),
      snapshot(3, 'compromised', { 'a.txt': 'a3' }, [], { unlisted: 2400 }),
      snapshot(4, 'suspicious', {}, [], { baseline: null }),
    ]);
    expect(plan.files).toMatchObject([{ path: 'a.txt', snapshot: 's1' }]);
    expect(plan.files[0]!.rejected.map((rejection) => rejection.reason)).toEqual([
      '2400 findings beyond those the state lists: which files are hit is not known',
      'its last scan did not read it completely',
    ]);
    expect(plan.snapshots.filter((entry) => !entry.usable).map((entry) => entry.id)).toEqual([
      's4',
      's3',
      's2',
    ]);
  });

  it('leaves out ransom notes and renamed copies of recovered files; a renamed copy whose original is lost is lost', () => {
    const note: Finding = {
      kind: 'ransom-note',
      path: 'HOW_TO_DECRYPT.txt',
      severity: 'critical',
      detail: 'ransom note',
    };
    const renamed = (to: string, from: string): Finding[] => [
      { kind: 'extension-change', path: to, severity: 'warning', detail: `renamed from ${from}` },
      encrypted(to),
    ];
    const plan = planRecovery('orders', [
      snapshot(1, 'clean', { 'a.pdf': 'a1' }),
      snapshot(2, 'compromised', { 'a.pdf.lock': 'x', 'HOW_TO_DECRYPT.txt': 'n', 'b.pdf.lock': 'y' }, [
        note,
        ...renamed('a.pdf.lock', 'a.pdf'),
        ...renamed('b.pdf.lock', 'b.pdf'),
      ]),
    ]);
    expect(plan.files.map((file) => [file.path, file.snapshot, file.inNewest])).toEqual([
      ['a.pdf', 's1', false],
    ]);
    expect(plan.artifacts.map((artifact) => [artifact.path, artifact.kind])).toEqual([
      ['HOW_TO_DECRYPT.txt', 'ransom-note'],
      ['a.pdf.lock', 'renamed-copy'],
    ]);
    expect(plan.lost.map((file) => file.path)).toEqual(['b.pdf.lock']);
  });

  it('names the next older intact version for a file whose restore did not verify', () => {
    const input = [
      snapshot(1, 'clean', { 'a.txt': 'a1' }),
      snapshot(2, 'suspicious', { 'a.txt': 'a2' }, [encrypted('a.txt')]),
      snapshot(3, 'clean', { 'a.txt': 'a3' }),
    ];
    expect(nextVersion(input, 'a.txt', 's3')).toMatchObject({ snapshot: 's1', digest: 'a1' });
    expect(nextVersion(input, 'a.txt', 's1')).toBeNull();
  });

  it('--snapshot: one snapshot as it is, its compromised files flagged; unknown or unbaselined snapshots refused', () => {
    const input = [
      snapshot(3, 'compromised', { 'a.pdf': 'x', 'b.sql': 'b' }, [encrypted('a.pdf')]),
      snapshot(4, 'clean', {}, [], { baseline: null }),
    ];
    const plan = snapshotPlan('orders', input, 's3');
    expect(plan.files.map((file) => file.path)).toEqual(['a.pdf', 'b.sql']);
    expect(plan.flagged).toEqual([{ path: 'a.pdf', reason: 'encrypted: became encrypted' }]);
    expect(() => snapshotPlan('orders', input, 'nope')).toThrow(/has no snapshot nope/);
    expect(() => snapshotPlan('orders', input, 's4')).toThrow(/no baseline/);
  });

  it('takes no file from a snapshot whose latest drill failed (the snapshot last-clean demotes): the next intact version, the drill named', () => {
    const drills: DrillFacts[] = [
      { id: 'd-old', snapshot: 's6', outcome: 'passed', finishedAt: time(6) },
      {
        id: 'd-6',
        snapshot: 's6',
        outcome: 'failed',
        finishedAt: time(7),
        failures: [
          { verifier: 'sqlite', path: 'db/inventory.sqlite', detail: '50 rows, expected at least 100' },
        ],
      },
      { id: 'd-3', snapshot: 's3', outcome: 'passed', finishedAt: time(7) },
    ];
    const latest = latestDrills(drills);
    const input = [
      snapshot(3, 'clean', { 'db.sqlite': 'd3', 'gone.txt': 'g3' }),
      snapshot(6, 'clean', { 'db.sqlite': 'd6' }),
    ].map((entry) => ({ ...entry, demotedBy: drillDemotion(latest, entry.id)?.reason ?? null }));
    const reason =
      'its latest drill failed (drill d-6, 2026-11-07 02:00Z: sqlite db/inventory.sqlite: 50 rows, expected at least 100)';
    expect(input[1]!.demotedBy).toBe(reason);
    expect(input[0]!.demotedBy).toBeNull();
    const plan = planRecovery('tgz', input);
    expect(plan.files.map((file) => [file.path, file.snapshot])).toEqual([
      ['db.sqlite', 's3'],
      ['gone.txt', 's3'],
    ]);
    expect(plan.files[0]!.rejected).toEqual([{ snapshot: 's6', time: time(6), reason }]);
    expect(plan.snapshots.find((entry) => entry.id === 's6')).toMatchObject({ usable: false, note: reason });
    expect(
      nextVersion([...input, snapshot(8, 'clean', { 'db.sqlite': 'd8' })], 'db.sqlite', 's8'),
    ).toMatchObject({ snapshot: 's3' });
    // The same decision as last-clean's: s6 demoted, s3 recommended.
    const report = lastCleanReport(
      input.map((entry) => ({ ...entry, findingCounts: {}, findings: [] })),
      drills,
    );
    expect(report.demoted.map((entry) => entry.id)).toEqual(['s6']);
    expect(report.recommendation?.id).toBe('s3');
  });

  it('a file that became a symbolic link comes from its newest regular version, the link named; links only ever links and unsafe names are listed as not restored', () => {
    const unsafe: Finding = {
      kind: 'unsafe-entry',
      path: 'notes/\u001b[31mred.txt',
      severity: 'warning',
      detail: 'name has control characters',
    };
    const plan = planRecovery('docs', [
      snapshot(1, 'clean', { 'notes/night.txt': 'n1', 'doc/readme': 'r1' }),
      snapshot(2, 'clean', { 'doc/readme': 'r2' }, [], {
        links: new Map([
          ['notes/night.txt', '/etc/shadow'],
          ['bin/awk', '/etc/alternatives/awk'],
        ]),
      }),
      snapshot(3, 'suspicious', { 'doc/readme': 'r3' }, [unsafe], {
        links: new Map([
          ['notes/night.txt', '/etc/shadow'],
          ['bin/awk', '/etc/alternatives/awk'],
        ]),
      }),
    ]);
    expect(plan.files.map((file) => [file.path, file.snapshot])).toEqual([
      ['doc/readme', 's3'],
      ['notes/night.txt', 's1'],
    ]);
    expect(plan.files[1]!.rejected.map((rejection) => rejection.reason)).toEqual([
      'a symbolic link here (→ /etc/shadow): links are recorded, not created',
      'a symbolic link here (→ /etc/shadow): links are recorded, not created',
    ]);
    expect(plan.skipped).toEqual([
      {
        path: 'bin/awk',
        snapshot: 's3',
        kind: 'symlink',
        reason: 'symbolic link → /etc/alternatives/awk: recorded, not created (as drills)',
      },
      {
        path: 'notes/\u001b[31mred.txt',
        snapshot: 's3',
        kind: 'unsafe-name',
        reason: 'name has control characters',
      },
    ]);
    expect(plan.lost).toEqual([]);
    expect(plan.counts.skipped).toBe(2);
  });
});
