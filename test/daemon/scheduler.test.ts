import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../agent/config/load-policy.js';
import { createJobRunner } from '../../agent/jobs/job-runner.js';
import { createLogger } from '../../agent/daemon/logger.js';
import { createScheduler } from '../../agent/jobs/scheduler.js';
import { Writable } from 'node:stream';

const quiet = () => createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });

function policyWith(schedule: string) {
  return parsePolicy(
    `sets:\n  orders:\n    source: { fs: { path: /nonexistent } }\n    snapshots: { layout: archive }\n    schedule: { scan: '${schedule}', timezone: Asia/Tokyo }\n`,
    '/etc/vouch.yaml',
  );
}

describe('scheduler (real node-cron)', () => {
  it('does not start a second run while the first is still going, and counts the skipped slots as overlaps', async () => {
    const logger = quiet();
    const runner = createJobRunner(4, logger);
    let running = 0;
    let maxRunning = 0;
    let started = 0;
    const scheduler = createScheduler({
      runner,
      logger,
      jitterMs: 0,
      work: {
        scan: () => async () => {
          started++;
          running++;
          maxRunning = Math.max(maxRunning, running);
          await new Promise((resolve) => setTimeout(resolve, 2600));
          running--;
          return {};
        },
        drill: () => async () => ({}),
      },
    });
    scheduler.apply(policyWith('* * * * * *'));
    await new Promise((resolve) => setTimeout(resolve, 4300));
    scheduler.stop();
    await runner.close(5000);
    expect(maxRunning).toBe(1);
    expect(started).toBeLessThanOrEqual(2);
    const counters = scheduler
      .stats()
      .tasks.find((task) => task.set === 'orders' && task.task === 'scan')!.counters;
    expect(counters.overlaps).toBeGreaterThanOrEqual(1);
    expect(counters.runs).toBeGreaterThanOrEqual(1);
  });

  it('counts slots missed while the event loop was blocked', async () => {
    const logger = quiet();
    const runner = createJobRunner(1, logger);
    const scheduler = createScheduler({
      runner,
      logger,
      jitterMs: 0,
      work: { scan: () => async () => ({}), drill: () => async () => ({}) },
    });
    scheduler.apply(policyWith('* * * * * *'));
    const until = Date.now() + 3500;
    while (Date.now() < until) {
      // a stuck process: no timers fire
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    scheduler.stop();
    await runner.close(2000);
    const counters = scheduler.stats().tasks.find((task) => task.task === 'scan')!.counters;
    expect(counters.missed).toBeGreaterThanOrEqual(1);
  });

  it('schedules in the policy time zone and replaces tasks on apply', () => {
    const logger = quiet();
    const runner = createJobRunner(1, logger);
    const scheduler = createScheduler({
      runner,
      logger,
      jitterMs: 0,
      work: { scan: () => async () => ({}), drill: () => async () => ({}) },
    });
    scheduler.apply(policyWith('0 9 * * *'));
    // 09:00 in Tokyo is 00:00 UTC.
    expect(scheduler.nextRuns('orders').scan).toMatch(/T00:00:00\.000Z$/);
    scheduler.apply(policyWith('30 9 * * *'));
    expect(scheduler.nextRuns('orders').scan).toMatch(/T00:30:00\.000Z$/);
    scheduler.stop();
    expect(scheduler.nextRuns('orders')).toEqual({});
  });
});

describe('job runner', () => {
  it('runs at most N jobs at once and hands back the running job for a repeated request', async () => {
    const logger = quiet();
    const runner = createJobRunner(1, logger);
    const release: (() => void)[] = [];
    const work = async () => {
      await new Promise<void>((resolve) => release.push(resolve));
      return {};
    };
    const a = runner.submit('scan', 'orders', 'api', work);
    const again = runner.submit('scan', 'orders', 'schedule', work);
    const b = runner.submit('scan', 'media', 'api', work);
    expect(again.reused).toBe(true);
    expect(again.record.id).toBe(a.record.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([runner.running(), runner.queued()]).toEqual([1, 1]);
    release.shift()!();
    await a.done;
    await new Promise((resolve) => setTimeout(resolve, 20));
    release.shift()!();
    expect((await b.done).status).toBe('succeeded');
  });

  it('aborts running jobs on close and refuses new ones', async () => {
    const runner = createJobRunner(2, quiet());
    const job = runner.submit(
      'scan',
      'orders',
      'api',
      ({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({}))),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await runner.close(1000)).toBe(true);
    expect((await job.done).status).toBe('aborted');
    expect(() => runner.submit('scan', 'orders', 'api', async () => ({}))).toThrow(/shutting down/);
  });
});
