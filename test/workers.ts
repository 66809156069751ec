/**
 * How many test files vitest runs side by side (worker processes). Vitest's own default is one
 * fewer than the cores — one on a two-core machine — but most test files wait on the programs they
 * start (bwrap, restic, pg_dump, s3rver, promtool, chromium, the CLI), so three files at once keep
 * two cores busy where one file keeps about one (`npm test`: see docs/development.md).
 * VOUCH_TEST_WORKERS overrides it; `npm run test:dates` splits it between its simultaneous runs.
 */
const DEFAULT_TEST_WORKERS = 3;

/** The worker count `text` (VOUCH_TEST_WORKERS) asks for, or the default; throws on anything but a whole number ≥ 1. */
export function testWorkers(text: string | undefined = process.env.VOUCH_TEST_WORKERS): number {
  if (text === undefined || text === '') return DEFAULT_TEST_WORKERS;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`VOUCH_TEST_WORKERS=${text}: expected a whole number of workers, at least 1`);
  return count;
}

/**
 * Workers for each of `runs` vitest processes that run at the same time, so together they use
 * about `total`: at least one each, rounded up (two runs of a total of three get two each).
 */
export function workersPerRun(total: number, runs: number): number {
  return Math.max(1, Math.ceil(total / Math.max(1, runs)));
}
