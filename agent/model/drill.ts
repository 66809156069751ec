/**
 * A drill's result and report as stored: `drills/<set>.json` (state/drill-index.ts) holds results, `drills/<set>/<id>.json` the full reports (drills/record-drill.ts).
 * Types only (model/ imports nothing else of vouch).
 */
import type { FindingKind } from './findings.js';
import type { RequestedBy } from './requested-by.js';
import type { Verdict } from './verdict.js';

/** Seconds per drill phase (0 when a phase did not run). */
export interface DrillPhaseSeconds {
  fetch: number;
  extract: number;
  verify: number;
  app: number;
}

/** One drill's outcome. */
export interface DrillResult {
  id: string; // unique drill id, e.g. `orders-20261124T223000Z-1a2b`
  set: string;
  snapshot: string | null; // null when no snapshot could be picked
  snapshotTime: string | null; // ISO-8601
  snapshotVersion?: string; // `--snapshot ID@VERSION`: the archive version drilled (not the current object)
  pick: 'latest' | 'last-clean' | 'random' | 'explicit';
  startedAt: string; // ISO-8601
  finishedAt: string; // ISO-8601
  outcome: 'passed' | 'failed' | 'aborted';
  phases: DrillPhaseSeconds; // seconds per phase (0 when a phase did not run)
  durationSeconds: number; // wall time of the whole drill
  rtoTargetSeconds: number | null;
  withinRto: boolean | null; // null when no RTO target
  sample: { fraction: number; entries: number; bytes: number };
  projectedFullRestoreSeconds: number | null; // from measured throughput when sampled
  failures: { verifier: string; path?: string; detail: string }[];
  ledgerSeq?: number;
}

/** A set's recent drills. */
export interface DrillIndex {
  set: string;
  updatedAt: string;
  drills: DrillResult[]; /* oldest first, at most 200 */
}

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
  /**
   * Present when the drilled snapshot is not clean by its scan (or was never scanned): what the
   * report and record say first, and the restored files detection judged encrypted or damaged
   * (the verify phase's list). A drill proves a restore works; it does not make the content good.
   */
  snapshotJudgement?: SnapshotJudgement;
}

/** What the scan said of a drilled snapshot that is not clean. */
export interface SnapshotJudgement {
  /** The scan's verdict, or null when the snapshot was never scanned. */
  verdict: Verdict | null;
  warning: string;
  /** Findings that count on restored files (encrypted, damaged, ransom notes, drift; a file may have several), first 200. */
  hitFiles: { path: string; kind: FindingKind; detail: string }[];
  hitFilesOmitted: number;
}

/** One thing a verifier found wrong. */
export interface VerifierFailure {
  /** Restored path, assertion name or command the failure is about. */
  path?: string;
  detail: string;
}

/** What a verifier concluded. */
export interface VerifierReport {
  status: 'passed' | 'failed' | 'skipped';
  /** One line: what was checked (or why nothing was). */
  detail: string;
  failures: VerifierFailure[];
  /** Failures not listed in full. */
  failuresOmitted?: number;
  /** SQL assertions run (postgres, sqlite): each with the value the query returned, for the record and the auditor report. */
  assertions?: AssertionOutcome[];
}

/** One SQL assertion as a drill ran it. */
export interface AssertionOutcome {
  /** The restored file it ran against. */
  file: string;
  name: string;
  sql: string;
  /** What the query returned (first value, at most MAX_ASSERTION_VALUE characters); null when it failed or returned NULL. */
  value: string | null;
  ok: boolean;
  /** Why it failed (unmet expectation, or the query's error). */
  detail?: string;
}

/** A verifier's report as the drill records it. */
export interface VerifierOutcome extends VerifierReport {
  verifier: string;
  phase: 'verify' | 'app';
  seconds: number;
}
