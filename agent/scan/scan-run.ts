/** One `vouch scan`: takes the state lock, scans the chosen sets, records the run in the ledger. */
import { mkdir } from 'node:fs/promises';
import type { Policy, SetPolicy } from '../config/resolve-policy.js';
import { ConfigError } from '../errors.js';
import type { BackupSource } from '../sources/backup-source.js';
import { createSource } from '../sources/create-source.js';
import { openLedger } from '../state/ledger-store.js';
import { acquireStateLock } from '../state/state-lock.js';
import { silentProgress, type ScanProgress } from './progress.js';
import { scanSet, type SetReport } from './scan-set.js';

/** The `vouch scan --json` document. */
export interface ScanReport {
  sets: SetReport[];
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

/** Runs a scan; the report says what was found, exceptions only mean the state could not be used. */
export async function runScan(policy: Policy, options: ScanRunOptions): Promise<ScanReport> {
  const sets = selectSets(policy, options.sets);
  const progress = options.progress ?? silentProgress;
  await mkdir(options.stateDir, { recursive: true });
  const lock = await acquireStateLock(options.stateDir);
  const ledger = await openLedger(options.stateDir).catch(async (error) => {
    await lock.release();
    throw error;
  });
  const startedAt = new Date().toISOString();
  const reports: SetReport[] = new Array(sets.length);
  try {
    let next = 0;
    const worker = async () => {
      while (next < sets.length) {
        const index = next++;
        reports[index] = await scanSet(sets[index]!, {
          stateDir: options.stateDir,
          ledger,
          createSource: options.createSource ?? ((set) => createSource(set.source)),
          progress,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 2, sets.length) }, worker));
    const finishedAt = new Date().toISOString();
    await ledger.append('scan-run', {
      sets: reports.map((report) => ({
        name: report.name,
        lastClean: report.lastClean,
        snapshots: report.snapshots.length,
        verdicts: report.snapshots.reduce<Record<string, number>>((counts, snapshot) => {
          counts[snapshot.verdict] = (counts[snapshot.verdict] ?? 0) + 1;
          return counts;
        }, {}),
        ...(report.error ? { error: report.error } : {}),
      })),
      startedAt,
      finishedAt,
    });
    return { sets: reports, startedAt, finishedAt };
  } finally {
    progress.stop();
    await ledger.close();
    await lock.release();
  }
}
