import { describe, expect, it } from 'vitest';
import type { SetPolicy } from '../../agent/config/resolve-policy.js';
import type { SnapshotState } from '../../agent/model/snapshot-state.js';
import type { SamplePlan } from '../../agent/scan/sample-plan.js';
import { emptyFaults } from '../../agent/scan/scan-snapshot.js';
import { samplingSummary, snapshotReport } from '../../agent/scan/scan-set.js';

const GiB = 1024 ** 3;
/** samplingSummary reads only the set's sample policy. */
const sampled = { sample: { windowSeconds: 30 * 86_400, dailyBytes: GiB } } as Pick<
  SetPolicy,
  'sample'
> as SetPolicy;

const plan = (feasible: boolean): SamplePlan => ({
  read: [{ id: 'a', reason: 'sampled: oldest verification' }],
  bytes: 5 * GiB,
  neededPerDay: 2.4 * GiB,
  feasible,
  overdue: 1,
});

describe('the sampling account of a set scan', () => {
  it('reports the plan and, only when the budget cannot keep the window, says what it needs', () => {
    const kept = samplingSummary(sampled, plan(true), 4);
    expect(kept).toEqual({
      sampling: {
        candidates: 4,
        sampled: 1,
        bytes: 5 * GiB,
        neededPerDay: Math.round(2.4 * GiB),
        feasible: true,
        overdue: 1,
      },
      note: null,
    });
    const short = samplingSummary(sampled, plan(false), 4);
    expect(short.sampling.feasible).toBe(false);
    expect(short.note).toBe(
      'sampling cannot keep every byte within 30d: the unchanged snapshots need 2.40 GiB/day (plus room for the largest one), the budget is 1.00 GiB/day',
    );
  });
});

describe('a snapshot in the scan report', () => {
  const state: SnapshotState = {
    id: 'orders-1',
    time: '2025-01-01T00:00:00.000Z',
    verdict: 'clean',
    complete: true,
    entries: 3,
    bytes: 30,
    findings: [],
    findingCounts: {},
    lastScan: '2025-01-02T00:00:00.000Z',
  };

  it('carries the store faults only for a deep read that met some, as a copy', () => {
    const faults = { ...emptyFaults(), transient: 2, resumed: 1, examples: ['resumed (transient): reset'] };
    const deep = snapshotReport(
      { state, deep: true, deepReason: 'no baseline yet', findingsOmitted: 0 },
      faults,
    );
    expect(deep).toMatchObject({ id: 'orders-1', deep: true, reason: 'no baseline yet', faults });
    faults.examples.push('later');
    expect(deep.faults!.examples).toEqual(['resumed (transient): reset']);
    const cheap = snapshotReport({ state, deep: false, deepReason: null, findingsOmitted: 0 }, faults);
    expect(cheap).not.toHaveProperty('faults');
    expect(cheap).not.toHaveProperty('reason');
    const untroubled = snapshotReport(
      { state, deep: true, deepReason: 'x', findingsOmitted: 0 },
      emptyFaults(),
    );
    expect(untroubled).not.toHaveProperty('faults');
  });
});
