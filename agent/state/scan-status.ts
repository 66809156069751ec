/**
 * Per-set scan outcomes: `scans/SET.json`, rewritten atomically after each scan of the set. It
 * holds what the set index cannot: when the last scan succeeded or failed, why, and the
 * cumulative bytes verified, so metrics survive a restart of the agent.
 */
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { readJsonFile } from '../fs/json-file.js';

/** A set's scan history summary. */
export interface ScanStatus {
  set: string;
  /** ISO-8601 end of the last scan that listed and read the set without a store error. */
  lastSuccess: string | null;
  /** ISO-8601 end of the last scan attempt. */
  lastAttempt: string | null;
  /** The last attempt's error, null when it succeeded. */
  lastError: string | null;
  /** Scans that finished (success or not) and scans that failed. */
  runs: number;
  failures: number;
  /** Entry bytes read and hashed by deep reads, over the life of the state directory. */
  scannedBytesTotal: number;
  /** Store faults that were retried or resumed (the read went on), over the life of the state directory. */
  transientFaultsTotal?: number;
  /** Reads of the store that were given up (after retries, or at once for permanent errors). */
  readFailuresTotal?: number;
  /** Snapshots the last successful listing found (0: a `no-snapshots` finding). */
  snapshotsFound?: number;
  /** How long scans of the set took (every finished attempt), cumulative over the life of the state directory. */
  durations?: DurationHistogram;
}

/** Upper bounds (seconds) of the scan-duration histogram's buckets; `+Inf` is implied. */
export const SCAN_DURATION_BUCKETS: readonly number[] = [
  1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400,
];

/** A cumulative histogram as Prometheus exposes it: `counts[i]` scans took at most SCAN_DURATION_BUCKETS[i] seconds. */
export interface DurationHistogram {
  counts: number[];
  count: number;
  sum: number;
}

/** `histogram` with one more observation of `seconds` (pure; a missing histogram starts empty). */
export function observeDuration(
  histogram: DurationHistogram | undefined,
  seconds: number,
): DurationHistogram {
  const counts = SCAN_DURATION_BUCKETS.map(
    (bound, i) => (histogram?.counts[i] ?? 0) + (seconds <= bound ? 1 : 0),
  );
  return { counts, count: (histogram?.count ?? 0) + 1, sum: (histogram?.sum ?? 0) + seconds };
}

function statusPath(stateDir: string, set: string): string {
  return path.join(stateDir, 'scans', `${set}.json`);
}

/** Reads a set's scan status (zeros when the set was never scanned). */
export async function readScanStatus(stateDir: string, set: string): Promise<ScanStatus> {
  return readJsonFile<ScanStatus>(
    statusPath(stateDir, set),
    () => ({
      set,
      lastSuccess: null,
      lastAttempt: null,
      lastError: null,
      runs: 0,
      failures: 0,
      scannedBytesTotal: 0,
    }),
    `scan status for set ${set}`,
  );
}

/** The outcome of one scan of a set. */
export interface ScanOutcome {
  finishedAt: string;
  error: string | null;
  scannedBytes: number;
  /** Store faults during the scan. */
  faults?: { transient: number; gaveUp: number };
  /** Snapshots the listing found, when it succeeded. */
  snapshotsFound?: number;
  /** Wall time of the scan of the set (listing, reads, audit). */
  durationSeconds?: number;
}

/** Folds one scan outcome into the stored status (the caller holds the state lock). */
export async function recordScanOutcome(
  stateDir: string,
  set: string,
  outcome: ScanOutcome,
): Promise<ScanStatus> {
  const previous = await readScanStatus(stateDir, set);
  const next: ScanStatus = {
    set,
    lastSuccess: outcome.error === null ? outcome.finishedAt : previous.lastSuccess,
    lastAttempt: outcome.finishedAt,
    lastError: outcome.error,
    runs: previous.runs + 1,
    failures: previous.failures + (outcome.error === null ? 0 : 1),
    scannedBytesTotal: previous.scannedBytesTotal + outcome.scannedBytes,
    transientFaultsTotal: (previous.transientFaultsTotal ?? 0) + (outcome.faults?.transient ?? 0),
    readFailuresTotal: (previous.readFailuresTotal ?? 0) + (outcome.faults?.gaveUp ?? 0),
    ...(outcome.snapshotsFound !== undefined
      ? { snapshotsFound: outcome.snapshotsFound }
      : previous.snapshotsFound !== undefined
        ? { snapshotsFound: previous.snapshotsFound }
        : {}),
    ...(outcome.durationSeconds !== undefined
      ? { durations: observeDuration(previous.durations, outcome.durationSeconds) }
      : previous.durations
        ? { durations: previous.durations }
        : {}),
  };
  await writeFileAtomic(statusPath(stateDir, set), `${JSON.stringify(next, null, 1)}\n`);
  return next;
}
