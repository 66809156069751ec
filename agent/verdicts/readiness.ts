/**
 * Set readiness (pure): a set is ready when its newest clean snapshot (its last restorable one —
 * clean, latest drill passed — when the set declares drills) is within the RPO, its last
 * drill passed within the drill interval and within the RTO (whenever the policy declares drills
 * for the set — a `drill` key or a drill schedule — scheduled or not: a set whose only drill
 * failed is not ready), no finding about the store itself is open (a baselined snapshot removed
 * or replaced, foreign objects beside the snapshots: until a person accepts them the backups
 * themselves may have been attacked), its immutability holds, and the evidence chain is intact. Checks the policy does not ask for are `not-applicable` and do not
 * block readiness.
 */
import type { DrillResult } from '../model/drill.js';
import type { FindingKind } from '../model/findings.js';

/** The readiness checks, in the order they are reported. */
export const READINESS_CHECKS = ['rpo', 'store', 'drill', 'rto', 'immutability', 'evidence'] as const;
export type ReadinessCheckName = (typeof READINESS_CHECKS)[number];

/** How one check came out. */
export interface ReadinessCheck {
  check: ReadinessCheckName;
  status: 'pass' | 'fail' | 'not-applicable';
  detail: string;
}

/** A set's readiness. */
export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

/** The facts readiness is decided from. */
export interface ReadinessInput {
  now: Date;
  rpoSeconds?: number;
  rtoSeconds?: number;
  /** ISO-8601 time of the newest clean snapshot, or null. */
  newestCleanSnapshotTime: string | null;
  /**
   * ISO-8601 time of the newest clean snapshot whose latest drill passed (last-clean's "last
   * restorable"), or null when none; absent when the caller does not know. When the set declares
   * drills, the RPO is measured from it (see `rpoPoint`).
   */
  lastRestorableSnapshotTime?: string | null;
  /** How old the last passed drill may be; null when neither `drill.maxAge` nor a drill schedule bounds it. */
  drillMaxAgeSeconds: number | null;
  /** The policy declares drills for the set: a passed drill is required even without a schedule or maxAge. */
  drillsDeclared?: boolean;
  /** The most recent drill, whatever its outcome. */
  lastDrill: DrillResult | null;
  /** The policy declares immutability requirements. */
  immutabilityRequired: boolean;
  immutability: { ok: boolean | null; auditedAt: string } | null;
  evidenceChainOk: boolean;
  /**
   * The set's findings about the store that are open (not accepted): removed or replaced
   * snapshots, foreign objects. Absent: none.
   */
  openStoreFindings?: readonly { kind: FindingKind; path: string }[];
}

/** Set findings that say the store itself was touched: any open one blocks readiness. */
export const STORE_FINDING_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'snapshot-removed',
  'snapshot-replaced',
  'foreign-object',
]);

const age = (now: Date, iso: string) => (now.getTime() - Date.parse(iso)) / 1000;
const hours = (seconds: number) => `${Math.round((seconds / 3600) * 10) / 10}h`;

/** Seconds a full restore takes by the drill's measure: the projection when it was sampled, else its wall time. */
export function drillRestoreSeconds(
  drill: Pick<DrillResult, 'projectedFullRestoreSeconds' | 'durationSeconds'>,
): number {
  return drill.projectedFullRestoreSeconds ?? drill.durationSeconds;
}

/**
 * The snapshot a restore now would go back to, which the RPO is measured from: the last
 * restorable snapshot when the set declares drills (a clean snapshot whose drill failed does not
 * restore, so it does not keep the RPO), else the newest clean one. `time` null when there is none.
 */
export function rpoPoint(input: ReadinessInput): { time: string | null; what: string; none: string } {
  if (drillsRequired(input) && input.lastRestorableSnapshotTime !== undefined) {
    return {
      time: input.lastRestorableSnapshotTime,
      what: 'last restorable snapshot (clean, its latest drill passed)',
      none: 'no restorable snapshot: no clean snapshot has a passed latest drill',
    };
  }
  return { time: input.newestCleanSnapshotTime, what: 'newest clean snapshot', none: 'no clean snapshot' };
}

function rpoCheck(input: ReadinessInput): ReadinessCheck {
  const point = rpoPoint(input);
  if (point.time === null) return { check: 'rpo', status: 'fail', detail: point.none };
  const seconds = age(input.now, point.time);
  if (input.rpoSeconds === undefined)
    return { check: 'rpo', status: 'pass', detail: `${point.what} is ${hours(seconds)} old (no RPO target)` };
  const within = seconds <= input.rpoSeconds;
  return {
    check: 'rpo',
    status: within ? 'pass' : 'fail',
    detail: `${point.what} is ${hours(seconds)} old; RPO ${hours(input.rpoSeconds)}`,
  };
}

/** Drills count toward readiness when the policy declares them or bounds their age. */
function drillsRequired(input: ReadinessInput): boolean {
  return input.drillMaxAgeSeconds !== null || input.drillsDeclared === true;
}

function drillCheck(input: ReadinessInput): ReadinessCheck {
  if (!drillsRequired(input))
    return { check: 'drill', status: 'not-applicable', detail: 'the policy declares no drills' };
  const drill = input.lastDrill;
  if (!drill) return { check: 'drill', status: 'fail', detail: 'no drill has run yet' };
  if (drill.outcome !== 'passed')
    return { check: 'drill', status: 'fail', detail: `last drill ${drill.id} ${drill.outcome}` };
  const seconds = age(input.now, drill.finishedAt);
  if (input.drillMaxAgeSeconds === null)
    return {
      check: 'drill',
      status: 'pass',
      detail: `last drill ${drill.id} passed ${hours(seconds)} ago (no drill.maxAge or drill schedule bounds its age)`,
    };
  if (seconds > input.drillMaxAgeSeconds) {
    return {
      check: 'drill',
      status: 'fail',
      detail: `last drill passed ${hours(seconds)} ago; overdue after ${hours(input.drillMaxAgeSeconds)}`,
    };
  }
  return { check: 'drill', status: 'pass', detail: `last drill ${drill.id} passed ${hours(seconds)} ago` };
}

function rtoCheck(input: ReadinessInput): ReadinessCheck {
  if (input.rtoSeconds === undefined)
    return { check: 'rto', status: 'not-applicable', detail: 'no RTO target' };
  const drill = input.lastDrill;
  if (!drillsRequired(input))
    return {
      check: 'rto',
      status: 'not-applicable',
      detail: 'the policy declares no drills, so the RTO is unproven',
    };
  if (!drill || drill.outcome !== 'passed')
    return { check: 'rto', status: 'fail', detail: 'no passed drill to measure the restore time' };
  const seconds = drillRestoreSeconds(drill);
  const within = drill.withinRto ?? seconds <= input.rtoSeconds;
  return {
    check: 'rto',
    status: within ? 'pass' : 'fail',
    detail: `full restore ${hours(seconds)}${drill.projectedFullRestoreSeconds !== null ? ' (projected from a sample)' : ''}; RTO ${hours(input.rtoSeconds)}`,
  };
}

function storeCheck(input: ReadinessInput): ReadinessCheck {
  const open = (input.openStoreFindings ?? []).filter((finding) => STORE_FINDING_KINDS.has(finding.kind));
  if (open.length === 0)
    return {
      check: 'store',
      status: 'pass',
      detail: 'no open findings about the store (removed or replaced snapshots, foreign objects)',
    };
  const byKind = new Map<FindingKind, string[]>();
  for (const finding of open) byKind.set(finding.kind, [...(byKind.get(finding.kind) ?? []), finding.path]);
  const parts = [...byKind].map(
    ([kind, paths]) =>
      `${paths.length} ${kind} (${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', …' : ''})`,
  );
  return {
    check: 'store',
    status: 'fail',
    detail: `${open.length} open finding${open.length === 1 ? '' : 's'} about the store: ${parts.join(', ')}; the backups themselves may have been attacked — review, then vouch accept`,
  };
}

function immutabilityCheck(input: ReadinessInput): ReadinessCheck {
  if (!input.immutabilityRequired)
    return { check: 'immutability', status: 'not-applicable', detail: 'the policy requires no immutability' };
  if (!input.immutability) return { check: 'immutability', status: 'fail', detail: 'never audited' };
  return input.immutability.ok
    ? { check: 'immutability', status: 'pass', detail: `audit of ${input.immutability.auditedAt} passed` }
    : { check: 'immutability', status: 'fail', detail: `audit of ${input.immutability.auditedAt} failed` };
}

function evidenceCheck(input: ReadinessInput): ReadinessCheck {
  return input.evidenceChainOk
    ? { check: 'evidence', status: 'pass', detail: 'evidence chain intact' }
    : { check: 'evidence', status: 'fail', detail: 'evidence chain broken' };
}

/** Decides a set's readiness. */
export function assessReadiness(input: ReadinessInput): Readiness {
  const checks = [
    rpoCheck(input),
    storeCheck(input),
    drillCheck(input),
    rtoCheck(input),
    immutabilityCheck(input),
    evidenceCheck(input),
  ];
  return { ready: checks.every((check) => check.status !== 'fail'), checks };
}
