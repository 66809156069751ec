/**
 * Per-set restore drills and recovery targets: the last drill's outcome, duration and phases, the
 * full-restore time it measured, how old a passed drill may be, drill counters, and the RTO and
 * RPO the policy sets.
 */
import type { SetView } from '../estate/estate-view.js';
import type { DrillPhaseSeconds } from '../model/drill.js';
import { drillRestoreSeconds } from '../verdicts/readiness.js';
import { estateCounter, estateGauge, seconds, setGauge, type MetricGroupContext } from './metric-sources.js';

const PHASES: readonly (keyof DrillPhaseSeconds)[] = ['fetch', 'extract', 'verify', 'app'];

/**
 * Counts drills by id as they appear in the drill indexes (which keep the last 200), so the
 * totals only grow while the process lives; a restart starts them again from the index, which
 * Prometheus treats as a counter reset.
 */
function createDrillTally() {
  const seen = new Map<string, Set<string>>();
  const totals = new Map<string, { drills: number; failures: number }>();
  return (view: SetView) => {
    const set = view.policy.name;
    const ids = seen.get(set) ?? new Set<string>();
    const total = totals.get(set) ?? { drills: 0, failures: 0 };
    const present = new Set<string>();
    for (const drill of view.state?.drills.drills ?? []) {
      present.add(drill.id);
      if (ids.has(drill.id)) continue;
      total.drills++;
      if (drill.outcome !== 'passed') total.failures++;
    }
    seen.set(set, present);
    totals.set(set, total);
    return total;
  };
}

/** Registers `vouch_drill_*`, `vouch_drills_total` and the RTO/RPO targets. */
export function registerDrillMetrics(context: MetricGroupContext): void {
  const drillTally = createDrillTally();
  setGauge(
    context,
    'vouch_drill_last_success_timestamp_seconds',
    'End of the last restore drill that passed.',
    (set) => (set.lastPassedDrill ? seconds(set.lastPassedDrill.finishedAt) : null),
  );
  setGauge(
    context,
    'vouch_drill_last_passed',
    '1 when the most recent restore drill passed, 0 when it failed or was aborted.',
    (set) => (set.lastDrill ? (set.lastDrill.outcome === 'passed' ? 1 : 0) : null),
  );
  setGauge(
    context,
    'vouch_drill_duration_seconds',
    'Wall time of the most recent restore drill.',
    (set) => set.lastDrill?.durationSeconds ?? null,
  );
  estateGauge(
    context,
    'vouch_drill_phase_duration_seconds',
    'Seconds per phase of the most recent restore drill.',
    ['set', 'phase'],
    (gauge, view) => {
      for (const set of view.sets) {
        if (!set.lastDrill) continue;
        for (const phase of PHASES) gauge.set({ set: set.policy.name, phase }, set.lastDrill.phases[phase]);
      }
    },
  );
  setGauge(
    context,
    'vouch_drill_full_restore_seconds',
    'Full-restore time measured by the last passed drill (projected when it restored a sample).',
    (set) => (set.lastPassedDrill ? drillRestoreSeconds(set.lastPassedDrill) : null),
  );
  setGauge(
    context,
    'vouch_drill_max_age_seconds',
    'How old the last passed drill may be before the set is not ready.',
    (set) => set.drillMaxAgeSeconds,
  );
  estateCounter(
    context,
    'vouch_drills_total',
    'Restore drills seen (counted from the drill index by this process).',
    (set) => drillTally(set).drills,
  );
  estateCounter(
    context,
    'vouch_drill_failures_total',
    'Restore drills that failed or were aborted (counted like vouch_drills_total).',
    (set) => drillTally(set).failures,
  );
  setGauge(
    context,
    'vouch_rto_target_seconds',
    'Recovery time objective from the policy.',
    (set) => set.policy.rtoSeconds ?? null,
  );
  setGauge(
    context,
    'vouch_rpo_target_seconds',
    'Recovery point objective from the policy.',
    (set) => set.policy.rpoSeconds ?? null,
  );
}
