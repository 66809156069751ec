/**
 * Last-clean selection and the recovery lead's answer: which snapshot to restore, which one is
 * proven restorable, and why every newer snapshot was rejected. Pure functions.
 */
import { acceptedBy, countingCounts, countingFindings } from './acceptance.js';
import type { AcceptanceMark, Finding, FindingKind } from './findings.js';
import type { Verdict } from './snapshot-verdict.js';

/** The newest snapshot whose verdict is clean, or null. */
export function lastCleanSnapshot<T extends { time: string; verdict: Verdict }>(snapshots: readonly T[]): T | null {
  let best: T | null = null;
  for (const snapshot of snapshots) {
    if (snapshot.verdict !== 'clean') continue;
    if (!best || Date.parse(snapshot.time) >= Date.parse(best.time)) best = snapshot;
  }
  return best;
}

/** What last-clean needs of a snapshot's state. */
export interface SnapshotFacts {
  id: string;
  time: string;
  verdict: Verdict;
  complete: boolean;
  findings: Finding[];
  findingCounts: Partial<Record<FindingKind, number>>;
  /** Of `findingCounts`, the accepted findings (they do not count). */
  acceptedCounts?: Partial<Record<FindingKind, number>>;
  verdictBeforeAcceptance?: Verdict;
}

/** What last-clean needs of a drill. */
export interface DrillFacts {
  snapshot: string | null;
  outcome: 'passed' | 'failed' | 'aborted';
  finishedAt: string;
}

/** One kind of finding that disqualified a snapshot, with examples. */
export interface RejectionReason {
  kind: FindingKind;
  count: number;
  examples: { path: string; detail: string }[];
}

/** A snapshot newer than the last clean one, and why it is not used. */
export interface RejectedSnapshot {
  id: string;
  time: string;
  verdict: Verdict;
  reasons: RejectionReason[];
}

/** A snapshot with accepted findings: they do not count, but the recovery lead sees them and who accepted them. */
export interface AcceptedFindings {
  id: string;
  time: string;
  verdict: Verdict;
  /** The scan's own verdict, when accepting changed it. */
  verdictBeforeAcceptance: Verdict;
  /** Accepted findings, by kind. */
  counts: Partial<Record<FindingKind, number>>;
  acceptances: (AcceptanceMark & { findings: number })[];
}

/** The answer to "which snapshot do we restore?". */
export interface LastCleanReport {
  lastClean: { id: string; time: string } | null;
  /** Newest clean snapshot whose latest drill passed. */
  lastRestorable: { id: string; time: string; drilledAt: string } | null;
  /** Every snapshot newer than the last clean one (all of them when none is clean), newest first. */
  rejected: RejectedSnapshot[];
  /** Older snapshots that are not clean either (e.g. rewritten after a newer clean one was taken). */
  olderNotClean: { id: string; time: string; verdict: Verdict }[];
  /** Snapshots with accepted findings (known and harmless, not counted), newest first. */
  accepted: AcceptedFindings[];
}

/** Worst kinds first: what a recovery lead must read first. */
const KIND_ORDER: readonly FindingKind[] = [
  'ransom-note',
  'encrypted',
  'corrupted',
  'drift-modified',
  'drift-truncated',
  'drift-missing',
  'drift-added',
  'drift-object-changed',
  'sums-mismatch',
  'mass-change',
  'extension-change',
  'magic-mismatch',
  'structure-invalid',
  'immutability',
  'unsafe-entry',
  'read-error',
];

const EXAMPLES = 3;

/** Findings that count grouped by kind, worst first, with counts and a few examples. */
export function rejectionReasons(snapshot: SnapshotFacts): RejectionReason[] {
  const reasons: RejectionReason[] = [];
  const counts = countingCounts(snapshot);
  const findings = countingFindings(snapshot.findings);
  for (const kind of KIND_ORDER) {
    const count = counts[kind] ?? 0;
    if (count === 0) continue;
    const examples = findings.filter((finding) => finding.kind === kind).slice(0, EXAMPLES).map(({ path, detail }) => ({ path, detail }));
    reasons.push({ kind, count, examples });
  }
  if (!snapshot.complete && !reasons.some((reason) => reason.kind === 'read-error')) {
    reasons.push({ kind: 'read-error', count: 1, examples: [{ path: '', detail: 'the snapshot was not read completely' }] });
  }
  return reasons;
}

/** Snapshots with accepted findings, newest first (`snapshots` in any order). */
export function acceptedFindings(snapshots: readonly SnapshotFacts[]): AcceptedFindings[] {
  return snapshots
    .filter((snapshot) => snapshot.acceptedCounts)
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
    .map((snapshot) => ({
      id: snapshot.id,
      time: snapshot.time,
      verdict: snapshot.verdict,
      verdictBeforeAcceptance: snapshot.verdictBeforeAcceptance ?? snapshot.verdict,
      counts: snapshot.acceptedCounts!,
      acceptances: acceptedBy(snapshot.findings).map(({ acceptance, findings }) => ({ ...acceptance, findings })),
    }));
}

/** Builds the last-clean report from a set's snapshots and drills (any order). */
export function lastCleanReport(snapshots: readonly SnapshotFacts[], drills: readonly DrillFacts[]): LastCleanReport {
  const byTime = [...snapshots].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const clean = lastCleanSnapshot(byTime);
  const cutoff = clean ? Date.parse(clean.time) : -Infinity;
  const latestDrill = new Map<string, DrillFacts>();
  for (const drill of [...drills].sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt))) {
    if (drill.snapshot && drill.outcome !== 'aborted') latestDrill.set(drill.snapshot, drill);
  }
  const restorable = byTime.find((snapshot) => snapshot.verdict === 'clean' && latestDrill.get(snapshot.id)?.outcome === 'passed');
  return {
    lastClean: clean ? { id: clean.id, time: clean.time } : null,
    lastRestorable: restorable ? { id: restorable.id, time: restorable.time, drilledAt: latestDrill.get(restorable.id)!.finishedAt } : null,
    rejected: byTime
      .filter((snapshot) => Date.parse(snapshot.time) > cutoff && snapshot.verdict !== 'clean')
      .map((snapshot) => ({ id: snapshot.id, time: snapshot.time, verdict: snapshot.verdict, reasons: rejectionReasons(snapshot) })),
    olderNotClean: byTime
      .filter((snapshot) => Date.parse(snapshot.time) < cutoff && snapshot.verdict !== 'clean')
      .map(({ id, time, verdict }) => ({ id, time, verdict })),
    accepted: acceptedFindings(byTime),
  };
}
