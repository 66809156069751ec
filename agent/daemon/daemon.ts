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
import type { Policy, SetPolicy } from '../config/resolve-policy.js';
import { recoverInterruptedDrills } from '../drills/recover-interrupted.js';
import { ConfigError, describeError } from '../errors.js';
import { loadEstateView, type EstateView } from '../estate/estate-view.js';
import { createEstateCache } from '../estate/estate-cache.js';
import { evidenceStatus, type EvidenceStatus } from '../estate/evidence-status.js';
import { anchorOptions } from '../ledger/head-anchor.js';
import { createMetricsRegistry } from '../metrics/metrics.js';
import { type TaskKind } from '../model/tasks.js';
import type { ScanProgress } from '../scan/progress.js';
import { scanWithLedger } from '../scan/scan-run.js';
import type { RequestedBy } from '../model/requested-by.js';
import type { RunDrill } from './drill-contract.js';
import { createHttpApp } from './http-app.js';
import { createJobRunner, type JobWork } from '../jobs/job-runner.js';
import type { ListenAddress } from './listen-address.js';
import { createScheduler } from '../jobs/scheduler.js';
import { shardPolicy, type Shard } from './shard.js';
import { createStateAccess } from './state-access.js';
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

function loggingProgress(logger: Logger): ScanProgress {
  return { addTotal() {}, advance() {}, status: (text) => logger.debug(text), stop() {} };
}

/** Starts the daemon. Policy problems throw ConfigError (exit 2) before anything is started. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { logger } = options;
  const load = async () => {
    const loaded = await loadPolicy(options.configFile);
    return options.shard ? shardPolicy(loaded, options.shard) : loaded;
  };
  let policy = await load();
  const stateDir = resolveStateDir(policy, options.stateOverride);
  await mkdir(stateDir, { recursive: true });
  // A drill killed with the previous daemon (SIGKILL, power loss) is recorded as aborted and its
  // sandbox removed now, not only when that set's next drill starts.
  for (const aborted of await recoverInterruptedDrills(stateDir, { logger }).catch((error: unknown) => {
    logger.error({ err: error }, 'could not recover interrupted drills');
    return [];
  })) {
    logger.warn(
      { set: aborted.set, drill: aborted.id },
      `drill ${aborted.id} of ${aborted.set} was interrupted; recorded as aborted`,
    );
  }
  const stats = { reloads: 0, reloadFailures: 0, lastReloadSuccess: nowMs() / 1000 };

  const estate = createEstateCache<EstateView, EvidenceStatus>({
    // The evidence status is cached on its own (by the ledger's files); a view built from an older
    // status is not reused, so a page never says "intact" after another page said "broken".
    key: () => evidenceStatus(stateDir),
    load: (evidence) => loadEstateView(policy, stateDir, now(), evidence),
    ttlMs: ESTATE_TTL_MS,
  });

  const runner = createJobRunner(options.concurrency, logger);
  runner.onSettled = () => estate.invalidate();
  const stateAccess = createStateAccess(stateDir, () =>
    anchorOptions(policy.evidence?.anchor, (message) =>
      logger.warn({ anchor: policy.evidence?.anchor?.kind }, message),
    ),
  );

  const scanWork =
    (set: SetPolicy, requestedBy: RequestedBy = { trigger: 'schedule' }): JobWork =>
    async ({ signal, logger: jobLogger }) => {
      const report = await stateAccess.shared((ledger) =>
        scanWithLedger(policy, ledger, {
          stateDir,
          sets: [set.name],
          signal,
          concurrency: 1,
          progress: loggingProgress(jobLogger),
          requestedBy,
        }),
      );
      const result = report.sets[0];
      if (result?.error) throw new Error(result.error);
      const verdicts: Record<string, number> = {};
      for (const snapshot of result?.snapshots ?? [])
        verdicts[snapshot.verdict] = (verdicts[snapshot.verdict] ?? 0) + 1;
      for (const snapshot of result?.snapshots ?? []) {
        if (snapshot.verdict !== 'clean')
          jobLogger.warn(
            { snapshot: snapshot.id, verdict: snapshot.verdict, findingCounts: snapshot.findingCounts },
            `snapshot ${snapshot.id} is ${snapshot.verdict}`,
          );
      }
      return {
        snapshots: result?.snapshots.length ?? 0,
        verdicts,
        lastClean: result?.lastClean ?? null,
        ...(result?.immutability ? { immutabilityOk: result.immutability.ok } : {}),
        ...(report.interrupted ? { interrupted: true } : {}),
      };
    };
  const drillWork =
    (set: SetPolicy, snapshot?: string, requestedBy: RequestedBy = { trigger: 'schedule' }): JobWork =>
    async ({ signal, logger: jobLogger }) => {
      const result = await stateAccess.exclusive(() =>
        options.runDrill(set, {
          stateDir,
          ...(snapshot ? { snapshot } : {}),
          signal,
          logger: jobLogger,
          requestedBy,
          ...(policy.evidence?.anchor ? { anchor: policy.evidence.anchor } : {}),
        }),
      );
      const drillLogger = jobLogger.child({ drill: result.id, snapshot: result.snapshot });
      (result.outcome === 'passed' ? drillLogger.info.bind(drillLogger) : drillLogger.warn.bind(drillLogger))(
        {
          outcome: result.outcome,
          durationSeconds: result.durationSeconds,
          failures: result.failures.length,
        },
        `drill ${result.outcome}`,
      );
      return {
        drill: result.id,
        snapshot: result.snapshot,
        outcome: result.outcome,
        durationSeconds: result.durationSeconds,
      };
    };

  const scheduler = createScheduler({
    runner,
    logger,
    jitterMs: options.jitterMs,
    work: { scan: (set) => scanWork(set), drill: (set) => drillWork(set) },
    ...(options.tasks ? { kinds: [...options.tasks] } : {}),
  });
  const registry = createMetricsRegistry({
    estate: estate.get,
    scheduler: () => scheduler.stats(),
    daemon: () => stats,
  });

  const setByName = (name: string) => {
    const set = policy.sets.find((candidate) => candidate.name === name);
    if (!set) throw new ConfigError(`no set named ${name}`);
    return set;
  };
  const app = createHttpApp(
    {
      policy: () => policy,
      estate: estate.get,
      stateDir,
      async stateReadable() {
        try {
          await access(stateDir, constants.R_OK | constants.X_OK);
          await readdir(stateDir);
          return { ok: true, detail: stateDir };
        } catch (error) {
          return { ok: false, detail: `${stateDir}: ${describeError(error)}` };
        }
      },
      registry,
      runner,
      scheduler,
      trigger: (task: TaskKind, name, { snapshot, requestedBy }) => {
        const set = setByName(name);
        return runner.submit(
          task,
          name,
          'api',
          task === 'scan' ? scanWork(set, requestedBy) : drillWork(set, snapshot, requestedBy),
          requestedBy,
        );
      },
      logger,
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
  const url = `http://${host}:${address.port}`;
  scheduler.apply(policy);
  logger.info(
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

  let stopping: Promise<boolean> | null = null;
  return {
    url,
    stateDir,
    policy: () => policy,
    async reload() {
      stats.reloads++;
      try {
        const next = await load();
        const nextState = resolveStateDir(next, options.stateOverride);
        if (nextState !== stateDir) {
          throw new ConfigError(
            `the state directory cannot change on reload (${stateDir} → ${nextState}); restart vouch serve instead`,
          );
        }
        policy = next;
        estate.invalidate();
        scheduler.apply(next);
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
    },
    stop() {
      stopping ??= (async () => {
        logger.info(
          { running: runner.running(), queued: runner.queued(), deadlineMs: options.shutdownTimeoutMs },
          'shutting down: no new jobs, stopping running ones at a safe point',
        );
        scheduler.stop();
        const graceful = await runner.close(options.shutdownTimeoutMs);
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
    },
  };
}
