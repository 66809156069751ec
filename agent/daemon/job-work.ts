/**
 * The daemon's jobs: what a scan and a restore drill of one set do when the scheduler or the API
 * starts them. Scans share the state lock and one ledger (state-access.ts `shared`); drills run
 * alone (`exclusive`). Each returns the job's summary and logs what an operator acts on (a snapshot
 * that is not clean, a drill that did not pass).
 */
import type { Logger } from 'pino';
import type { Policy, SetPolicy } from '../config/resolve-policy.js';
import type { JobWork } from '../jobs/job-runner.js';
import { anchorOptions } from '../ledger/head-anchor.js';
import type { RequestedBy } from '../model/requested-by.js';
import type { ScanProgress } from '../scan/progress.js';
import { scanWithLedger } from '../scan/scan-run.js';
import type { RunDrill } from './drill-contract.js';
import { createStateAccess } from './state-access.js';

/** What the jobs run against. */
export interface JobWorkOptions {
  /** The policy in force (read when a job starts: a reload applies to the next job). */
  policy: () => Policy;
  stateDir: string;
  runDrill: RunDrill;
  /** Warns about the policy's head anchor when the ledger is opened. */
  logger: Logger;
}

/** Job factories: the work of a scan or a drill of `set`, as the runner takes it. */
export interface DaemonJobWork {
  /** Scans `set`; throws (the job fails) when the set could not be scanned. */
  scan(set: SetPolicy, requestedBy?: RequestedBy): JobWork;
  /** Drills `set` (`snapshot`: an id or a pick; default the policy's). */
  drill(set: SetPolicy, snapshot?: string, requestedBy?: RequestedBy): JobWork;
}

function loggingProgress(logger: Logger): ScanProgress {
  return { addTotal() {}, advance() {}, status: (text) => logger.debug(text), stop() {} };
}

/** Creates the scan and drill job factories over one state directory (one state access for all jobs). */
export function createJobWork({ policy, stateDir, runDrill, logger }: JobWorkOptions): DaemonJobWork {
  const stateAccess = createStateAccess(stateDir, () =>
    anchorOptions(policy().evidence?.anchor, (message) =>
      logger.warn({ anchor: policy().evidence?.anchor?.kind }, message),
    ),
  );
  const scan =
    (set: SetPolicy, requestedBy: RequestedBy = { trigger: 'schedule' }): JobWork =>
    async ({ signal, logger: jobLogger }) => {
      const report = await stateAccess.shared((ledger) =>
        scanWithLedger(policy(), ledger, {
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
  const drill =
    (set: SetPolicy, snapshot?: string, requestedBy: RequestedBy = { trigger: 'schedule' }): JobWork =>
    async ({ signal, logger: jobLogger }) => {
      const result = await stateAccess.exclusive(() => {
        const anchor = policy().evidence?.anchor;
        return runDrill(set, {
          stateDir,
          ...(snapshot ? { snapshot } : {}),
          signal,
          logger: jobLogger,
          requestedBy,
          ...(anchor ? { anchor } : {}),
        });
      });
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

  return { scan, drill };
}
