/**
 * What vouch knows of each snapshot of a set, as persisted in `sets/<set>.json` (state/set-index.ts
 * owns the file). Types only.
 */
import type { DetectionSummary } from './detection.js';
import type { Finding, FindingKind } from './findings.js';
import type { ObjectIdentity } from './manifest.js';
import type { Verdict } from './verdict.js';

/** Latest known state of one snapshot. */
export interface SnapshotState {
  id: string;
  time: string;
  /** The verdict from the findings that count (accepted findings do not). */
  verdict: Verdict;
  /** The scan's own verdict, present while accepted findings changed what counts (verdicts/acceptance.ts). */
  verdictBeforeAcceptance?: Verdict;
  /** False when the last scan did not read everything. */
  complete: boolean;
  entries: number;
  bytes: number;
  /** Up to MAX_STORED_FINDINGS findings; `findingCounts` counts them all. Accepted ones carry `accepted`. */
  findings: Finding[];
  findingCounts: Partial<Record<FindingKind, number>>;
  /** Of `findingCounts`, the findings accepted as known and harmless (absent: none). */
  acceptedCounts?: Partial<Record<FindingKind, number>>;
  /** Archive layout: the object as last seen. */
  object?: ObjectIdentity;
  /** Directory layout: member count and bytes as last listed, for the cheap pass. */
  listing?: { objects: number; bytes: number; fingerprint: string };
  lastScan: string;
  lastDeepScan?: string;
  /** When a scan last read it completely (kept when a later read was not complete). */
  lastVerified?: string;
  /**
   * The baseline manifest: its hash, entries, when it was taken, and (archive snapshots on a store
   * that keeps versions) the VersionId of the object it was taken from — what `ID@VERSION` reads
   * back when the object is overwritten later.
   */
  baseline?: { sha256: string; entries: number; createdAt: string; versionId?: string };
  /** Detection's counts from the last deep read (encrypted files, renames, change rate). */
  detection?: DetectionSummary;
  /**
   * When a scan first found this snapshot not clean (it was clean before, or new): the start of
   * the current stretch of not being clean; absent while clean. What "a new compromise" alerts on.
   */
  notCleanSince?: string;
  /** Ledger seq of the record that holds this result. */
  ledgerSeq?: number;
  /** The scan run that produced this result (an interrupted run resumes by it). */
  runId?: string;
  /** What the store did during the last deep read: retried and resumed faults, reads given up. */
  faults?: { transient: number; resumed: number; gaveUp: number; examples: string[] };
}

/** A set's index. */
export interface SetIndex {
  set: string;
  updatedAt: string;
  snapshots: Record<string, SnapshotState>;
  /**
   * Findings about the set rather than one snapshot's content (e.g. a baselined snapshot that
   * left the store), written by scans. Accepted like snapshot findings, with `snapshot: null`
   * (verdicts/acceptance.ts); they stay until accepted.
   */
  setFindings?: Finding[];
}
