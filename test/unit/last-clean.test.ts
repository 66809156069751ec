import { describe, expect, it } from 'vitest';
import { lastCleanReport, type DrillFacts, type SnapshotFacts } from '../../agent/verdicts/last-clean.js';
import type { Verdict } from '../../agent/model/verdict.js';
import { lastCleanExitCode } from '../../agent/cli/last-clean.js';

function snapshot(day: number, verdict: Verdict, extra: Partial<SnapshotFacts> = {}): SnapshotFacts {
  return {
    id: `s-${day}`,
    time: `2025-10-${String(day).padStart(2, '0')}T02:00:00Z`,
    verdict,
    complete: verdict !== 'unverified',
    findings: [],
    findingCounts: {},
    ...extra,
  };
}

describe('last clean snapshot', () => {
  it('names the newest clean snapshot and why each newer one was rejected, worst finding first', () => {
    const hit = snapshot(5, 'compromised', {
      findingCounts: { encrypted: 40, 'ransom-note': 1, 'extension-change': 12 },
      findings: [
        { kind: 'extension-change', path: 'a.pdf.lock', severity: 'warning', detail: 'renamed from a.pdf' },
        {
          kind: 'encrypted',
          path: 'a.pdf.lock',
          severity: 'critical',
          detail: 'expected pdf, found random bytes',
        },
        { kind: 'ransom-note', path: 'HOW_TO_DECRYPT.txt', severity: 'critical', detail: 'ransom note' },
      ],
    });
    const report = lastCleanReport([snapshot(3, 'clean'), snapshot(4, 'clean'), hit], []);
    expect(report.lastClean).toEqual({ id: 's-4', time: '2025-10-04T02:00:00Z' });
    expect(report.rejected).toHaveLength(1);
    expect(report.rejected[0]!.reasons.map((reason) => [reason.kind, reason.count])).toEqual([
      ['ransom-note', 1],
      ['encrypted', 40],
      ['extension-change', 12],
    ]);
    expect(report.rejected[0]!.reasons[1]!.examples).toEqual([
      { path: 'a.pdf.lock', detail: 'expected pdf, found random bytes' },
    ]);
  });

  it('says there is no clean snapshot at all, and rejects every snapshot, newest first', () => {
    const report = lastCleanReport([snapshot(1, 'compromised'), snapshot(2, 'suspicious')], []);
    expect(report.lastClean).toBeNull();
    expect(report.lastRestorable).toBeNull();
    expect(report.rejected.map((s) => s.id)).toEqual(['s-2', 's-1']);
  });

  it('skips a newest snapshot that could not be read, saying so', () => {
    const report = lastCleanReport([snapshot(1, 'clean'), snapshot(2, 'unverified')], []);
    expect(report.lastClean?.id).toBe('s-1');
    expect(report.rejected[0]).toMatchObject({
      id: 's-2',
      verdict: 'unverified',
      reasons: [{ kind: 'read-error' }],
    });
  });

  it('keeps a newer clean snapshot when an older one drifted after it was taken, and lists the older one', () => {
    const report = lastCleanReport(
      [
        snapshot(1, 'clean'),
        snapshot(2, 'compromised', { findingCounts: { 'drift-modified': 2 } }),
        snapshot(3, 'clean'),
      ],
      [],
    );
    expect(report.lastClean?.id).toBe('s-3');
    expect(report.rejected).toEqual([]);
    expect(report.olderNotClean).toEqual([
      { id: 's-2', time: '2025-10-02T02:00:00Z', verdict: 'compromised' },
    ]);
  });

  it('names the newest clean snapshot whose latest drill passed as the last restorable one', () => {
    const drills: DrillFacts[] = [
      { snapshot: 's-2', outcome: 'passed', finishedAt: '2025-10-06T03:00:00Z' },
      { snapshot: 's-3', outcome: 'passed', finishedAt: '2025-10-06T04:00:00Z' },
      { snapshot: 's-3', outcome: 'failed', finishedAt: '2025-10-07T04:00:00Z' },
      { snapshot: 's-4', outcome: 'aborted', finishedAt: '2025-10-07T05:00:00Z' },
    ];
    const report = lastCleanReport(
      [snapshot(2, 'clean'), snapshot(3, 'clean'), snapshot(4, 'clean')],
      drills,
    );
    expect(report.lastClean?.id).toBe('s-4');
    expect(report.lastRestorable).toEqual({
      id: 's-2',
      time: '2025-10-02T02:00:00Z',
      drilledAt: '2025-10-06T03:00:00Z',
    });
  });

  it('recommends the last restorable snapshot; a failed drill demotes a clean one; exit 0 only when the newest is clean and restorable', () => {
    const snapshots = [snapshot(2, 'clean'), snapshot(3, 'clean'), snapshot(4, 'clean')];
    const passed = (id: string, day: number): DrillFacts => ({
      id: `d-${id}-${day}`,
      snapshot: id,
      outcome: 'passed',
      finishedAt: `2025-10-${String(day).padStart(2, '0')}T05:00:00Z`,
    });
    const failed = (id: string, day: number): DrillFacts => ({
      ...passed(id, day),
      outcome: 'failed',
      failures: [{ verifier: 'postgres', path: 'db/orders.dump', detail: 'pg_restore failed' }],
    });

    const allPassed = lastCleanReport(snapshots, [passed('s-4', 5)]);
    expect(allPassed.recommendation).toMatchObject({
      id: 's-4',
      standing: 'restorable',
      drill: { id: 'd-s-4-5', outcome: 'passed' },
    });
    expect(allPassed.newest).toMatchObject({ id: 's-4', cleanAndRestorable: true });
    expect(lastCleanExitCode(allPassed)).toBe(0);

    const broken = lastCleanReport(snapshots, [passed('s-2', 4), passed('s-4', 5), failed('s-4', 6)]);
    expect(broken.lastClean?.id).toBe('s-4');
    expect(broken.lastRestorable?.id).toBe('s-2');
    expect(broken.recommendation).toMatchObject({
      id: 's-2',
      standing: 'restorable',
      reason: expect.stringMatching(/2 newer clean snapshots are not drilled or failed a drill/),
    });
    expect(broken.demoted).toEqual([
      {
        id: 's-4',
        time: '2025-10-04T02:00:00Z',
        drill: { id: 'd-s-4-6', finishedAt: '2025-10-06T05:00:00Z' },
        failures: [{ verifier: 'postgres', path: 'db/orders.dump', detail: 'pg_restore failed' }],
      },
    ]);
    expect(broken.newest).toMatchObject({
      id: 's-4',
      verdict: 'clean',
      standing: 'drill-failed',
      cleanAndRestorable: false,
    });
    expect(lastCleanExitCode(broken)).toBe(3);

    const undrilled = lastCleanReport(snapshots, [failed('s-4', 6)]);
    expect(undrilled.recommendation).toMatchObject({
      id: 's-3',
      standing: 'not-drilled',
      drill: null,
      reason: expect.stringMatching(/^NOT DRILLED/),
    });
    expect(lastCleanExitCode(undrilled)).toBe(3);

    const allFailed = lastCleanReport([snapshot(4, 'clean')], [failed('s-4', 6)]);
    expect(allFailed.recommendation).toMatchObject({
      id: 's-4',
      standing: 'drill-failed',
      reason: expect.stringMatching(/^DRILL FAILED/),
    });

    const hit = lastCleanReport([...snapshots, snapshot(5, 'compromised')], [passed('s-4', 5)]);
    expect(hit.newest).toMatchObject({ id: 's-5', verdict: 'compromised', cleanAndRestorable: false });
    expect(lastCleanExitCode(hit)).toBe(3);
    expect(lastCleanReport([snapshot(1, 'compromised')], []).recommendation).toBeNull();
  });
});
