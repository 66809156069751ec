/**
 * Runs the daemon's jobs (scans, drills) with bounded concurrency. A job for a (task, set) pair
 * that is already queued or running is not started twice: the request gets the existing job. On
 * shutdown the runner takes no new jobs, aborts the running ones (they stop at their next safe
 * point) and waits for them up to a deadline.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import type { TaskKind } from '../model/tasks.js';
import { now } from '../clock.js';
import type { RequestedBy } from '../model/requested-by.js';

/** Why a job started. */
export type JobTrigger = 'schedule' | 'api' | 'startup';

/** A job's public record (the API shows it). */
export interface JobRecord {
  id: string;
  task: TaskKind;
  set: string;
  trigger: JobTrigger;
  /** API jobs: who asked (how they authenticated, and from where). */
  requestedBy?: RequestedBy;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'aborted';
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** A short summary of what the job found (verdict counts, drill outcome…). */
  result?: Record<string, unknown>;
  error?: string;
}

/** What a job does; it must stop at a safe point soon after `signal` aborts. */
export type JobWork = (context: {
  signal: AbortSignal;
  logger: Logger;
  job: JobRecord;
}) => Promise<Record<string, unknown>>;

/** A submitted job and a promise that settles when it ends (never rejects). */
export interface JobHandle {
  record: JobRecord;
  done: Promise<JobRecord>;
  /** True when the (task, set) pair already had a queued or running job and this is it. */
  reused: boolean;
}

export interface JobRunner {
  /** Submits a job, or returns the queued/running one for the same task and set. Throws once closed. */
  submit(
    task: TaskKind,
    set: string,
    trigger: JobTrigger,
    work: JobWork,
    requestedBy?: RequestedBy,
  ): JobHandle;
  /** Recent jobs, newest first (at most 200), and the running/queued counts. */
  jobs(): JobRecord[];
  job(id: string): JobRecord | undefined;
  running(): number;
  queued(): number;
  /** Called when a job starts and ends (the scheduler counts runs and failures). */
  onSettled?: (record: JobRecord) => void;
  /** Stops taking jobs, aborts running ones, waits up to `deadlineMs`; true when every job ended in time. */
  close(deadlineMs: number): Promise<boolean>;
}

/** Thrown by `submit` after `close`. */
export class RunnerClosedError extends Error {
  override name = 'RunnerClosedError';
}

const KEEP_FINISHED = 200;

/** Creates a runner that runs at most `concurrency` jobs at once. */
export function createJobRunner(concurrency: number, logger: Logger): JobRunner {
  const history: JobRecord[] = [];
  const active = new Map<string, JobHandle>();
  const queue: (() => void)[] = [];
  const controller = new AbortController();
  const inFlight = new Set<Promise<JobRecord>>();
  let runningCount = 0;
  let closed = false;

  const remember = (record: JobRecord) => {
    history.unshift(record);
    if (history.length > KEEP_FINISHED) history.length = KEEP_FINISHED;
  };

  const slot = () =>
    new Promise<void>((resolve) => {
      if (runningCount < concurrency) {
        runningCount++;
        resolve();
      } else queue.push(() => (runningCount++, resolve()));
    });
  const freeSlot = () => {
    runningCount--;
    queue.shift()?.();
  };

  const runner: JobRunner = {
    submit(task, set, trigger, work, requestedBy) {
      const key = `${task}:${set}`;
      const existing = active.get(key);
      if (existing) return { ...existing, reused: true };
      if (closed) throw new RunnerClosedError('vouch is shutting down and takes no new jobs');
      const record: JobRecord = {
        id: `${task}-${set}-${now().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${randomBytes(2).toString('hex')}`,
        task,
        set,
        trigger,
        ...(requestedBy ? { requestedBy } : {}),
        status: 'queued',
        queuedAt: now().toISOString(),
      };
      remember(record);
      const jobLogger = logger.child({
        job: record.id,
        task,
        set,
        ...(requestedBy?.caller ? { caller: requestedBy.caller, remote: requestedBy.address } : {}),
      });
      const done = (async () => {
        await slot();
        try {
          if (controller.signal.aborted) {
            record.status = 'aborted';
            return record;
          }
          record.status = 'running';
          record.startedAt = now().toISOString();
          jobLogger.info({ trigger }, `${task} started`);
          try {
            record.result = await work({ signal: controller.signal, logger: jobLogger, job: record });
            record.status = controller.signal.aborted ? 'aborted' : 'succeeded';
            jobLogger.info({ result: record.result, status: record.status }, `${task} finished`);
          } catch (error) {
            record.status = controller.signal.aborted ? 'aborted' : 'failed';
            record.error = describeError(error);
            jobLogger.error({ err: error }, `${task} failed: ${record.error}`);
          }
          return record;
        } finally {
          record.finishedAt = now().toISOString();
          active.delete(key);
          freeSlot();
          runner.onSettled?.(record);
        }
      })();
      const handle = { record, done, reused: false };
      active.set(key, handle);
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
      return handle;
    },
    jobs: () => [...history],
    job: (id) => history.find((record) => record.id === id),
    running: () => runningCount,
    queued: () => queue.length,
    async close(deadlineMs) {
      closed = true;
      controller.abort();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<false>(
        (resolve) => (timer = setTimeout(() => resolve(false), deadlineMs)),
      );
      const all = Promise.all([...inFlight]).then(() => true as const);
      try {
        return await Promise.race([all, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return runner;
}
