import { defineConfig } from 'vitest/config';
import { UNIT_TESTS } from './test/tiers.js';
import { testWorkers } from './test/workers.js';

const tier = (name: string, include: string[], exclude: string[] = []) => ({
  extends: true as const,
  test: { name, include, exclude },
});

export default defineConfig({
  test: {
    setupFiles: ['test/setup/clock.ts'],
    // Sized for a loaded machine, not an idle one: three test files share two cores (test/workers.ts)
    // and many tests run the CLI several times, each start of which is seconds of CPU. A test that
    // hangs still fails; each wait inside a test has its own, tighter bound.
    testTimeout: 180_000,
    hookTimeout: 240_000,
    // Two cores on CI machines: forks keep native handles (s3rver, child processes) isolated.
    pool: 'forks',
    // Test files side by side (test/workers.ts): most of them wait on the programs they start.
    maxWorkers: testWorkers(),
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Together the two tiers are every test file; `--project unit` is the inner loop (test/tiers.ts).
    projects: [tier('unit', UNIT_TESTS), tier('system', ['test/**/*.test.ts'], UNIT_TESTS)],
  },
});
