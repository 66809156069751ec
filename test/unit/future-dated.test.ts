/**
 * A snapshot dated more than an hour ahead of the injected clock is not fresh: last-clean leaves it
 * out of every answer and names it, readiness never measures the RPO from it.
 */
import { describe, expect, it } from 'vitest';
import { lastCleanText, type LastCleanDocument } from '../../agent/cli/last-clean.js';
import { futureDated, isFutureDated } from '../../agent/verdicts/future-time.js';
import { lastCleanReport, type SnapshotFacts } from '../../agent/verdicts/last-clean.js';

const NOW = new Date('2026-12-06T12:00:00Z');
const clean = (id: string, time: string): SnapshotFacts => ({
  id,
  time,
  verdict: 'clean',
  complete: true,
  findings: [],
  findingCounts: {},
});

describe('future-dated snapshots', () => {
  it('more than an hour ahead of the clock is future-dated; within the tolerance is not', () => {
    expect(isFutureDated('2026-12-06T12:59:00Z', NOW)).toBe(false);
    expect(isFutureDated('2026-12-06T13:01:00Z', NOW)).toBe(true);
    expect(futureDated([clean('a', '2026-12-09T02:00:00Z')], NOW)).toEqual([
      { id: 'a', time: '2026-12-09T02:00:00Z', aheadSeconds: 223_200 },
    ]);
  });

  it('last-clean: a copy dated three days ahead is not the last clean snapshot, the newest is not clean and restorable, and it is named with its time', () => {
    const snapshots = [
      clean('web-20261203', '2026-12-03T02:00:00Z'),
      clean('web-20261209', '2026-12-09T02:00:00Z'),
    ];
    const drills = [
      { snapshot: 'web-20261209', outcome: 'passed' as const, finishedAt: '2026-12-06T11:00:00Z' },
      { snapshot: 'web-20261203', outcome: 'passed' as const, finishedAt: '2026-12-06T11:00:00Z' },
    ];
    const report = lastCleanReport(snapshots, drills, NOW);
    expect(report.lastClean?.id).toBe('web-20261203');
    expect(report.lastRestorable?.id).toBe('web-20261203');
    expect(report.recommendation?.id).toBe('web-20261203');
    expect(report.newest).toMatchObject({ id: 'web-20261209', cleanAndRestorable: false });
    const document: LastCleanDocument = {
      set: 'web',
      snapshots: 2,
      ...report,
      setFindings: [],
      openSetFindings: 0,
      lastScan: '2026-12-06T11:00:00Z',
    };
    const text = lastCleanText(document, NOW);
    expect(text).toContain(
      '  SUSPICIOUS:      web-20261209 is dated 2026-12-09 02:00Z, 2d 14h ahead of this clock: not taken yet, so not counted as fresh (a forged or mis-set name or time)',
    );
    expect(text).toContain('  newest:          web-20261209 is dated in the future (see SUSPICIOUS above)');
    expect(text.join('\n')).toContain('last clean:      web-20261203  (2026-12-03 02:00Z, 3d 10h ago)');
    // Without a clock (older callers) nothing changes.
    expect(lastCleanReport(snapshots, drills).lastClean?.id).toBe('web-20261209');
  });
});
