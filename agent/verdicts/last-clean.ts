/**
 * Last-clean selection and the recovery lead's answer: which snapshot to restore, which one is
 * proven restorable, and why every newer snapshot was rejected. Pure functions.
 */
import { acceptedBy, countingCounts, countingFindings } from './acceptance.js';
import type { AcceptanceMark, FindingKind } from '../model/findings.js';
import type { SnapshotState } from '../model/snapshot-state.js';
import type { Verdict } from '../model/verdict.js';
import { futureDated, isFutureDated, type FutureDated } from './future-time.js';

/** The newest snapshot whose verdict is clean, or null. */
export function lastCleanSnapshot<T extends { time: string; verdict: Verdict }>(
  snapshots: readonly T[],
): T | null {
  let best: T | null = null;
  for (const snapshot of snapshots) {
    if (snapshot.verdict !== 'clean') continue;
    if (!best || Date.parse(snapshot.time) >= Date.parse(best.time)) best = snapshot;
  }
  return best;
}

/** What last-clean needs of a snapshot's state. */
export type SnapshotFacts = Pick<
  SnapshotState,
  | 'id'
  | 'time'
  | 'verdict'
  | 'complete'
  | 'findings'
  | 'findingCounts'
  | 'acceptedCounts'
  | 'verdictBeforeAcceptance'
>;

/** What last-clean needs of a drill. */
export interface DrillFacts {
  /** The drill's id (absent in older callers' facts). */
  id?: string;
  snapshot: string | null;
  outcome: 'passed' | 'failed' | 'aborted';
  finishedAt: string;
  /** Set when the drill read an earlier version of the archive (`ID@VERSION`): it says nothing about the current object. */
  snapshotVersion?: string;
  /** Why it failed (the drill record's failures). */
  failures?: { verifier: string; path?: string; detail: string }[];
}

/**
 * Each snapshot's latest drill that ran to an outcome (aborted drills say nothing about the
 * snapshot and are ignored, nor do drills of an earlier version, `ID@VERSION`), by snapshot id. `drills` in any order.
 */
export function latestDrills<T extends DrillFacts>(drills: readonly T[]): Map<string, T> {
  const latest = new Map<string, T>();
  for (const drill of [...drills].sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt))) {
    if (drill.snapshot && drill.outcome !== 'aborted' && drill.snapshotVersion === undefined)
      latest.set(drill.snapshot, drill);
  }
  return latest;
}

/** What a drill proved about a snapshot: its latest drill passed, failed, or none ran. */
export type DrillStanding = 'restorable' | 'drill-failed' | 'not-drilled';

/** The standing of snapshot `id` from its latest drill. */
export function drillStanding(latest: ReadonlyMap<string, DrillFacts>, id: string): DrillStanding {
  const drill = latest.get(id);
  return !drill ? 'not-drilled' : drill.outcome === 'passed' ? 'restorable' : 'drill-failed';
}

/**
 * The failed drill that demotes snapshot `id` — its latest drill that ran to an outcome failed —
 * with one phrase saying so, or null. The one decision shared by last-clean (the snapshot is
 * demoted, not recommended while a better one exists) and recover (no file is taken from it).
 */
export function drillDemotion<T extends DrillFacts>(
  latest: ReadonlyMap<string, T>,
  id: string,
): { drill: T; reason: string } | null {
  const drill = latest.get(id);
  if (!drill || drill.outcome !== 'failed') return null;
  const at = drill.finishedAt.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');
  const first = drill.failures?.[0];
  const what = first ? `: ${first.verifier}${first.path ? ` ${first.path}` : ''}: ${first.detail}` : '';
  return {
    drill,
    reason: `its latest drill failed (drill ${drill.id ?? ''}${drill.id ? ', ' : ''}${at}${what})`,
  };
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

/**
 * The snapshot to restore: the last restorable one; else the newest clean snapshot no drill has
 * tried (`not-drilled`: said loudly — nothing proves it restores); else the newest clean one,
 * whose latest drill failed (`drill-failed`). Null when no snapshot is clean.
 */
export interface Recommendation {
  id: string;
  time: string;
  standing: DrillStanding;
  /** The latest drill of the recommended snapshot, when one ran. */
  drill: { id: string | null; outcome: 'passed' | 'failed'; finishedAt: string } | null;
  /** One sentence for the recovery lead. */
  reason: string;
}

/** A clean snapshot whose latest drill failed: demoted, not recommended while a better one exists. */
export interface DemotedSnapshot {
  id: string;
  time: string;
  drill: { id: string | null; finishedAt: string };
  /** The drill's first failures. */
  failures: { verifier: string; path?: string; detail: string }[];
}

/** The answer to "which snapshot do we restore?". */
export interface LastCleanReport {
  lastClean: { id: string; time: string } | null;
  /** Newest clean snapshot whose latest drill passed. */
  lastRestorable: { id: string; time: string; drilledAt: string } | null;
  /** What to restore (see Recommendation). */
  recommendation: Recommendation | null;
  /** The newest snapshot, and whether it is both clean and restorable (the only state `last-clean` exits 0 in). */
  newest: {
    id: string;
    time: string;
    verdict: Verdict;
    standing: DrillStanding;
    cleanAndRestorable: boolean;
  } | null;
  /** Clean snapshots whose latest drill failed, newest first. */
  demoted: DemotedSnapshot[];
  /** Every snapshot newer than the last clean one (all of them when none is clean), newest first. */
  rejected: RejectedSnapshot[];
  /** Older snapshots that are not clean either (e.g. rewritten after a newer clean one was taken). */
  olderNotClean: { id: string; time: string; verdict: Verdict }[];
  /** Snapshots with accepted findings (known and harmless, not counted), newest first. */
  accepted: AcceptedFindings[];
  /**
   * Snapshots dated more than an hour ahead of the clock (suspicious: not taken yet), newest
   * first; they are left out of every answer above except `newest`, which is then not clean and
   * restorable. Empty when the caller gave no clock.
   */
  futureDated: FutureDated[];
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
    const examples = findings
      .filter((finding) => finding.kind === kind)
      .slice(0, EXAMPLES)
      .map(({ path, detail }) => ({ path, detail }));
    reasons.push({ kind, count, examples });
  }
  if (!snapshot.complete && !reasons.some((reason) => reason.kind === 'read-error')) {
    reasons.push({
      kind: 'read-error',
      count: 1,
      examples: [{ path: '', detail: 'the snapshot was not read completely' }],
    });
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
      acceptances: acceptedBy(snapshot.findings).map(({ acceptance, findings }) => ({
        ...acceptance,
        findings,
      })),
    }));
}

/** Builds the last-clean report from a set's snapshots and drills (any order). */
export function lastCleanReport(
  all: readonly SnapshotFacts[],
  drills: readonly DrillFacts[],
  now?: Date,
): LastCleanReport {
  // A snapshot dated in the future is never fresh: it takes part in no answer but `newest`.
  const future = now ? futureDated(all, now) : [];
  const snapshots = now ? all.filter((snapshot) => !isFutureDated(snapshot.time, now)) : all;
  const newestOfAll = [...all].sort((a, b) => Date.parse(b.time) - Date.parse(a.time))[0];
  const byTime = [...snapshots].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const clean = lastCleanSnapshot(byTime);
  const cutoff = clean ? Date.parse(clean.time) : -Infinity;
  const latestDrill = latestDrills(drills);
  const standing = (id: string) => drillStanding(latestDrill, id);
  const cleanOnes = byTime.filter((snapshot) => snapshot.verdict === 'clean');
  const restorable = cleanOnes.find((snapshot) => standing(snapshot.id) === 'restorable');
  const newest = newestOfAll;
  const isFuture = (id: string) => future.some((entry) => entry.id === id);
  return {
    lastClean: clean ? { id: clean.id, time: clean.time } : null,
    lastRestorable: restorable
      ? { id: restorable.id, time: restorable.time, drilledAt: latestDrill.get(restorable.id)!.finishedAt }
      : null,
    recommendation: recommend(cleanOnes, latestDrill),
    newest: newest
      ? {
          id: newest.id,
          time: newest.time,
          verdict: newest.verdict,
          standing: standing(newest.id),
          cleanAndRestorable:
            newest.verdict === 'clean' && standing(newest.id) === 'restorable' && !isFuture(newest.id),
        }
      : null,
    demoted: cleanOnes
      .filter((snapshot) => drillDemotion(latestDrill, snapshot.id) !== null)
      .map((snapshot) => {
        const { drill } = drillDemotion(latestDrill, snapshot.id)!;
        return {
          id: snapshot.id,
          time: snapshot.time,
          drill: { id: drill.id ?? null, finishedAt: drill.finishedAt },
          failures: (drill.failures ?? []).slice(0, EXAMPLES),
        };
      }),
    rejected: byTime
      .filter((snapshot) => Date.parse(snapshot.time) > cutoff && snapshot.verdict !== 'clean')
      .map((snapshot) => ({
        id: snapshot.id,
        time: snapshot.time,
        verdict: snapshot.verdict,
        reasons: rejectionReasons(snapshot),
      })),
    olderNotClean: byTime
      .filter((snapshot) => Date.parse(snapshot.time) < cutoff && snapshot.verdict !== 'clean')
      .map(({ id, time, verdict }) => ({ id, time, verdict })),
    accepted: acceptedFindings(byTime),
    futureDated: future,
  };
}

/** The recommendation from the clean snapshots (newest first) and each one's latest drill. */
export function recommend(
  cleanNewestFirst: readonly { id: string; time: string }[],
  latest: ReadonlyMap<string, DrillFacts>,
): Recommendation | null {
  const pick = (standing: DrillStanding) =>
    cleanNewestFirst.find((snapshot) => drillStanding(latest, snapshot.id) === standing);
  const drillOf = (id: string): Recommendation['drill'] => {
    const drill = latest.get(id);
    return drill && drill.outcome !== 'aborted'
      ? { id: drill.id ?? null, outcome: drill.outcome, finishedAt: drill.finishedAt }
      : null;
  };
  const restorable = pick('restorable');
  if (restorable) {
    const newerClean = cleanNewestFirst.findIndex((snapshot) => snapshot.id === restorable.id);
    return {
      id: restorable.id,
      time: restorable.time,
      standing: 'restorable',
      drill: drillOf(restorable.id),
      reason:
        newerClean === 0
          ? 'the newest clean snapshot, and a restore drill of it passed'
          : `the newest clean snapshot a restore drill proved (${newerClean} newer clean snapshot${newerClean === 1 ? ' is' : 's are'} not drilled or failed a drill)`,
    };
  }
  const undrilled = pick('not-drilled');
  if (undrilled) {
    return {
      id: undrilled.id,
      time: undrilled.time,
      standing: 'not-drilled',
      drill: null,
      reason:
        'NOT DRILLED: clean by its scan, but no restore drill has proved it restores (no clean snapshot has a passed drill)',
    };
  }
  const failed = cleanNewestFirst[0];
  if (!failed) return null;
  return {
    id: failed.id,
    time: failed.time,
    standing: 'drill-failed',
    drill: drillOf(failed.id),
    reason:
      "DRILL FAILED: every clean snapshot's latest restore drill failed; this is the newest clean one — expect to repair the restore",
  };
}
