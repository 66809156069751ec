/**
 * The schedule: one node-cron task per set and task kind (`schedule.scan`, `schedule.drill`), in
 * the policy's time zone, with overlap prevention and a random start delay. A firing submits a job
 * to the runner and waits for it, so node-cron sees the run as busy until the job ends and skips
 * (and reports) a slot that comes round while it is still going. Counters per (set, task) live
 * here and survive policy reloads.
 */
import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Policy, SetPolicy } from '../config/resolve-policy.js';
import type { SchedulerStats, TaskCounters, TaskKind } from '../model/tasks.js';
import type { JobRecord, JobRunner, JobWork } from './job-runner.js';

/** What the scheduler runs for each task kind. */
export type TaskWork = Record<TaskKind, (set: SetPolicy) => JobWork>;

export interface SchedulerOptions {
  runner: JobRunner;
  work: TaskWork;
  logger: Logger;
  /** Upper bound of the random delay before a scheduled run starts, in ms (spreads load across agents and sets). */
  jitterMs: number;
  /** Task kinds this agent schedules (default both; drills may run as Kubernetes Jobs instead). */
  kinds?: readonly TaskKind[];
}

/** The running schedule. */
export interface Scheduler {
  /** Replaces every task with those `policy` declares. */
  apply(policy: Policy): void;
  /** Counters and queue sizes for metrics. */
  stats(): SchedulerStats;
  /** Next scheduled runs per set and task (for the API). */
  nextRuns(set: string): Partial<Record<TaskKind, string | null>>;
  /** Stops every task (running jobs are the runner's to stop). */
  stop(): void;
}

/** Creates the scheduler; call `apply` to start tasks. */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { runner, work, logger } = options;
  const counters = new Map<string, { set: string; task: TaskKind; counters: TaskCounters }>();
  let tasks: { set: string; kind: TaskKind; task: ScheduledTask }[] = [];

  const countersFor = (set: string, task: TaskKind): TaskCounters => {
    const key = `${task}:${set}`;
    let entry = counters.get(key);
    if (!entry) {
      entry = { set, task, counters: { runs: 0, failures: 0, overlaps: 0, missed: 0 } };
      counters.set(key, entry);
    }
    return entry.counters;
  };

  const previousSettled = runner.onSettled;
  runner.onSettled = (record: JobRecord) => {
    previousSettled?.(record);
    const c = countersFor(record.set, record.task);
    if (record.status === 'queued') return;
    c.runs++;
    if (record.status === 'failed') c.failures++;
  };

  function schedule(set: SetPolicy, kind: TaskKind, expression: string, timezone: string): ScheduledTask {
    const taskLogger = logger.child({ set: set.name, task: kind });
    const task = createTask(
      expression,
      async () => {
        let handle;
        try {
          handle = runner.submit(kind, set.name, 'schedule', work[kind](set));
        } catch (error) {
          taskLogger.warn({ err: error }, `scheduled ${kind} not started: ${(error as Error).message}`);
          return;
        }
        if (handle.reused) {
          countersFor(set.name, kind).overlaps++;
          taskLogger.warn(
            { job: handle.record.id },
            `scheduled ${kind} skipped: ${handle.record.id} (${handle.record.trigger}) is still ${handle.record.status}`,
          );
        }
        await handle.done;
      },
      {
        timezone,
        noOverlap: true,
        maxRandomDelay: options.jitterMs,
        name: `${kind}:${set.name}`,
        suppressMissedWarning: true,
      },
    );
    task.on('execution:overlap', () => {
      countersFor(set.name, kind).overlaps++;
      taskLogger.warn(`scheduled ${kind} skipped: the previous run is still going`);
    });
    task.on('execution:missed', (context) => {
      countersFor(set.name, kind).missed++;
      taskLogger.warn(
        { slot: context.date.toISOString() },
        `scheduled ${kind} missed its slot (process paused or overloaded)`,
      );
    });
    void task.start();
    return task;
  }

  return {
    apply(policy) {
      for (const { task } of tasks) void task.destroy();
      tasks = [];
      const names = new Set(policy.sets.map((set) => set.name));
      for (const key of [...counters.keys()]) if (!names.has(counters.get(key)!.set)) counters.delete(key);
      for (const set of policy.sets) {
        const zone = set.schedule?.timezone ?? 'UTC';
        for (const kind of options.kinds ?? (['scan', 'drill'] as const)) {
          const expression = set.schedule?.[kind];
          if (!expression) continue;
          tasks.push({ set: set.name, kind, task: schedule(set, kind, expression, zone) });
          countersFor(set.name, kind);
        }
      }
      logger.info(
        {
          tasks: tasks.map(({ set, kind, task }) => ({
            set,
            task: kind,
            next: task.getNextRun()?.toISOString() ?? null,
          })),
        },
        `scheduled ${tasks.length} task(s)`,
      );
    },
    stats() {
      return { tasks: [...counters.values()], running: runner.running(), queued: runner.queued() };
    },
    nextRuns(set) {
      const out: Partial<Record<TaskKind, string | null>> = {};
      for (const entry of tasks)
        if (entry.set === set) out[entry.kind] = entry.task.getNextRun()?.toISOString() ?? null;
      return out;
    },
    stop() {
      for (const { task } of tasks) void task.destroy();
      tasks = [];
    },
  };
}
