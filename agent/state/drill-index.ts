/**
 * Restore-drill results on disk: `drills/SET.json`, a cache of the ledger's `drill` records,
 * rewritten atomically after every drill by the drill runner. Metrics, readiness and the API read
 * it; this module only reads (the shape is the contract between the drill and daemon work).
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

/** One restore drill's outcome. */
export interface DrillResult {
  /** Unique drill id, e.g. `orders-20261124T223000Z-1a2b`. */
  id: string;
  set: string;
  /** Null when no snapshot could be picked. */
  snapshot: string | null;
  /** ISO-8601. */
  snapshotTime: string | null;
  pick: 'latest' | 'last-clean' | 'random' | 'explicit';
  /** ISO-8601. */
  startedAt: string;
  /** ISO-8601. */
  finishedAt: string;
  outcome: 'passed' | 'failed' | 'aborted';
  phases: DrillPhaseSeconds;
  /** Wall time of the whole drill. */
  durationSeconds: number;
  rtoTargetSeconds: number | null;
  /** Null when there is no RTO target. */
  withinRto: boolean | null;
  sample: { fraction: number; entries: number; bytes: number };
  /** From measured throughput when only a sample was restored. */
  projectedFullRestoreSeconds: number | null;
  failures: { verifier: string; path?: string; detail: string }[];
  ledgerSeq?: number;
}

/** A set's drill results, oldest first, at most 200. */
export interface DrillIndex {
  set: string;
  updatedAt: string;
  drills: DrillResult[];
}

/** Reads a set's drill index; an empty index when the set was never drilled. */
export async function readDrillIndex(stateDir: string, set: string): Promise<DrillIndex> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, 'drills', `${set}.json`), 'utf8')) as DrillIndex;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { set, updatedAt: new Date(0).toISOString(), drills: [] };
    throw new Error(`drill index for set ${set} is unreadable`, { cause: error });
  }
}
