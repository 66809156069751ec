/**
 * One `vouch scan`: takes the state lock, scans the chosen sets, audits their immutability,
 * records the run in the ledger. The daemon, which holds the lock across jobs, calls
 * `scanWithLedger` with its own ledger.
 *
 * Crash safety and resume: each run leaves a marker (`scans/runs/ID.json`, scan-marker.ts) while
 * it runs. A run that finds the marker of a run that died (SIGKILL, power loss) records that run
 * as `scan-aborted` in the ledger, with the snapshot it was reading; and a run that finds the
 * marker of an interrupted or dead run from the last 24 hours continues it: snapshots that run
 * already read are not read again (when unchanged), the partially read one and the rest are.
 * Temporary files of dead runs are removed. An abort (SIGINT, SIGTERM) stops the read in
 * progress at once — nothing half-read is recorded — and marks the run interrupted.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Policy, SetPolicy } from '../config/resolve-policy.js';
import { ConfigError } from '../errors.js';
import { auditSet, needsAudit, recordAudit, type AuditOptions } from '../immutability/audit-set.js';
import { datasetReports } from '../immutability/dataset-report.js';
import type { DatasetRuleReport } from '../immutability/rule-3-2-1-1-0.js';
import type { BackupSource } from '../sources/backup-source.js';
import { createSource } from '../sources/create-source.js';
import { acceptancesOf, syncAcceptanceIndex, type AcceptanceIndex } from '../state/acceptance-index.js';
import { anchorOptions } from '../ledger/head-anchor.js';
import type { RequestedBy } from '../model/requested-by.js';
import { openLedger, type LedgerStore } from '../ledger/ledger-store.js';
import { recordScanOutcome } from '../state/scan-status.js';
import { loadSetState } from '../state/set-state.js';
import { acquireStateLock } from '../state/state-lock.js';
import { clearScanMarker, listScanMarkers, writeScanMarker, type ScanMarker } from '../state/scan-marker.js';
import { ownerIsDead } from '../fs/lock-file.js';
import { removeDeadManifestTemps } from '../state/manifest-store.js';
import { configureAnalysisPool } from '../analysis/analysis-pool.js';
import { silentProgress, type ScanProgress } from './progress.js';
import { scanSet, type SetReport } from './scan-set.js';
import { now } from '../clock.js';
import { holdCompactHeap } from '../tools/heap-growth.js';
import { prestartListingWorker } from '../sources/fs-list.js';

/** The `vouch scan --json` document. */
export interface ScanReport {
  sets: SetReport[];
  /** 3-2-1-1-0 per data set the scanned sets belong to (absent when the policy declares none). */
  datasets?: DatasetRuleReport[];
  /** True when a stop request (SIGTERM, abort) ended the scan early; the unscanned snapshots keep their previous state. */
  interrupted?: boolean;
  startedAt: string;
  finishedAt: string;
}

/** Options for a scan run. */
export interface ScanRunOptions {
  stateDir: string;
  /** Set names to scan; all when empty. */
  sets?: string[];
  progress?: ScanProgress;
  /** Sets scanned at once (default: the policy's `concurrency.sets`). */
  concurrency?: number;
  /** Start afresh instead of continuing an interrupted run. */
  fresh?: boolean;
  /** The clock (tests simulate days of scans). */
  now?: () => Date;
  /** Retry backoff (tests shorten it). */
  retryDelays?: { baseDelayMs: number; maxDelayMs: number };
  /** Who asked for the scan (recorded in the scan-run record; default: the command line). */
  requestedBy?: RequestedBy;
  /** Builds a set's source (tests inject fault-injecting sources here). */
  createSource?: (set: SetPolicy) => BackupSource | Promise<BackupSource>;
  /** Stops the scan at the next safe point (between snapshots). */
  signal?: AbortSignal;
  /** Settings for the immutability audit (tests inject an S3 client or mount table). */
  audit?: Pick<AuditOptions, 's3Client' | 'mountInfo'>;
}

/** Picks the sets to scan; unknown names are a usage error. */
export function selectSets(policy: Policy, names: readonly string[] = []): SetPolicy[] {
  if (names.length === 0) return policy.sets;
  const known = new Map(policy.sets.map((set) => [set.name, set]));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length) {
    throw new ConfigError(
      `unknown set${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (policy has: ${[...known.keys()].join(', ')})`,
    );
  }
  return names.map((name) => known.get(name)!);
}

/** Entry bytes a set scan read and hashed (snapshots read in full). */
function scannedBytes(report: SetReport): number {
  return report.snapshots.reduce((sum, snapshot) => sum + (snapshot.deep ? snapshot.bytes : 0), 0);
}

/** An interrupted or dead run is continued by the next run only this long after it started. */
export const RESUME_WINDOW_MS = 24 * 3_600_000;

/** Runs of this process that are going now: their markers are live even though the pid is. */
const liveRuns = new Set<string>();

/** What one run knows about the runs before it. */
interface RunContext {
  marker: ScanMarker;
  /** Per set, the run id snapshots are recorded under (a continued run keeps its id). */
  runIds: Map<string, string>;
  /** Per set, the run this one continues. */
  resuming: Map<string, string>;
  tempDir: string;
}

function newRunId(): string {
  return `${now()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}-${randomBytes(3).toString('hex')}`;
}

/** Whether a marker belongs to no running scan (its process is gone, or it is this process and the run ended). */
function isStale(marker: ScanMarker): boolean {
  if (marker.pid === process.pid && marker.host === hostname()) return !liveRuns.has(marker.id);
  return ownerIsDead({ pid: marker.pid, host: marker.host, since: marker.startedAt });
}

/** Removes temporary files no live run owns: spool folders and unfinished manifests. */
async function removeLeftovers(stateDir: string): Promise<void> {
  const tmp = path.join(stateDir, 'tmp');
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const match = /^scan-(\d+)-(.+)$/.exec(name);
    if (!match) continue;
    const [, pid, id] = match;
    const mine = Number(pid) === process.pid;
    if (
      (mine && !liveRuns.has(id!)) ||
      (!mine && ownerIsDead({ pid: Number(pid), host: hostname(), since: '' }))
    ) {
      await rm(path.join(tmp, name), { recursive: true, force: true });
    }
  }
  await removeDeadManifestTemps(stateDir);
}

/**
 * Starts a run: records runs that died as aborted, decides which to continue, removes their
 * leftovers, writes this run's marker. The caller holds the state lock (or is the daemon).
 */
async function beginRun(
  stateDir: string,
  ledger: LedgerStore,
  sets: readonly SetPolicy[],
  options: ScanRunOptions,
): Promise<RunContext> {
  const now = Date.now();
  const resuming = new Map<string, string>();
  for (const stale of (await listScanMarkers(stateDir)).filter(isStale)) {
    const names = Object.keys(stale.sets);
    if (!names.some((name) => sets.some((set) => set.name === name))) continue;
    if (stale.status === 'running') {
      await ledger.append('scan-aborted', {
        runId: stale.id,
        startedAt: stale.startedAt,
        pid: stale.pid,
        host: stale.host,
        sets: names,
        ...(stale.current ? { reading: stale.current } : {}),
        detail: `process ${stale.pid} on ${stale.host} ended without finishing the scan${stale.current ? ` while reading ${stale.current.set}/${stale.current.snapshot}` : ''}; nothing it was reading was recorded`,
      });
    }
    if (!options.fresh && now - Date.parse(stale.startedAt) < RESUME_WINDOW_MS) {
      for (const [name, runId] of Object.entries(stale.sets))
        if (!resuming.has(name)) resuming.set(name, runId);
    }
    await clearScanMarker(stateDir, stale.id);
  }
  await removeLeftovers(stateDir);
  const id = newRunId();
  liveRuns.add(id);
  const runIds = new Map(sets.map((set) => [set.name, resuming.get(set.name) ?? id]));
  const marker: ScanMarker = {
    id,
    pid: process.pid,
    host: hostname(),
    startedAt: new Date(now).toISOString(),
    sets: Object.fromEntries(runIds),
    status: 'running',
  };
  await writeScanMarker(stateDir, marker);
  const tempDir = path.join(stateDir, 'tmp', `scan-${process.pid}-${id}`);
  await mkdir(tempDir, { recursive: true });
  return { marker, runIds, resuming, tempDir };
}

/** Ends a run: an interrupted run keeps its marker (the next run continues it), a finished one removes it. */
async function endRun(stateDir: string, run: RunContext, interrupted: boolean): Promise<void> {
  liveRuns.delete(run.marker.id);
  await rm(run.tempDir, { recursive: true, force: true }).catch(() => undefined);
  if (interrupted) {
    const { current: _current, ...rest } = run.marker;
    await writeScanMarker(stateDir, { ...rest, status: 'interrupted' });
  } else {
    await clearScanMarker(stateDir, run.marker.id);
  }
}

/** Scans one set, audits it when the policy asks, and records its outcome (the caller holds the lock). */
async function scanAndAudit(
  policy: Policy,
  set: SetPolicy,
  ledger: LedgerStore,
  options: ScanRunOptions,
  copies: ReadonlySet<string>,
  run: RunContext,
  acceptances: AcceptanceIndex,
): Promise<SetReport> {
  const makeSource = options.createSource ?? ((s: SetPolicy) => createSource(s.source, { set: s.name }));
  const resumingRun = run.resuming.get(set.name);
  const started = performance.now();
  const report = await scanSet(set, {
    stateDir: options.stateDir,
    ledger,
    acceptances: acceptancesOf(acceptances, set.name),
    createSource: makeSource,
    tempDir: run.tempDir,
    progress: options.progress ?? silentProgress,
    runId: run.runIds.get(set.name)!,
    ...(resumingRun ? { resumingRun } : {}),
    beforeDeepRead: async (name, snapshot) => {
      run.marker.current = { set: name, snapshot, since: now().toISOString() };
      await writeScanMarker(options.stateDir, run.marker);
    },
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.retryDelays ? { retryDelays: options.retryDelays } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  if (resumingRun)
    report.notes.push(
      `continued the interrupted scan run ${resumingRun}: snapshots it had read were not read again`,
    );
  if (!report.interrupted && needsAudit(set, copies)) {
    options.progress?.status(`${set.name}: immutability audit`);
    const audit = await auditSet(set, {
      stateDir: options.stateDir,
      createSource: makeSource,
      ...options.audit,
    });
    await recordAudit(options.stateDir, ledger, audit);
    report.immutability = audit;
  }
  if (!report.interrupted) {
    const faults = report.snapshots.reduce(
      (sum, snapshot) => ({
        transient: sum.transient + (snapshot.faults?.transient ?? 0),
        gaveUp: sum.gaveUp + (snapshot.faults?.gaveUp ?? 0),
      }),
      { transient: 0, gaveUp: 0 },
    );
    await recordScanOutcome(options.stateDir, set.name, {
      finishedAt: now().toISOString(),
      error: report.error ?? null,
      scannedBytes: scannedBytes(report),
      faults,
      ...(report.error ? {} : { snapshotsFound: report.snapshots.length }),
      durationSeconds: (performance.now() - started) / 1000,
    });
  }
  return report;
}

/**
 * Scans `sets` of `policy` with an open ledger; the caller holds the state lock. The CLI's
 * `runScan` and the daemon's scan jobs both come through here, so this is where the heap is kept
 * compact for the whole run (heap-growth.ts): the scan's garbage must not set its peak memory.
 */
export async function scanWithLedger(
  policy: Policy,
  ledger: LedgerStore,
  options: ScanRunOptions,
): Promise<ScanReport> {
  const releaseHeap = holdCompactHeap();
  try {
    return await scanSetsWithLedger(policy, ledger, options);
  } finally {
    releaseHeap();
  }
}

async function scanSetsWithLedger(
  policy: Policy,
  ledger: LedgerStore,
  options: ScanRunOptions,
): Promise<ScanReport> {
  const sets = selectSets(policy, options.sets);
  const copies = new Set(policy.datasets.flatMap((dataset) => dataset.copies));
  configureAnalysisPool(policy.concurrency.workers);
  // The first set's listing worker boots while the run is set up.
  if (sets[0]?.source.kind === 'fs') prestartListingWorker();
  const startedAt = now().toISOString();
  const run = await beginRun(options.stateDir, ledger, sets, options);
  // Acceptances are read once per run, brought up to date with the ledger (we hold the lock).
  const acceptances = await syncAcceptanceIndex(options.stateDir, { persist: true });
  const reports: SetReport[] = new Array(sets.length);
  let interrupted = false;
  try {
    let next = 0;
    const worker = async () => {
      while (next < sets.length && !options.signal?.aborted) {
        const index = next++;
        reports[index] = await scanAndAudit(policy, sets[index]!, ledger, options, copies, run, acceptances);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency ?? policy.concurrency.sets, sets.length) }, worker),
    );
  } finally {
    interrupted =
      reports.filter(Boolean).length < sets.length || reports.some((report) => report?.interrupted);
    await endRun(options.stateDir, run, interrupted);
  }
  const done = reports.filter(Boolean);
  const finishedAt = now().toISOString();
  await ledger.append('scan-run', {
    runId: run.marker.id,
    requestedBy: options.requestedBy ?? { trigger: 'cli' },
    ...(run.resuming.size ? { continues: Object.fromEntries(run.resuming) } : {}),
    sets: done.map((report) => ({
      name: report.name,
      lastClean: report.lastClean,
      snapshots: report.snapshots.length,
      verdicts: report.snapshots.reduce<Record<string, number>>((counts, snapshot) => {
        counts[snapshot.verdict] = (counts[snapshot.verdict] ?? 0) + 1;
        return counts;
      }, {}),
      ...(report.error ? { error: report.error } : {}),
      ...(report.immutability ? { immutabilityOk: report.immutability.ok } : {}),
    })),
    ...(interrupted ? { interrupted: true } : {}),
    startedAt,
    finishedAt,
  });
  const scanned = new Set(done.map((report) => report.name));
  const relevant = policy.datasets.filter((dataset) => dataset.copies.some((copy) => scanned.has(copy)));
  const datasets = relevant.length
    ? await datasetsOf({ ...policy, datasets: relevant }, options.stateDir)
    : undefined;
  return {
    sets: done,
    ...(datasets ? { datasets } : {}),
    ...(interrupted ? { interrupted } : {}),
    startedAt,
    finishedAt,
  };
}

async function datasetsOf(policy: Policy, stateDir: string): Promise<DatasetRuleReport[]> {
  const names = new Set(policy.datasets.flatMap((dataset) => dataset.copies));
  const states = new Map(
    await Promise.all([...names].map(async (name) => [name, await loadSetState(stateDir, name)] as const)),
  );
  return datasetReports(policy, states);
}

/** Runs a scan; the report says what was found, exceptions only mean the state could not be used. */
export async function runScan(policy: Policy, options: ScanRunOptions): Promise<ScanReport> {
  selectSets(policy, options.sets);
  await mkdir(options.stateDir, { recursive: true });
  const lock = await acquireStateLock(options.stateDir);
  const ledger = await openLedger(options.stateDir, anchorOptions(policy.evidence?.anchor)).catch(
    async (error) => {
      await lock.release();
      throw error;
    },
  );
  try {
    return await scanWithLedger(policy, ledger, options);
  } finally {
    (options.progress ?? silentProgress).stop();
    await ledger.close();
    await lock.release();
  }
}
