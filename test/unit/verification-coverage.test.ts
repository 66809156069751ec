import { describe, expect, it } from 'vitest';
import { coverageWindowSeconds, verificationCoverage } from '../../agent/verdicts/verification-coverage.js';

const now = new Date('2025-11-30T00:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

describe('verification coverage', () => {
  it('counts the bytes read within the window and the oldest verification', () => {
    const coverage = verificationCoverage(
      [
        { time: daysAgo(40), bytes: 100, lastVerified: daysAgo(35) },
        { time: daysAgo(20), bytes: 300, lastVerified: daysAgo(10) },
        { time: daysAgo(1), bytes: 600, lastVerified: daysAgo(1) },
      ],
      30 * 86_400,
      now,
    );
    expect(coverage).toEqual({
      bytes: 1000,
      verifiedInWindow: 900,
      ratio: 0.9,
      oldestVerifiedAgeSeconds: 35 * 86_400,
      oldestUnverifiedAgeSeconds: 0,
    });
  });

  it('ages a never-verified byte from its snapshot time', () => {
    const coverage = verificationCoverage(
      [
        { time: daysAgo(3), bytes: 50 },
        { time: daysAgo(1), bytes: 50, lastVerified: daysAgo(1) },
      ],
      86_400 * 7,
      now,
    );
    expect(coverage.oldestUnverifiedAgeSeconds).toBe(3 * 86_400);
    expect(coverage.ratio).toBe(0.5);
  });

  it('takes the window from sampling, then rehash, then the scan schedule, else none', () => {
    const gap = () => 3600;
    expect(coverageWindowSeconds({ sample: { windowSeconds: 99 }, rehashSeconds: 5 }, gap)).toBe(99);
    expect(coverageWindowSeconds({ rehashSeconds: 5 }, gap)).toBe(5);
    expect(
      coverageWindowSeconds({ rehashSeconds: 0, schedule: { scan: '0 * * * *', timezone: 'UTC' } }, gap),
    ).toBe(7200);
    expect(coverageWindowSeconds({ rehashSeconds: 0 }, gap)).toBeNull();
  });
});
