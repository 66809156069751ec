import { describe, expect, it } from 'vitest';
import { testWorkers, workersPerRun } from '../workers.js';

describe('how many test files run at once', () => {
  it('is three unless VOUCH_TEST_WORKERS says otherwise', () => {
    expect(testWorkers('')).toBe(3);
    expect(testWorkers('1')).toBe(1);
    expect(testWorkers('4')).toBe(4);
  });

  it('refuses a VOUCH_TEST_WORKERS that is not a whole number of at least one, naming it', () => {
    for (const bad of ['0', '-2', '1.5', 'many', ' '])
      expect(() => testWorkers(bad)).toThrow(/VOUCH_TEST_WORKERS=.*whole number/);
  });

  it('splits the workers between runs that go at once, at least one each, rounding up', () => {
    expect(workersPerRun(3, 2)).toBe(2);
    expect(workersPerRun(4, 2)).toBe(2);
    expect(workersPerRun(3, 1)).toBe(3);
    expect(workersPerRun(1, 2)).toBe(1);
    expect(workersPerRun(3, 0)).toBe(3);
  });
});
