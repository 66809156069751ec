/**
 * `vouch serve`: the long-running agent. Loads the policy, schedules scans and drills, runs them
 * with bounded concurrency, serves metrics, health and the JSON API, reloads the policy on
 * request (a bad policy keeps the old one) and shuts down within a deadline.
 */
import { access, constants, mkdir, readdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import type { Logger } from 'pino';
import { loadPolicy } from '../config/load-policy.js';
import type { Policy } from '../config/resolve-policy.js';
import { recoverInterruptedDrills } from '../drills/recover-interrupted.js';
import { ConfigError, describeError } from '../errors.js';
import { createEstateCache, type EstateCache } from '../estate/estate-cache.js';
import { loadEstateView, type EstateView } from '../estate/estate-view.js';
import { evidenceStatus, type EvidenceStatus } from '../estate/evidence-status.js';
import { createJobRunner, type JobRunner } from '../jobs/job-runner.js';
import { createScheduler, type Scheduler } from '../jobs/scheduler.js';
import { createMetricsRegistry } from '../metrics/metrics.js';
import type { DaemonStats } from '../metrics/metric-sources.js';
import { type TaskKind } from '../model/tasks.js';
import type { Hono } from 'hono';
import { createHttpApp } from './http-app.js';
import type { RunDrill } from './drill-contract.js';
import { createJobWork, type DaemonJobWork } from './job-work.js';
import type { ListenAddress } from './listen-address.js';
import { shardPolicy, type Shard } from './shard.js';
import { now, nowMs } from '../clock.js';

export interface DaemonOptions {
  /** Policy file (read at start and on every reload). */
  configFile: string;
  /** --state / VOUCH_STATE; else the policy's `state`, else ./vouch-state. */
  stateOverride?: string;
  listen: ListenAddress;
  /** Bearer token (required off loopback; see listen-address.ts). */
  token?: string;
  metricsAuth: boolean;
  /** Jobs run at once. */
  concurrency: number;
  /** Upper bound of the random delay before scheduled runs, ms. */
  jitterMs: number;
  /** How long shutdown waits for running jobs to reach a safe point. */
  shutdownTimeoutMs: number;
  logger: Logger;
  /** The drill runner (injected: see drill-contract.ts). */
  runDrill: RunDrill;
  /** Largest request body; default 16 KiB. */
  bodyLimitBytes?: number;
  /** Per-request deadline; default 30 s. */
  requestTimeoutMs?: number;
  /** Run only the sets this replica's shard owns (see shard.ts). */
  shard?: Shard;
  /** Task kinds to schedule (default both). */
  tasks?: ReadonlySet<TaskKind>;
  /** Host names requests may address the daemon by, besides its address and loopback (`--allowed-host`). */
  allowedHosts?: readonly string[];
}

/** A running daemon. */
export interface Daemon {
  /** `http://HOST:PORT` it listens on. */
  url: string;
  stateDir: string;
  policy(): Policy;
  /** Re-reads the policy file; false (and the old policy stays) when it is invalid. */
  reload(): Promise<boolean>;
  /** Stops scheduling, aborts jobs, waits for them up to the deadline, closes the server; true when every job ended in time. */
  stop(): Promise<boolean>;
}

/** How long a scrape's or request's estate read is reused. */
const ESTATE_TTL_MS = 1000;

function resolveStateDir(policy: Policy, override: string | undefined): string {
  return path.resolve(override ?? policy.state ?? 'vouch-state');
}

/** Reads the policy file and keeps this replica's shard of it. Throws ConfigError when it is invalid. */
async function loadDaemonPolicy(options: Pick<DaemonOptions, 'configFile' | 'shard'>): Promise<Policy> {
  const loaded = await loadPolicy(options.configFile);
  return options.shard ? shardPolicy(loaded, options.shard) : loaded;
}

/**
 * Records a drill killed with the previous daemon (SIGKILL, power loss) as aborted and removes its
 * sandbox now, not only when that set's next drill starts. Never throws: a failed recovery is logged.
 */
async function recoverDrillsAtStart(stateDir: string, logger: Logger): Promise<void> {
  for (const aborted of await recoverInterruptedDrills(stateDir, { logger }).catch((error: unknown) => {
    logger.error({ err: error }, 'could not recover interrupted drills');
    return [];
  })) {
    logger.warn(
      { set: aborted.set, drill: aborted.id },
      `drill ${aborted.id} of ${aborted.set} was interrupted; recorded as aborted`,
    );
  }
}

/**
 * The daemon's one estate read, shared by metrics, the API and the console: reused for
 * ESTATE_TTL_MS while the evidence status stays the same; the caller drops it when a job settles
 * or the policy reloads.
 */
function createDaemonEstate(stateDir: string, policy: () => Policy): EstateCache {
  return createEstateCache<EstateView, EvidenceStatus>({
    // The evidence status is cached on its own (by the ledger's files); a view built from an older
    // status is not reused, so a page never says "intact" after another page said "broken".
    key: () => evidenceStatus(stateDir),
    load: (evidence) => loadEstateView(policy(), stateDir, now(), evidence),
    ttlMs: ESTATE_TTL_MS,
  });
}

/** Whether the state directory can be listed (for /readyz): ok, or the reason it cannot. */
async function stateReadable(stateDir: string): Promise<{ ok: boolean; detail: string }> {
  try {
    await access(stateDir, constants.R_OK | constants.X_OK);
    await readdir(stateDir);
    return { ok: true, detail: stateDir };
  } catch (error) {
    return { ok: false, detail: `${stateDir}: ${describeError(error)}` };
  }
}

/** What the HTTP app of the daemon is built from. */
interface DaemonAppParts {
  policy: () => Policy;
  stateDir: string;
  estate: EstateCache;
  stats: DaemonStats;
  runner: JobRunner;
  scheduler: Scheduler;
  work: DaemonJobWork;
}

/**
 * The daemon's HTTP app: metrics, health, the JSON API and the console, over the shared estate
 * read; API-triggered scans and drills run through the same job runner as scheduled ones. A
 * trigger for a set the policy does not name throws ConfigError.
 */
function createDaemonApp(
  { policy, stateDir, estate, stats, runner, scheduler, work }: DaemonAppParts,
  options: DaemonOptions,
): Hono {
  const registry = createMetricsRegistry({
    estate: estate.get,
    scheduler: () => scheduler.stats(),
    daemon: () => stats,
  });
  const setByName = (name: string) => {
    const set = policy().sets.find((candidate) => candidate.name === name);
    if (!set) throw new ConfigError(`no set named ${name}`);
    return set;
  };
  return createHttpApp(
    {
      policy,
      estate: estate.get,
      stateDir,
      stateReadable: () => stateReadable(stateDir),
      registry,
      runner,
      scheduler,
      trigger: (task: TaskKind, name, { snapshot, requestedBy }) => {
        const set = setByName(name);
        return runner.submit(
          task,
          name,
          'api',
          task === 'scan' ? work.scan(set, requestedBy) : work.drill(set, snapshot, requestedBy),
          requestedBy,
        );
      },
      logger: options.logger,
    },
    {
      ...(options.token ? { token: options.token } : {}),
      metricsAuth: options.metricsAuth,
      bodyLimitBytes: options.bodyLimitBytes ?? 16 * 1024,
      listen: options.listen,
      allowedHosts: options.allowedHosts ?? [],
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    },
  );
}

/**
 * Serves `app` on the listen address with bounded timeouts and header sizes; resolves with the
 * server and its `http://HOST:PORT` once it listens, rejects when it cannot (address in use, no
 * permission).
 */
async function listenHttp(
  app: Hono,
  options: Pick<DaemonOptions, 'listen' | 'requestTimeoutMs'>,
): Promise<{ server: Server; url: string }> {
  const server = createAdaptorServer({
    fetch: app.fetch,
    serverOptions: {
      requestTimeout: (options.requestTimeoutMs ?? 30_000) + 5000,
      headersTimeout: 10_000,
      keepAliveTimeout: 5000,
      maxHeaderSize: 16 * 1024,
    },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new Error(`cannot listen on ${options.listen.host}:${options.listen.port}: ${describeError(error)}`, {
          cause: error,
        }),
      ),
    );
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}` };
}

/** What a reload works on. */
interface ReloadParts {
  options: DaemonOptions;
  stateDir: string;
  stats: DaemonStats;
  /** Puts a validated policy in force (estate dropped, schedules replaced). */
  apply: (next: Policy) => void;
}

/**
 * `Daemon.reload`: re-reads the policy file; a valid policy is applied and true returned, an
 * invalid one (or one that moves the state directory) is logged with its problems, counted as a
 * failure, and false returned with the old policy kept.
 */
function createReload({ options, stateDir, stats, apply }: ReloadParts): () => Promise<boolean> {
  const { logger } = options;
  return async () => {
    stats.reloads++;
    try {
      const next = await loadDaemonPolicy(options);
      const nextState = resolveStateDir(next, options.stateOverride);
      if (nextState !== stateDir) {
        throw new ConfigError(
          `the state directory cannot change on reload (${stateDir} → ${nextState}); restart vouch serve instead`,
        );
      }
      apply(next);
      stats.lastReloadSuccess = nowMs() / 1000;
      logger.info({ policy: next.file, sets: next.sets.map((set) => set.name) }, 'policy reloaded');
      return true;
    } catch (error) {
      stats.reloadFailures++;
      logger.error(
        { problems: error instanceof ConfigError ? error.problems : undefined, err: error },
        `policy reload rejected; keeping the policy loaded at ${new Date(stats.lastReloadSuccess * 1000).toISOString()}: ${error instanceof ConfigError ? error.message.split('\n')[0] : describeError(error)}`,
      );
      return false;
    }
  };
}

/** What a shutdown stops. */
interface StopParts {
  runner: JobRunner;
  scheduler: Scheduler;
  server: Server;
  logger: Logger;
  shutdownTimeoutMs: number;
}

/**
 * `Daemon.stop`: stops scheduling, aborts running jobs and waits for them up to the deadline,
 * then closes the server (idle connections at once, the rest after 2 s). Resolves true when every
 * job ended in time; calling it again returns the same promise.
 */
function createStop({
  runner,
  scheduler,
  server,
  logger,
  shutdownTimeoutMs,
}: StopParts): () => Promise<boolean> {
  let stopping: Promise<boolean> | null = null;
  return () => {
    stopping ??= (async () => {
      logger.info(
        { running: runner.running(), queued: runner.queued(), deadlineMs: shutdownTimeoutMs },
        'shutting down: no new jobs, stopping running ones at a safe point',
      );
      scheduler.stop();
      const graceful = await runner.close(shutdownTimeoutMs);
      if (!graceful)
        logger.error(
          {
            running: runner
              .jobs()
              .filter((job) => job.status === 'running')
              .map((job) => job.id),
          },
          'jobs did not stop in time; exiting anyway (state stays consistent: every write is atomic)',
        );
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      logger.info({ graceful }, 'stopped');
      return graceful;
    })();
    return stopping;
  };
}

/** Logs where the daemon listens, for which policy and sets, and what needs the token. */
function logListening(options: DaemonOptions, url: string, stateDir: string, policy: Policy): void {
  options.logger.info(
    {
      url,
      stateDir,
      policy: policy.file,
      sets: policy.sets.map((set) => set.name),
      auth: options.token
        ? options.metricsAuth
          ? 'all but /healthz'
          : 'all but /healthz and /metrics'
        : 'none (loopback)',
    },
    `vouch serve listening on ${url}`,
  );
}

/** Starts the daemon. Policy problems throw ConfigError (exit 2) before anything is started. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { logger } = options;
  let policy = await loadDaemonPolicy(options);
  const currentPolicy = () => policy;
  const stateDir = resolveStateDir(policy, options.stateOverride);
  await mkdir(stateDir, { recursive: true });
  await recoverDrillsAtStart(stateDir, logger);
  const stats: DaemonStats = { reloads: 0, reloadFailures: 0, lastReloadSuccess: nowMs() / 1000 };

  const estate = createDaemonEstate(stateDir, currentPolicy);
  const runner = createJobRunner(options.concurrency, logger);
  runner.onSettled = () => estate.invalidate();
  const work = createJobWork({ policy: currentPolicy, stateDir, runDrill: options.runDrill, logger });
  const scheduler = createScheduler({
    runner,
    logger,
    jitterMs: options.jitterMs,
    work: { scan: (set) => work.scan(set), drill: (set) => work.drill(set) },
    ...(options.tasks ? { kinds: [...options.tasks] } : {}),
  });

  const app = createDaemonApp(
    { policy: currentPolicy, stateDir, estate, stats, runner, scheduler, work },
    options,
  );
  const { server, url } = await listenHttp(app, options);
  scheduler.apply(policy);
  logListening(options, url, stateDir, policy);

  return {
    url,
    stateDir,
    policy: currentPolicy,
    reload: createReload({
      options,
      stateDir,
      stats,
      apply(next) {
        policy = next;
        estate.invalidate();
        scheduler.apply(next);
      },
    }),
    stop: createStop({ runner, scheduler, server, logger, shutdownTimeoutMs: options.shutdownTimeoutMs }),
  };
}
