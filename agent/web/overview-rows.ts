/**
 * The overview's rows (pure): per set the facts a recovery lead scans for — readiness and the
 * checks that failed, newest snapshot age against the RPO, last clean snapshot, last drill
 * against the RTO, immutability, evidence — ordered problems first.
 */
import { describeSource } from '../config/resolve-policy.js';
import type { SetView } from '../estate/estate-view.js';
import type { DrillResult } from '../model/drill.js';
import { drillRestoreSeconds, type ReadinessCheck } from '../verdicts/readiness.js';
import { VERDICTS, type Verdict } from '../model/verdict.js';
import type { Finding } from '../model/findings.js';
import { ageSeconds } from './format.js';

/** Immutability as the overview shows it. */
export type ImmutabilityState = 'holds' | 'failed' | 'never-audited' | 'not-required';

/** One set's row. */
export interface OverviewRow {
  name: string;
  location: string;
  ready: boolean;
  /** Why the set's state could not be read. */
  error?: string;
  failing: ReadinessCheck[];
  snapshots: number;
  verdicts: Record<Verdict, number>;
  newest: { id: string; time: string; verdict: Verdict; ageSeconds: number } | null;
  rpoSeconds: number | null;
  /** Newest snapshot within the RPO (null without a target or snapshot). */
  newestWithinRpo: boolean | null;
  lastClean: { id: string; time: string; ageSeconds: number } | null;
  lastCleanWithinRpo: boolean | null;
  rtoSeconds: number | null;
  lastDrill: {
    id: string;
    outcome: DrillResult['outcome'];
    finishedAt: string;
    restoreSeconds: number;
    projected: boolean;
    withinRto: boolean | null;
  } | null;
  immutability: { state: ImmutabilityState; auditedAt: string | null };
  evidenceOk: boolean;
  /** Findings about the store itself (removed, replaced, foreign objects); accepted ones carry `accepted`. */
  storeFindings: Finding[];
}

/** Where a set's backups live, for display. */
export function setLocation(set: SetView): string {
  return describeSource(set.policy.source);
}

function immutabilityOf(set: SetView): OverviewRow['immutability'] {
  const audit = set.state?.audit ?? null;
  if (!set.policy.immutability)
    return { state: audit?.ok === false ? 'failed' : 'not-required', auditedAt: audit?.auditedAt ?? null };
  if (!audit) return { state: 'never-audited', auditedAt: null };
  return { state: audit.ok ? 'holds' : 'failed', auditedAt: audit.auditedAt };
}

/** Builds one set's row. */
export function overviewRow(set: SetView, now: Date, evidenceOk: boolean): OverviewRow {
  const snapshots = set.state ? Object.values(set.state.index.snapshots) : [];
  const verdicts = Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0])) as Record<Verdict, number>;
  for (const snapshot of snapshots) verdicts[snapshot.verdict]++;
  const rpo = set.policy.rpoSeconds ?? null;
  const newest = set.newest
    ? {
        id: set.newest.id,
        time: set.newest.time,
        verdict: set.newest.verdict,
        ageSeconds: ageSeconds(set.newest.time, now),
      }
    : null;
  const lastClean = set.lastClean
    ? { id: set.lastClean.id, time: set.lastClean.time, ageSeconds: ageSeconds(set.lastClean.time, now) }
    : null;
  const drill = set.lastDrill;
  const rto = set.policy.rtoSeconds ?? null;
  return {
    name: set.policy.name,
    location: setLocation(set),
    ready: set.readiness.ready,
    ...(set.error ? { error: set.error } : {}),
    failing: set.readiness.checks.filter((check) => check.status === 'fail'),
    snapshots: snapshots.length,
    verdicts,
    newest,
    rpoSeconds: rpo,
    newestWithinRpo: newest && rpo !== null ? newest.ageSeconds <= rpo : null,
    lastClean,
    lastCleanWithinRpo: rpo === null ? null : lastClean ? lastClean.ageSeconds <= rpo : false,
    rtoSeconds: rto,
    lastDrill: drill
      ? {
          id: drill.id,
          outcome: drill.outcome,
          finishedAt: drill.finishedAt,
          restoreSeconds: drillRestoreSeconds(drill),
          projected: drill.projectedFullRestoreSeconds !== null,
          withinRto: drill.withinRto ?? (rto === null ? null : drillRestoreSeconds(drill) <= rto),
        }
      : null,
    immutability: immutabilityOf(set),
    evidenceOk,
    storeFindings: set.state?.index.setFindings ?? [],
  };
}

const VERDICT_RANK: Record<Verdict, number> = { compromised: 0, suspicious: 1, unverified: 2, clean: 3 };

/** Problems first: unreadable sets, then sets that are not ready (most failed checks, worst newest snapshot first), then ready ones; by name within. */
export function compareRows(a: OverviewRow, b: OverviewRow): number {
  const tier = (row: OverviewRow) => (row.error ? 0 : row.ready ? 2 : 1);
  return (
    tier(a) - tier(b) ||
    b.failing.length - a.failing.length ||
    (a.newest ? VERDICT_RANK[a.newest.verdict] : 4) - (b.newest ? VERDICT_RANK[b.newest.verdict] : 4) ||
    a.name.localeCompare(b.name)
  );
}

/** Every set's row, problems first. */
export function overviewRows(sets: readonly SetView[], now: Date, evidenceOk: boolean): OverviewRow[] {
  return sets.map((set) => overviewRow(set, now, evidenceOk)).sort(compareRows);
}
