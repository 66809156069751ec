/**
 * Facts of this process rather than the state directory: the build, the scheduler's task counters
 * and queue, and policy reloads.
 */
import { Counter, Gauge } from 'prom-client';
import type { TaskCounters } from '../model/tasks.js';
import { VERSION } from '../version.js';
import type { DaemonStats, MetricGroupContext } from './metric-sources.js';

/** Registers `vouch_build_info`. */
export function registerBuildInfo({ registers }: MetricGroupContext): void {
  new Gauge({
    name: 'vouch_build_info',
    help: 'vouch version and Node.js runtime; always 1.',
    labelNames: ['version', 'nodejs'],
    registers,
  }).set({ version: VERSION, nodejs: process.versions.node }, 1);
}

/** Registers `vouch_task_*` and `vouch_tasks_running`/`queued` (read from the scheduler at scrape time). */
export function registerSchedulerMetrics({ registers, sources }: MetricGroupContext): void {
  const taskCounter = (name: string, help: string, pick: (counters: TaskCounters) => number) => {
    const counter: Counter<'set' | 'task'> = new Counter<'set' | 'task'>({
      name,
      help,
      labelNames: ['set', 'task'],
      registers,
      collect() {
        counter.reset();
        for (const entry of sources.scheduler().tasks)
          counter.inc({ set: entry.set, task: entry.task }, pick(entry.counters));
      },
    });
  };
  taskCounter(
    'vouch_task_runs_total',
    'Scheduled and requested task runs that ended in this process (succeeded, failed or aborted).',
    (c) => c.runs,
  );
  taskCounter(
    'vouch_task_failures_total',
    'Task runs that ended in an error (not findings: those are results).',
    (c) => c.failures,
  );
  taskCounter(
    'vouch_task_overlaps_total',
    'Schedule slots skipped because the previous run of the task was still going.',
    (c) => c.overlaps,
  );
  taskCounter(
    'vouch_task_missed_total',
    'Schedule slots that passed without firing (process paused or event loop blocked).',
    (c) => c.missed,
  );
  const running: Gauge = new Gauge({
    name: 'vouch_tasks_running',
    help: 'Tasks running now.',
    registers,
    collect: () => running.set(sources.scheduler().running),
  });
  const queued: Gauge = new Gauge({
    name: 'vouch_tasks_queued',
    help: 'Tasks waiting for a free slot.',
    registers,
    collect: () => queued.set(sources.scheduler().queued),
  });
}

/** Registers `vouch_policy_*` (read from the daemon at scrape time). */
export function registerDaemonMetrics({ registers, sources }: MetricGroupContext): void {
  const daemonCounter = (name: string, help: string, pick: (stats: DaemonStats) => number) => {
    const counter: Counter = new Counter({
      name,
      help,
      registers,
      collect: () => (counter.reset(), counter.inc(pick(sources.daemon()))),
    });
  };
  daemonCounter('vouch_policy_reloads_total', 'Policy reloads requested (SIGHUP).', (s) => s.reloads);
  daemonCounter(
    'vouch_policy_reload_failures_total',
    'Policy reloads rejected (the previous policy stayed in force).',
    (s) => s.reloadFailures,
  );
  const reloaded: Gauge = new Gauge({
    name: 'vouch_policy_last_load_success_timestamp_seconds',
    help: 'Time the policy in force was loaded.',
    registers,
    collect: () => reloaded.set(sources.daemon().lastReloadSuccess),
  });
}
