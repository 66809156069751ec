/**
 * Per-set readiness and verdicts: whether each set is ready and by which checks, its last clean,
 * restorable and newest snapshots, snapshots per verdict, findings (counting and accepted) per
 * kind, and the open findings about the store itself.
 */
import { countingCounts, countingFindings } from '../verdicts/acceptance.js';
import { FINDING_KINDS, type Finding, type FindingKind } from '../model/findings.js';
import type { SnapshotState } from '../model/snapshot-state.js';
import { VERDICTS } from '../model/verdict.js';
import { estateGauge, seconds, setGauge, type MetricGroupContext } from './metric-sources.js';

/** Registers `vouch_set_ready`, `vouch_set_readiness_check`, the snapshot times and `vouch_snapshots` per verdict. */
export function registerReadinessMetrics(context: MetricGroupContext): void {
  setGauge(
    context,
    'vouch_set_ready',
    '1 when the set is ready: newest clean snapshot (last restorable one when the set declares drills) within RPO, no open finding about the store (removed or replaced snapshots, foreign objects), last drill passed in time and within RTO, immutability holds, evidence intact.',
    (set) => (set.readiness.ready ? 1 : 0),
  );
  estateGauge(
    context,
    'vouch_set_readiness_check',
    'Readiness checks per set: 1 passed, 0 failed (checks the policy does not ask for are left out).',
    ['set', 'check'],
    (gauge, view) => {
      for (const set of view.sets) {
        for (const check of set.readiness.checks) {
          if (check.status !== 'not-applicable')
            gauge.set({ set: set.policy.name, check: check.check }, check.status === 'pass' ? 1 : 0);
        }
      }
    },
  );
  setGauge(
    context,
    'vouch_last_clean_snapshot_timestamp_seconds',
    'Time of the newest snapshot whose verdict is clean.',
    (set) => (set.lastClean ? seconds(set.lastClean.time) : null),
  );
  setGauge(
    context,
    'vouch_last_restorable_snapshot_timestamp_seconds',
    'Time of the newest clean snapshot whose latest restore drill passed (sets that declare drills; absent when none is restorable). The RPO of such a set is measured from it.',
    (set) =>
      (set.policy.drill.declared === true || set.drillMaxAgeSeconds !== null) && set.lastRestorable
        ? seconds(set.lastRestorable.time)
        : null,
  );
  setGauge(
    context,
    'vouch_drills_declared',
    '1 when the policy declares restore drills for the set (its RPO is then measured from the last restorable snapshot), 0 otherwise.',
    (set) => (set.policy.drill.declared === true || set.drillMaxAgeSeconds !== null ? 1 : 0),
  );
  setGauge(
    context,
    'vouch_newest_snapshot_timestamp_seconds',
    'Time of the newest snapshot, whatever its verdict.',
    (set) => (set.newest ? seconds(set.newest.time) : null),
  );
  estateGauge(context, 'vouch_snapshots', 'Snapshots per verdict.', ['set', 'verdict'], (gauge, view) => {
    for (const set of view.sets) {
      if (!set.state) continue;
      const counts = Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0]));
      for (const snapshot of Object.values(set.state.index.snapshots)) counts[snapshot.verdict]!++;
      for (const verdict of VERDICTS) gauge.set({ set: set.policy.name, verdict }, counts[verdict]!);
    }
  });
}

/** Registers `vouch_findings`, `vouch_findings_accepted` and the open store findings (`vouch_snapshots_removed`, `_replaced`, `vouch_foreign_objects`). */
export function registerFindingMetrics(context: MetricGroupContext): void {
  /** A per-set, per-kind gauge summing each snapshot's counts of one sort. */
  const findingGauge = (
    name: string,
    help: string,
    countsOf: (snapshot: SnapshotState) => Partial<Record<FindingKind, number>> | undefined,
    countsSet: (finding: Finding) => boolean,
    countsNoSnapshots = false,
  ) =>
    estateGauge(context, name, help, ['set', 'kind'], (gauge, view) => {
      for (const set of view.sets) {
        if (!set.state) continue;
        const counts = new Map<string, number>(FINDING_KINDS.map((kind) => [kind, 0]));
        for (const snapshot of Object.values(set.state.index.snapshots)) {
          for (const [kind, count] of Object.entries(countsOf(snapshot) ?? {}))
            if (counts.has(kind)) counts.set(kind, counts.get(kind)! + (count ?? 0));
        }
        // A set whose last listing found no snapshot at all (a typo in match, backups stopped).
        if (countsNoSnapshots && set.state.scan.snapshotsFound === 0) counts.set('no-snapshots', 1);
        // Findings about the store itself (removed, replaced, foreign objects).
        for (const finding of set.state.index.setFindings ?? []) {
          if (countsSet(finding) && counts.has(finding.kind))
            counts.set(finding.kind, counts.get(finding.kind)! + 1);
        }
        for (const [kind, count] of counts) gauge.set({ set: set.policy.name, kind }, count);
      }
    });
  findingGauge(
    'vouch_findings',
    'Findings that count, per kind: of the latest scan of every snapshot, and about the store itself until accepted (accepted findings do not count).',
    countingCounts,
    (finding) => !finding.accepted,
    true,
  );
  findingGauge(
    'vouch_findings_accepted',
    'Findings accepted as known and harmless (vouch accept), per kind: of every snapshot, and about the store itself.',
    (snapshot) => snapshot.acceptedCounts,
    (finding) => finding.accepted !== undefined,
  );
  /** A per-set gauge counting the set's open (not accepted) store findings of one kind. */
  const storeGauge = (name: string, help: string, kind: FindingKind) =>
    setGauge(context, name, help, (set) =>
      set.state
        ? countingFindings(set.state.index.setFindings ?? []).filter((finding) => finding.kind === kind)
            .length
        : null,
    );
  storeGauge(
    'vouch_snapshots_removed',
    'Snapshots that left the store (deleted or renamed, not pruned by snapshots.retention) and are not accepted yet.',
    'snapshot-removed',
  );
  storeGauge(
    'vouch_snapshots_replaced',
    'Baselined snapshots replaced in the store with other bytes under the same name, not accepted yet.',
    'snapshot-replaced',
  );
  storeGauge(
    'vouch_foreign_objects',
    'Suspicious objects beside the snapshots (ransom notes, encrypted-looking objects, mass new extensions), not accepted yet.',
    'foreign-object',
  );
}
