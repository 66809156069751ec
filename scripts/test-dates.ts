/**
 * `npm run test:dates [INSTANT...]`: runs the date-sensitive tests (test/tiers.ts) again with the
 * calendar clock set elsewhere — by default 45 days ahead and 2027-12-31 23:30 UTC, half an hour
 * before a year ends — so a test that only passes on the day it was written fails in CI, not for
 * a user. The clock is VOUCH_NOW (agent/clock.ts), which the CLI and daemon processes the tests
 * start inherit; file times the kernel writes are not shifted, so nothing here fakes them.
 */
import { spawnSync } from 'node:child_process';
import { DATE_SENSITIVE_TESTS } from '../test/tiers.js';

const DAY_MS = 86_400_000;
const instants = process.argv.slice(2);
if (instants.length === 0) instants.push(new Date(Date.now() + 45 * DAY_MS).toISOString(), '2027-12-31T23:30:00Z');

for (const instant of instants) {
  process.stderr.write(`\n== date-sensitive tests with VOUCH_NOW=${instant}\n`);
  const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...DATE_SENSITIVE_TESTS], {
    stdio: 'inherit',
    env: { ...process.env, VOUCH_NOW: instant, VOUCH_CLOCK_OFFSET_MS: '' },
  });
  if (run.status !== 0) {
    process.stderr.write(`date-sensitive tests failed with VOUCH_NOW=${instant}\n`);
    process.exit(run.status ?? 1);
  }
}
