/**
 * What a drill reports beyond the DrillResult kept in the per-set index: every verifier's
 * outcome, how the restore went, and notes. The ledger's `drill` record holds the whole report;
 * `vouch drill --json` prints it.
 */
import type { RequestedBy } from '../state/requested-by.js';
import type { DrillResult } from '../state/drill-index.js';
import type { VerifierOutcome } from './verifiers/verifier.js';

/** A drill's full report. */
export interface DrillReport extends DrillResult {
  /** Why this snapshot (or why none). */
  pickReason: string;
  verifiers: VerifierOutcome[];
  restore: {
    complete: boolean;
    /** Entries and bytes the snapshot holds. */
    entries: number;
    bytes: number;
    /** Unsafe or unreadable entries found while restoring. */
    problems: number;
    /** Links recorded, never created; hardlinks restored as copies of their target. */
    symlinks: number;
    hardlinksCopied: number;
    /** The archive object's digest as read, when read sequentially. */
    objectDigest: string | null;
  } | null;
  sandbox: 'bwrap' | 'none' | null;
  rpoTargetSeconds: number | null;
  notes: string[];
  /** Who asked for it: the command line, the daemon's schedule, or an API caller. */
  requestedBy?: RequestedBy;
}

const RESULT_KEYS: readonly (keyof DrillResult)[] = [
  'id', 'set', 'snapshot', 'snapshotTime', 'pick', 'startedAt', 'finishedAt', 'outcome', 'phases', 'durationSeconds',
  'rtoTargetSeconds', 'withinRto', 'sample', 'projectedFullRestoreSeconds', 'failures', 'ledgerSeq',
];

/** The DrillResult part of a report (what the per-set index keeps). */
export function toDrillResult(report: DrillResult): DrillResult {
  const out: Partial<Record<keyof DrillResult, unknown>> = {};
  for (const key of RESULT_KEYS) if (report[key] !== undefined) out[key] = report[key];
  return out as DrillResult;
}
