import { defineConfig } from 'vitest/config';
import { UNIT_TESTS } from './test/tiers.js';

const tier = (name: string, include: string[], exclude: string[] = []) => ({
  extends: true as const,
  test: { name, include, exclude },
});

/**
 * Test files run side by side, in this many worker processes (VOUCH_TEST_WORKERS overrides).
 * Vitest's own default is one fewer than the cores — one on a two-core machine — but most test
 * files wait on the programs they start (bwrap, restic, pg_dump, s3rver, promtool, chromium,
 * the CLI), so three files at once keep two cores busy where one file keeps about one.
 */
const TEST_WORKERS = workerCount(process.env.VOUCH_TEST_WORKERS, 3);

function workerCount(text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`VOUCH_TEST_WORKERS=${text}: expected a whole number of workers, at least 1`);
  return count;
}

export default defineConfig({
  test: {
    setupFiles: ['test/setup/clock.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores on CI machines: forks keep native handles (s3rver, child processes) isolated.
    pool: 'forks',
    maxWorkers: TEST_WORKERS,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Together the two tiers are every test file; `--project unit` is the inner loop (test/tiers.ts).
    projects: [tier('unit', UNIT_TESTS), tier('system', ['test/**/*.test.ts'], UNIT_TESTS)],
  },
});
