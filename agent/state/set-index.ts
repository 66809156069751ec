/**
 * Per-set index of the latest result for each snapshot: `sets/SET.json`. A cache of what the
 * ledger records, rewritten atomically after each snapshot so `last-clean`, metrics and the API
 * answer without replaying the ledger.
 */
import path from 'node:path';
import type { DetectionSummary } from '../detection/snapshot-detection.js';
import type { ObjectIdentity } from '../integrity/manifest.js';
import type { Finding, FindingKind } from '../verdicts/findings.js';
import type { Verdict } from '../verdicts/snapshot-verdict.js';
import { writeFileAtomic } from './atomic-write.js';
import { readJsonFile } from './json-file.js';

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

/** Findings kept per snapshot in the index and ledger; the rest are counted. */
export const MAX_STORED_FINDINGS = 1000;

/** Findings counted but not listed: the index keeps only the first MAX_STORED_FINDINGS of a snapshot. */
export function unlistedFindings(snapshot: { findings: readonly Finding[]; findingCounts: Partial<Record<FindingKind, number>> }): number {
  const total = Object.values(snapshot.findingCounts).reduce((sum, count) => sum + (count ?? 0), 0);
  return Math.max(0, total - snapshot.findings.length);
}

function indexPath(stateDir: string, set: string): string {
  return path.join(stateDir, 'sets', `${set}.json`);
}

/** Reads a set's index (empty when the set was never scanned). */
export async function readSetIndex(stateDir: string, set: string): Promise<SetIndex> {
  return readJsonFile<SetIndex>(indexPath(stateDir, set), () => ({ set, updatedAt: new Date(0).toISOString(), snapshots: {} }), `state index for set ${set}`, (value) =>
    value.snapshots && typeof value.snapshots === 'object' && !Array.isArray(value.snapshots) ? null : 'it has no "snapshots" object',
  );
}

/** The object key each archive snapshot was last read from, by id (discovery keeps these ids when names collide). */
export function snapshotOwners(index: SetIndex): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [id, state] of Object.entries(index.snapshots)) if (state.object?.key) owners.set(id, state.object.key);
  return owners;
}

/** Atomically writes a set's index. */
export async function writeSetIndex(stateDir: string, index: SetIndex): Promise<void> {
  await writeFileAtomic(indexPath(stateDir, index.set), `${JSON.stringify(index, null, 1)}\n`);
}
