import { describe, expect, it } from 'vitest';
import type { DrillResult } from '../../agent/model/drill.js';
import { assessReadiness, type ReadinessInput } from '../../agent/verdicts/readiness.js';

const now = new Date('2026-03-10T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();

function drill(overrides: Partial<DrillResult> = {}): DrillResult {
  return {
    id: 'orders-1',
    set: 'orders',
    snapshot: 'orders-a',
    snapshotTime: hoursAgo(30),
    pick: 'last-clean',
    startedAt: hoursAgo(25),
    finishedAt: hoursAgo(24),
    outcome: 'passed',
    phases: { fetch: 600, extract: 600, verify: 300, app: 100 },
    durationSeconds: 1600,
    rtoTargetSeconds: 7200,
    withinRto: true,
    sample: { fraction: 1, entries: 10, bytes: 100 },
    projectedFullRestoreSeconds: null,
    failures: [],
    ...overrides,
  };
}

const ready: ReadinessInput = {
  now,
  rpoSeconds: 86_400,
  rtoSeconds: 7200,
  newestCleanSnapshotTime: hoursAgo(10),
  drillMaxAgeSeconds: 8 * 86_400,
  lastDrill: drill(),
  immutabilityRequired: true,
  immutability: { ok: true, auditedAt: hoursAgo(1) },
  evidenceChainOk: true,
};
const failed = (input: ReadinessInput) =>
  assessReadiness(input)
    .checks.filter((check) => check.status === 'fail')
    .map((check) => check.check);

describe('readiness (pure)', () => {
  it('is ready when every check passes', () => {
    expect(assessReadiness(ready)).toMatchObject({ ready: true });
    expect(failed(ready)).toEqual([]);
  });

  it('is not ready when the newest clean snapshot is older than the RPO, or there is none', () => {
    expect(failed({ ...ready, newestCleanSnapshotTime: hoursAgo(25) })).toEqual(['rpo']);
    expect(failed({ ...ready, newestCleanSnapshotTime: null })).toEqual(['rpo']);
    expect(
      assessReadiness({ ...ready, rpoSeconds: undefined, newestCleanSnapshotTime: hoursAgo(1000) }).ready,
    ).toBe(true);
  });

  it('measures the RPO from the last restorable snapshot when the set declares drills: a fresh clean snapshot that failed its drill does not keep it', () => {
    // The newest clean snapshot is 10 h old but failed its drill; `drill --search` then passed on one 91 h old.
    const searched = {
      ...ready,
      rpoSeconds: 36 * 3600,
      newestCleanSnapshotTime: hoursAgo(10),
      lastRestorableSnapshotTime: hoursAgo(91),
      lastDrill: drill({ finishedAt: hoursAgo(1) }),
    };
    const result = assessReadiness(searched);
    expect(result.ready).toBe(false);
    expect(result.checks.find((check) => check.check === 'rpo')).toEqual({
      check: 'rpo',
      status: 'fail',
      detail: 'last restorable snapshot (clean, its latest drill passed) is 91h old; RPO 36h',
    });
    expect(failed({ ...searched, lastRestorableSnapshotTime: null })).toEqual(['rpo']);
    expect(failed({ ...searched, lastRestorableSnapshotTime: hoursAgo(20) })).toEqual([]);
    // No drills declared: the newest clean snapshot keeps the RPO, drills say nothing about it.
    const undeclared = { ...searched, drillMaxAgeSeconds: null, drillsDeclared: false };
    expect(failed(undeclared)).toEqual([]);
  });

  it('requires a passed drill whenever the policy declares drills, even without a schedule or maxAge', () => {
    const unscheduled = { ...ready, drillMaxAgeSeconds: null };
    // Drills not declared: the drill and RTO checks do not apply.
    expect(assessReadiness({ ...unscheduled, lastDrill: drill({ outcome: 'failed' }) }).ready).toBe(true);
    const declared = { ...unscheduled, drillsDeclared: true };
    expect(failed({ ...declared, lastDrill: drill({ outcome: 'failed' }) })).toEqual(['drill', 'rto']);
    expect(failed({ ...declared, lastDrill: null })).toEqual(['drill', 'rto']);
    expect(failed({ ...declared, lastDrill: drill({ withinRto: false, durationSeconds: 9000 }) })).toEqual([
      'rto',
    ]);
    const passed = assessReadiness({ ...declared, lastDrill: drill({ finishedAt: hoursAgo(24 * 90) }) });
    expect(passed.ready).toBe(true);
    expect(passed.checks.find((check) => check.check === 'drill')!.detail).toMatch(
      /no drill\.maxAge or drill schedule bounds its age/,
    );
  });

  it('is not ready when the last drill failed, is overdue, or never ran', () => {
    expect(failed({ ...ready, lastDrill: drill({ outcome: 'failed' }) })).toEqual(['drill', 'rto']);
    expect(failed({ ...ready, lastDrill: drill({ finishedAt: hoursAgo(24 * 9) }) })).toEqual(['drill']);
    expect(failed({ ...ready, lastDrill: null })).toEqual(['drill', 'rto']);
  });

  it('is not ready when the restore took longer than the RTO, projected from a sample when sampled', () => {
    expect(failed({ ...ready, lastDrill: drill({ durationSeconds: 9000, withinRto: null }) })).toEqual([
      'rto',
    ]);
    expect(
      failed({
        ...ready,
        lastDrill: drill({ durationSeconds: 600, projectedFullRestoreSeconds: 8000, withinRto: null }),
      }),
    ).toEqual(['rto']);
    expect(failed({ ...ready, lastDrill: drill({ withinRto: false }) })).toEqual(['rto']);
  });

  it('is not ready when immutability does not hold or was never audited, or the evidence chain is broken', () => {
    expect(failed({ ...ready, immutability: { ok: false, auditedAt: hoursAgo(1) } })).toEqual([
      'immutability',
    ]);
    expect(failed({ ...ready, immutability: null })).toEqual(['immutability']);
    expect(failed({ ...ready, evidenceChainOk: false })).toEqual(['evidence']);
  });

  it('does not require what the policy does not ask for', () => {
    const result = assessReadiness({
      ...ready,
      drillMaxAgeSeconds: null,
      lastDrill: null,
      rtoSeconds: undefined,
      immutabilityRequired: false,
      immutability: null,
    });
    expect(result.ready).toBe(true);
    expect(
      result.checks.filter((check) => check.status === 'not-applicable').map((check) => check.check),
    ).toEqual(['drill', 'rto', 'immutability']);
  });

  it('is not ready while a finding about the store is open (removed or replaced snapshots, foreign objects); accepted ones (not passed in) do not count', () => {
    const open = [
      { kind: 'snapshot-removed' as const, path: 'orders-a' },
      { kind: 'snapshot-replaced' as const, path: 'orders-b' },
      { kind: 'foreign-object' as const, path: 'HOW_TO_DECRYPT.txt' },
    ];
    const hit = assessReadiness({ ...ready, openStoreFindings: open });
    expect(hit.ready).toBe(false);
    expect(failed({ ...ready, openStoreFindings: open })).toEqual(['store']);
    expect(hit.checks.find((check) => check.check === 'store')!.detail).toBe(
      '3 open findings about the store: 1 snapshot-removed (orders-a), 1 snapshot-replaced (orders-b), 1 foreign-object (HOW_TO_DECRYPT.txt); the backups themselves may have been attacked — review, then vouch accept',
    );
    expect(assessReadiness({ ...ready, openStoreFindings: [] })).toMatchObject({ ready: true });
    expect(
      assessReadiness({ ...ready, openStoreFindings: [{ kind: 'encrypted', path: 'a.csv' }] }).ready,
    ).toBe(true);
  });
});
