/**
 * One `vouch scan`: takes the state lock, scans the chosen sets, audits their immutability,
 * records the run in the ledger. The daemon, which holds the lock across jobs, calls
 * `scanWithLedger` with its own ledger.
 */
import { mkdir } from 'node:fs/promises';
import type { Policy, SetPolicy } from '../config/resolve-policy.js';
import { ConfigError } from '../errors.js';
import { auditSet, needsAudit, recordAudit, type AuditOptions } from '../immutability/audit-set.js';
import { datasetReports } from '../immutability/dataset-report.js';
import type { DatasetRuleReport } from '../immutability/rule-3-2-1-1-0.js';
import type { BackupSource } from '../sources/backup-source.js';
import { createSource } from '../sources/create-source.js';
import { openLedger, type LedgerStore } from '../state/ledger-store.js';
import { recordScanOutcome } from '../state/scan-status.js';
import { loadSetState } from '../state/set-state.js';
import { acquireStateLock } from '../state/state-lock.js';
import { silentProgress, type ScanProgress } from './progress.js';
import { scanSet, type SetReport } from './scan-set.js';

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
  /** Sets scanned at once. */
  concurrency?: number;
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
    throw new ConfigError(`unknown set${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (policy has: ${[...known.keys()].join(', ')})`);
  }
  return names.map((name) => known.get(name)!);
}

/** Entry bytes a set scan read and hashed (snapshots read in full). */
function scannedBytes(report: SetReport): number {
  return report.snapshots.reduce((sum, snapshot) => sum + (snapshot.deep ? snapshot.bytes : 0), 0);
}

/** Scans one set, audits it when the policy asks, and records its outcome (the caller holds the lock). */
async function scanAndAudit(policy: Policy, set: SetPolicy, ledger: LedgerStore, options: ScanRunOptions, copies: ReadonlySet<string>): Promise<SetReport> {
  const makeSource = options.createSource ?? ((s: SetPolicy) => createSource(s.source));
  const report = await scanSet(set, {
    stateDir: options.stateDir,
    ledger,
    createSource: makeSource,
    progress: options.progress ?? silentProgress,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!report.interrupted && needsAudit(set, copies)) {
    options.progress?.status(`${set.name}: immutability audit`);
    const audit = await auditSet(set, { stateDir: options.stateDir, createSource: makeSource, ...options.audit });
    await recordAudit(options.stateDir, ledger, audit);
    report.immutability = audit;
  }
  if (!report.interrupted) {
    await recordScanOutcome(options.stateDir, set.name, { finishedAt: new Date().toISOString(), error: report.error ?? null, scannedBytes: scannedBytes(report) });
  }
  return report;
}

/** Scans `sets` of `policy` with an open ledger; the caller holds the state lock. */
export async function scanWithLedger(policy: Policy, ledger: LedgerStore, options: ScanRunOptions): Promise<ScanReport> {
  const sets = selectSets(policy, options.sets);
  const copies = new Set(policy.datasets.flatMap((dataset) => dataset.copies));
  const startedAt = new Date().toISOString();
  const reports: SetReport[] = new Array(sets.length);
  let next = 0;
  const worker = async () => {
    while (next < sets.length && !options.signal?.aborted) {
      const index = next++;
      reports[index] = await scanAndAudit(policy, sets[index]!, ledger, options, copies);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 2, sets.length) }, worker));
  const done = reports.filter(Boolean);
  const interrupted = done.length < sets.length || done.some((report) => report.interrupted);
  const finishedAt = new Date().toISOString();
  await ledger.append('scan-run', {
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
  const datasets = relevant.length ? await datasetsOf({ ...policy, datasets: relevant }, options.stateDir) : undefined;
  return { sets: done, ...(datasets ? { datasets } : {}), ...(interrupted ? { interrupted } : {}), startedAt, finishedAt };
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
  const ledger = await openLedger(options.stateDir).catch(async (error) => {
    await lock.release();
    throw error;
  });
  try {
    return await scanWithLedger(policy, ledger, options);
  } finally {
    (options.progress ?? silentProgress).stop();
    await ledger.close();
    await lock.release();
  }
}

