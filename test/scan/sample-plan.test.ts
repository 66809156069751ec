import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dayStart, PACE_SLACK, planSample, type SampleCandidate } from '../../agent/scan/sample-plan.js';
import { fuzzParameters } from '../helpers/fuzz.js';

const DAY = 86_400_000;
const GiB = 2 ** 30;

describe('sampled verification plan', () => {
  it('reads the oldest snapshots first, at the pace the window needs, and no more', () => {
    const now = 100 * DAY;
    const candidates: SampleCandidate[] = Array.from({ length: 30 }, (_, i) => ({
      id: `s${i}`,
      bytes: 10 * GiB,
      lastVerified: now - ((i + 1) * DAY) / 2,
    }));
    const plan = planSample({
      candidates,
      now,
      spentToday: 0,
      policy: { windowSeconds: 30 * 86_400, dailyBytes: 100 * GiB },
    });
    // 300 GiB over 30 days is 10 GiB a day; paced at 1.25× that means two 10 GiB snapshots today.
    expect(plan.neededPerDay).toBe(10 * GiB);
    expect(plan.feasible).toBe(true);
    expect(plan.read.map((r) => r.id)).toEqual(['s29', 's28']);
    expect(plan.read[0]!.reason).toMatch(/^sampled: last read 15d ago; every byte within 30d$/);
  });

  it('reads nothing more once the day’s budget is spent (new snapshots count too)', () => {
    const now = 100 * DAY;
    const candidates = [{ id: 'old', bytes: GiB, lastVerified: now - 10 * DAY }];
    const plan = planSample({
      candidates,
      now,
      spentToday: 5 * GiB,
      policy: { windowSeconds: 30 * 86_400, dailyBytes: 5 * GiB },
    });
    expect(plan.read).toEqual([]);
  });

  it('reads everything that would leave the window before the next day, beyond the pace', () => {
    const now = 100 * DAY;
    const candidates = Array.from({ length: 5 }, (_, i) => ({
      id: `due${i}`,
      bytes: GiB,
      lastVerified: now - 29.5 * DAY,
    }));
    const plan = planSample({
      candidates,
      now,
      spentToday: 0,
      policy: { windowSeconds: 30 * 86_400, dailyBytes: 10 * GiB },
    });
    expect(plan.read.map((r) => r.id)).toEqual(['due0', 'due1', 'due2', 'due3', 'due4']);
    expect(plan.read.every((r) => r.reason.endsWith('(due)'))).toBe(true);
  });

  it('says when the budget cannot cover the window, and reads a snapshot larger than a day’s budget alone', () => {
    const now = 100 * DAY;
    const candidates = [
      { id: 'huge', bytes: 50 * GiB, lastVerified: now - 40 * DAY },
      { id: 'small', bytes: GiB, lastVerified: now - 20 * DAY },
    ];
    const policy = { windowSeconds: 30 * 86_400, dailyBytes: 10 * GiB };
    const plan = planSample({ candidates, now, spentToday: 0, policy });
    expect(plan.feasible).toBe(false);
    expect(plan.overdue).toBe(1);
    expect(plan.read.map((r) => r.id)).toEqual(['huge']);
    expect(plan.read[0]!.reason).toContain('larger than the daily budget');
    expect(planSample({ candidates, now, spentToday: GiB, policy }).read).toEqual([]);
  });

  it('keeps every snapshot inside the window on a feasible budget, scanned at least daily, whatever the sizes and scan times (property)', () => {
    const { numRuns, seed } = fuzzParameters(200);
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 60 }),
        fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 1, maxLength: 80 }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (windowDays, fractions, fill, jitterSeed) => {
          const dailyBytes = 1000 * GiB;
          // The set fills `fill` of what the guarantee allows: window × (dailyBytes − largest) / PACE_SLACK.
          const sum = fractions.reduce((a, b) => a + b, 0);
          const largestShare = Math.max(...fractions) / sum;
          const total = (fill * windowDays * dailyBytes) / (PACE_SLACK + windowDays * largestShare);
          const sizes = fractions.map((f) => Math.max(1, Math.floor((f / sum) * total)));
          const items = sizes.map((bytes, i) => ({ id: `s${i}`, bytes, lastVerified: 0 }));
          const reads: { at: number; bytes: number }[] = [];
          let random = jitterSeed;
          // Scans at least once a day, at irregular times (18 to 24 hours apart).
          const interval = () =>
            DAY - ((random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 6 * 3_600_000;
          let now = 0;
          for (let scan = 1; scan <= windowDays * 3; scan++) {
            now += interval();
            for (const item of items) expect(now - item.lastVerified).toBeLessThanOrEqual(windowDays * DAY);
            const spentToday = reads.filter((r) => r.at >= dayStart(now)).reduce((s, r) => s + r.bytes, 0);
            const plan = planSample({
              candidates: items,
              now,
              spentToday,
              policy: { windowSeconds: windowDays * 86_400, dailyBytes },
            });
            expect(plan.feasible).toBe(true);
            expect(spentToday + plan.bytes).toBeLessThanOrEqual(dailyBytes);
            for (const { id } of plan.read) {
              const item = items.find((candidate) => candidate.id === id)!;
              item.lastVerified = now;
              reads.push({ at: now, bytes: item.bytes });
            }
          }
        },
      ),
      { numRuns, seed },
    );
  });
});
