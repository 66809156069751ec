/**
 * `npm run test:dates [INSTANT...]`: runs the date-sensitive tests (test/tiers.ts) again with the
 * calendar clock set elsewhere — by default 45 days ahead and 2027-12-31 23:30 UTC, half an hour
 * before a year ends — so a test that only passes on the day it was written fails in CI, not for
 * a user. The clock is VOUCH_NOW (agent/clock.ts), which the CLI and daemon processes the tests
 * start inherit; file times the kernel writes are not shifted, so nothing here fakes them.
 *
 * The instants run at the same time, one vitest process each (most of each run waits on child
 * processes, so two overlap well on two cores), sharing the suite's test workers between them
 * (test/workers.ts: two files at a time each of a total of three), so together they run about as
 * many test files at once as `npm test`. Each run's output is buffered and printed whole under its
 * instant when it ends, so the logs do not interleave; screenshots and PDFs go to
 * test-artifacts/dates-N/ so the runs never write the same file. Exits non-zero if any run fails.
 */
import { spawn } from 'node:child_process';
import { DATE_SENSITIVE_TESTS } from '../test/tiers.js';
import { testWorkers, workersPerRun } from '../test/workers.js';

const DAY_MS = 86_400_000;

/** One vitest run with the clock at `instant`; resolves with its exit status and everything it printed. */
function runAt(
  instant: string,
  index: number,
  workers: number,
): Promise<{ instant: string; status: number; output: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', ...DATE_SENSITIVE_TESTS],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          VOUCH_NOW: instant,
          VOUCH_CLOCK_OFFSET_MS: '',
          VOUCH_TEST_ARTIFACTS: `test-artifacts/dates-${index}`,
          VOUCH_TEST_WORKERS: String(workers),
        },
      },
    );
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    const done = (status: number, extra = '') =>
      resolve({
        instant,
        status,
        output: Buffer.concat(chunks).toString('utf8') + extra,
        seconds: (performance.now() - started) / 1000,
      });
    child.on('error', (error) => done(1, `\ncould not start vitest: ${error.message}\n`));
    child.on('close', (code, signal) => done(code ?? 1, signal ? `\nvitest stopped by ${signal}\n` : ''));
  });
}

const instants = process.argv.slice(2);
if (instants.length === 0)
  instants.push(new Date(Date.now() + 45 * DAY_MS).toISOString(), '2027-12-31T23:30:00Z');
const workers = workersPerRun(testWorkers(), instants.length);
process.stderr.write(
  `date-sensitive tests: ${instants.length} runs at once, ${workers} test files each, VOUCH_NOW=${instants.join(', ')}\n`,
);

const runs = instants.map((instant, index) =>
  runAt(instant, index, workers).then((run) => {
    process.stderr.write(
      `\n== date-sensitive tests with VOUCH_NOW=${run.instant} (${run.seconds.toFixed(0)} s)\n${run.output}`,
    );
    return run;
  }),
);
const failed = (await Promise.all(runs)).filter((run) => run.status !== 0);
for (const run of failed) process.stderr.write(`date-sensitive tests failed with VOUCH_NOW=${run.instant}\n`);
process.exit(failed.length > 0 ? 1 : 0);
