/**
 * The kinds of work the daemon schedules and the counters the scheduler keeps, shared by jobs, metrics and the console.
 * Types only (model/ imports nothing else of vouch).
 */

/** Scheduled task kinds (the `task` label). */
export const TASK_KINDS = ['scan', 'drill'] as const;

/** One scheduled task kind. */
export type TaskKind = (typeof TASK_KINDS)[number];

/** Counters of one (set, task) pair, kept by the scheduler. */
export interface TaskCounters {
  runs: number;
  failures: number;
  /** Schedule slots skipped because the previous run was still going. */
  overlaps: number;
  /** Schedule slots that passed without firing (process paused or event loop blocked). */
  missed: number;
}

/** What the scheduler tells metrics. */
export interface SchedulerStats {
  tasks: { set: string; task: TaskKind; counters: TaskCounters }[];
  running: number;
  queued: number;
}
