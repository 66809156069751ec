/**
 * Per-set record of drill results: `drills/SET.json`, a cache of the ledger's drill records,
 * rewritten atomically after every drill so `last-clean`, metrics and the API answer without
 * replaying the ledger.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Seconds spent in each drill phase (0 when a phase did not run). */
export interface DrillPhaseSeconds {
  fetch: number;
  extract: number;
  verify: number;
  app: number;
}

/** One drill's result. */
export interface DrillResult {
  id: string;
  set: string;
  /** Null when no snapshot could be picked. */
  snapshot: string | null;
  snapshotTime: string | null;
  pick: 'latest' | 'last-clean' | 'random' | 'explicit';
  startedAt: string;
  finishedAt: string;
  outcome: 'passed' | 'failed' | 'aborted';
  phases: DrillPhaseSeconds;
  durationSeconds: number;
  rtoTargetSeconds: number | null;
  /** Null when there is no RTO target. */
  withinRto: boolean | null;
  sample: { fraction: number; entries: number; bytes: number };
  /** Projected from measured throughput when only a sample was drilled. */
  projectedFullRestoreSeconds: number | null;
  failures: { verifier: string; path?: string; detail: string }[];
  ledgerSeq?: number;
}

/** A set's drill results, oldest first (at most 200). */
export interface DrillIndex {
  set: string;
  updatedAt: string;
  drills: DrillResult[];
}

function indexPath(stateDir: string, set: string): string {
  return path.join(stateDir, 'drills', `${set}.json`);
}

/** Reads a set's drill results (empty when the set was never drilled). */
export async function readDrillIndex(stateDir: string, set: string): Promise<DrillIndex> {
  try {
    return JSON.parse(await readFile(indexPath(stateDir, set), 'utf8')) as DrillIndex;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { set, updatedAt: new Date(0).toISOString(), drills: [] };
    throw new Error(`drill results for set ${set} are unreadable`, { cause: error });
  }
}
