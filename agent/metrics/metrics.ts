/**
 * Every metric vouch exports, defined in this one file (prefix `vouch_`). Values are read when
 * Prometheus scrapes, in each metric's `collect()`: point-in-time facts from the state directory
 * (through `estate()`, which the caller memoises per scrape), process counters from the
 * scheduler. Labels are bounded: `set` and `dataset` (from the policy), `verdict`, `kind`,
 * `phase`, `check`, `part`, `task` (fixed lists) — never paths, ids or hashes.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric, type MetricType } from 'prom-client';
import { SCAN_DURATION_BUCKETS } from '../state/scan-status.js';
import { RULE_PARTS } from '../immutability/rule-3-2-1-1-0.js';
import type { DrillPhaseSeconds } from '../model/drill.js';
import type { SnapshotState } from '../model/snapshot-state.js';
import { countingCounts, countingFindings } from '../verdicts/acceptance.js';
import { FINDING_KINDS, type Finding, type FindingKind } from '../model/findings.js';
import { drillRestoreSeconds } from '../verdicts/readiness.js';
import {
  coverageWindowSeconds,
  verificationCoverage,
  type Coverage,
} from '../verdicts/verification-coverage.js';
import { longestGapSeconds } from '../config/schedule-gap.js';
import { VERDICTS } from '../model/verdict.js';
import { VERSION } from '../version.js';
import { createEstateCache } from '../estate/estate-cache.js';
import type { EstateView, SetView } from '../estate/estate-view.js';
import type { TaskCounters, SchedulerStats } from '../model/tasks.js';

/** Daemon facts that are not in the state directory. */
export interface DaemonStats {
  reloads: number;
  reloadFailures: number;
  /** Unix seconds of the last successful policy load. */
  lastReloadSuccess: number;
}

/** Where metric values come from. */
export interface MetricsSources {
  /** The estate as of now (memoise it per scrape: every state metric asks). */
  estate(): Promise<EstateView>;
  scheduler(): SchedulerStats;
  daemon(): DaemonStats;
}

const PHASES: readonly (keyof DrillPhaseSeconds)[] = ['fetch', 'extract', 'verify', 'app'];
const seconds = (iso: string) => Date.parse(iso) / 1000;

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

/** A set's verification coverage within its window at `now` (null when the set promises no window). */
function coverageOf(view: SetView, now: Date): (Coverage & { windowSeconds: number }) | null {
  const windowSeconds = coverageWindowSeconds(view.policy, longestGapSeconds);
  if (windowSeconds === null || !view.state) return null;
  const facts = Object.values(view.state.index.snapshots).map((snapshot) => ({
    time: snapshot.time,
    bytes: snapshot.object?.size ?? snapshot.listing?.bytes ?? snapshot.bytes,
    ...(snapshot.lastVerified
      ? { lastVerified: snapshot.lastVerified }
      : snapshot.complete && snapshot.lastDeepScan
        ? { lastVerified: snapshot.lastDeepScan }
        : {}),
  }));
  return { ...verificationCoverage(facts, windowSeconds, now), windowSeconds };
}

/** Grace after a scan schedule's longest gap before a scan counts as overdue. */
const SCAN_GRACE_SECONDS = 3600;

/**
 * `vouch_scan_duration_seconds{set}`: a histogram of scan wall times, kept cumulatively in each
 * set's scan status (state/scan-status.ts) so it counts CLI and daemon scans alike and survives
 * restarts; exposed as Prometheus histogram series at scrape time.
 */
function scanDurationHistogram(sources: MetricsSources): Metric {
  const name = 'vouch_scan_duration_seconds';
  const HELP =
    'Wall time of scans of the set (listing, reads and audit), every finished scan since the state directory began.';
  return {
    name,
    help: HELP,
    type: 'histogram' as unknown as MetricType,
    aggregator: 'sum',
    async get() {
      const view = await sources.estate();
      const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
      for (const set of view.sets) {
        const histogram = set.state?.scan.durations;
        if (!histogram) continue;
        const labels = { set: set.policy.name };
        SCAN_DURATION_BUCKETS.forEach((bound, i) =>
          values.push({
            metricName: `${name}_bucket`,
            labels: { ...labels, le: bound },
            value: histogram.counts[i] ?? 0,
          }),
        );
        values.push({
          metricName: `${name}_bucket`,
          labels: { ...labels, le: '+Inf' },
          value: histogram.count,
        });
        values.push({ metricName: `${name}_sum`, labels, value: histogram.sum });
        values.push({ metricName: `${name}_count`, labels, value: histogram.count });
      }
      return { name, help: HELP, type: 'histogram' as unknown as MetricType, aggregator: 'sum', values };
    },
    reset() {},
  } as unknown as Metric;
}

/** How long one estate read serves the metrics of a scrape (they are collected one after another). */
const SCRAPE_WINDOW_MS = 1000;

/** Builds vouch's own registry with every metric (plus the Node.js process metrics). */
export function createMetricsRegistry(input: MetricsSources): Registry {
  // One estate read shared by every metric of a scrape: concurrent and closely following calls reuse it.
  const estate = createEstateCache({ load: () => input.estate(), ttlMs: SCRAPE_WINDOW_MS });
  const sources: MetricsSources = { ...input, estate: estate.get };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges *_total, which the naming rules (and `promtool check metrics`)
  // reserve for counters; their information is in nodejs_active_* by type anyway.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  const registers = [registry];
  const drillTally = createDrillTally();

  /** A gauge whose values are set from the estate at scrape time. */
  function estateGauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (gauge: Gauge<L>, view: EstateView) => void,
  ): void {
    const gauge: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const view = await sources.estate();
        gauge.reset();
        fill(gauge, view);
      },
    });
  }
  /** A counter whose totals are read from state (or a tally) at scrape time. */
  function estateCounter(name: string, help: string, value: (set: SetView) => number | null): void {
    const counter: Counter<'set'> = new Counter<'set'>({
      name,
      help,
      labelNames: ['set'],
      registers,
      async collect() {
        const view = await sources.estate();
        counter.reset();
        for (const set of view.sets) {
          const v = value(set);
          if (v !== null) counter.inc({ set: set.policy.name }, v);
        }
      },
    });
  }
  /** A per-set gauge; `value` returns null to leave the series out (e.g. no clean snapshot yet). */
  function setGauge(name: string, help: string, value: (set: SetView) => number | null): void {
    estateGauge(name, help, ['set'], (gauge, view) => {
      for (const set of view.sets) {
        const v = value(set);
        if (v !== null) gauge.set({ set: set.policy.name }, v);
      }
    });
  }

  setGauge(
    'vouch_set_ready',
    '1 when the set is ready: newest clean snapshot (last restorable one when the set declares drills) within RPO, no open finding about the store (removed or replaced snapshots, foreign objects), last drill passed in time and within RTO, immutability holds, evidence intact.',
    (set) => (set.readiness.ready ? 1 : 0),
  );
  estateGauge(
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
    'vouch_last_clean_snapshot_timestamp_seconds',
    'Time of the newest snapshot whose verdict is clean.',
    (set) => (set.lastClean ? seconds(set.lastClean.time) : null),
  );
  setGauge(
    'vouch_last_restorable_snapshot_timestamp_seconds',
    'Time of the newest clean snapshot whose latest restore drill passed (sets that declare drills; absent when none is restorable). The RPO of such a set is measured from it.',
    (set) =>
      (set.policy.drill.declared === true || set.drillMaxAgeSeconds !== null) && set.lastRestorable
        ? seconds(set.lastRestorable.time)
        : null,
  );
  setGauge(
    'vouch_drills_declared',
    '1 when the policy declares restore drills for the set (its RPO is then measured from the last restorable snapshot), 0 otherwise.',
    (set) => (set.policy.drill.declared === true || set.drillMaxAgeSeconds !== null ? 1 : 0),
  );
  setGauge(
    'vouch_newest_snapshot_timestamp_seconds',
    'Time of the newest snapshot, whatever its verdict.',
    (set) => (set.newest ? seconds(set.newest.time) : null),
  );
  estateGauge('vouch_snapshots', 'Snapshots per verdict.', ['set', 'verdict'], (gauge, view) => {
    for (const set of view.sets) {
      if (!set.state) continue;
      const counts = Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0]));
      for (const snapshot of Object.values(set.state.index.snapshots)) counts[snapshot.verdict]!++;
      for (const verdict of VERDICTS) gauge.set({ set: set.policy.name, verdict }, counts[verdict]!);
    }
  });
  /** A per-set, per-kind gauge summing each snapshot's counts of one sort. */
  const findingGauge = (
    name: string,
    help: string,
    countsOf: (snapshot: SnapshotState) => Partial<Record<FindingKind, number>> | undefined,
    countsSet: (finding: Finding) => boolean,
    countsNoSnapshots = false,
  ) =>
    estateGauge(name, help, ['set', 'kind'], (gauge, view) => {
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
    setGauge(name, help, (set) =>
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
  setGauge(
    'vouch_scan_last_success_timestamp_seconds',
    'End of the last scan that read the set without a store error.',
    (set) => (set.state?.scan.lastSuccess ? seconds(set.state.scan.lastSuccess) : null),
  );
  setGauge(
    'vouch_scan_last_attempt_timestamp_seconds',
    'End of the last scan of the set that finished, whether it succeeded or failed.',
    (set) => (set.state?.scan.lastAttempt ? seconds(set.state.scan.lastAttempt) : null),
  );
  setGauge(
    'vouch_scan_max_interval_seconds',
    'How long after the last finished scan another one is due: the longest gap of the scan schedule plus an hour (sets with a scan schedule).',
    (set) =>
      set.policy.schedule?.scan
        ? longestGapSeconds(set.policy.schedule.scan, set.policy.schedule.timezone) + SCAN_GRACE_SECONDS
        : null,
  );
  registry.registerMetric(scanDurationHistogram(sources));
  setGauge(
    'vouch_newest_compromise_timestamp_seconds',
    'When the most recent snapshot that is still not clean turned so (was clean before, or arrived not clean), by the scan that found it, or by the revocation of an acceptance that had cleared it; absent while every snapshot is clean or accepted.',
    (set) => {
      let newest: number | null = null;
      for (const snapshot of Object.values(set.state?.index.snapshots ?? {})) {
        if (snapshot.verdict === 'clean' || !snapshot.notCleanSince) continue;
        newest = Math.max(newest ?? 0, seconds(snapshot.notCleanSince));
      }
      return newest;
    },
  );
  estateCounter(
    'vouch_scans_total',
    'Scans of the set recorded in the state directory.',
    (set) => set.state?.scan.runs ?? null,
  );
  estateCounter(
    'vouch_scan_failures_total',
    'Scans of the set that failed (store unreachable, listing failed).',
    (set) => set.state?.scan.failures ?? null,
  );
  estateCounter(
    'vouch_scanned_bytes_total',
    'Entry bytes read and hashed by deep reads of the set.',
    (set) => set.state?.scan.scannedBytesTotal ?? null,
  );
  estateCounter(
    'vouch_source_retries_total',
    'Store faults (throttling, 5xx, timeouts, resets, stalls) that were retried or resumed while reading the set.',
    (set) => (set.state ? (set.state.scan.transientFaultsTotal ?? 0) : null),
  );
  estateCounter(
    'vouch_source_read_failures_total',
    "Reads of the set's store given up: permanent errors, or transient ones after every retry.",
    (set) => (set.state ? (set.state.scan.readFailuresTotal ?? 0) : null),
  );

  /** A per-set gauge from the set's verification coverage at the estate's time. */
  const coverageGauge = (
    name: string,
    help: string,
    value: (coverage: Coverage & { windowSeconds: number }) => number | null,
  ) =>
    estateGauge(name, help, ['set'], (gauge, view) => {
      for (const set of view.sets) {
        const coverage = coverageOf(set, view.at);
        const v = coverage ? value(coverage) : null;
        if (v !== null) gauge.set({ set: set.policy.name }, v);
      }
    });
  coverageGauge(
    'vouch_verification_window_seconds',
    "Window within which every byte of the set is to be read: the sampling window, the rehash interval, or the scan schedule's gap plus an hour.",
    (c) => c.windowSeconds,
  );
  coverageGauge(
    'vouch_verification_coverage_ratio',
    "Share of the set's bytes read completely within the verification window.",
    (c) => c.ratio,
  );
  coverageGauge(
    'vouch_verification_oldest_age_seconds',
    'Seconds since the least recently verified snapshot of the set was last read completely.',
    (c) => c.oldestVerifiedAgeSeconds,
  );
  coverageGauge(
    'vouch_unverified_oldest_byte_age_seconds',
    'Age of the oldest byte of the set that no scan has read completely (0 when every byte was read).',
    (c) => c.oldestUnverifiedAgeSeconds,
  );
  setGauge(
    'vouch_verification_daily_budget_bytes',
    "Bytes per day sampled verification may re-read from the set's store.",
    (set) => set.policy.sample?.dailyBytes ?? null,
  );

  setGauge(
    'vouch_drill_last_success_timestamp_seconds',
    'End of the last restore drill that passed.',
    (set) => (set.lastPassedDrill ? seconds(set.lastPassedDrill.finishedAt) : null),
  );
  setGauge(
    'vouch_drill_last_passed',
    '1 when the most recent restore drill passed, 0 when it failed or was aborted.',
    (set) => (set.lastDrill ? (set.lastDrill.outcome === 'passed' ? 1 : 0) : null),
  );
  setGauge(
    'vouch_drill_duration_seconds',
    'Wall time of the most recent restore drill.',
    (set) => set.lastDrill?.durationSeconds ?? null,
  );
  estateGauge(
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
    'vouch_drill_full_restore_seconds',
    'Full-restore time measured by the last passed drill (projected when it restored a sample).',
    (set) => (set.lastPassedDrill ? drillRestoreSeconds(set.lastPassedDrill) : null),
  );
  setGauge(
    'vouch_drill_max_age_seconds',
    'How old the last passed drill may be before the set is not ready.',
    (set) => set.drillMaxAgeSeconds,
  );
  estateCounter(
    'vouch_drills_total',
    'Restore drills seen (counted from the drill index by this process).',
    (set) => drillTally(set).drills,
  );
  estateCounter(
    'vouch_drill_failures_total',
    'Restore drills that failed or were aborted (counted like vouch_drills_total).',
    (set) => drillTally(set).failures,
  );
  setGauge(
    'vouch_rto_target_seconds',
    'Recovery time objective from the policy.',
    (set) => set.policy.rtoSeconds ?? null,
  );
  setGauge(
    'vouch_rpo_target_seconds',
    'Recovery point objective from the policy.',
    (set) => set.policy.rpoSeconds ?? null,
  );

  setGauge(
    'vouch_immutability_ok',
    '1 when the last immutability audit met the policy, 0 when it did not.',
    (set) => (set.state?.audit && set.state.audit.ok !== null ? (set.state.audit.ok ? 1 : 0) : null),
  );
  setGauge(
    'vouch_immutability_last_audit_timestamp_seconds',
    'Time of the last immutability audit.',
    (set) => (set.state?.audit ? seconds(set.state.audit.auditedAt) : null),
  );
  setGauge(
    'vouch_object_lock_retention_remaining_seconds',
    'Seconds until the Object Lock retention of the last clean snapshot ends.',
    (set) => set.state?.audit?.retentionRemainingSeconds ?? null,
  );
  estateGauge(
    'vouch_dataset_rule_ok',
    '3-2-1-1-0 rule per data set and part (copies, media, offsite, immutable, errors): 1 met, 0 not.',
    ['dataset', 'part'],
    (gauge, view) => {
      for (const dataset of view.datasets)
        for (const part of RULE_PARTS)
          gauge.set({ dataset: dataset.dataset, part }, dataset.parts[part].ok ? 1 : 0);
    },
  );
  estateGauge('vouch_dataset_copies', 'Copies declared per data set.', ['dataset'], (gauge, view) => {
    for (const dataset of view.datasets) gauge.set({ dataset: dataset.dataset }, dataset.copies.length);
  });

  estateGauge(
    'vouch_evidence_chain_ok',
    '1 when the evidence ledger verifies, 0 when a record was edited, dropped, reordered or replayed.',
    [],
    (gauge, view) => gauge.set(view.evidence.ok ? 1 : 0),
  );
  estateGauge(
    'vouch_evidence_records',
    'Records in the evidence ledger (verified ones, when the chain is broken).',
    [],
    (gauge, view) => gauge.set(view.evidence.records),
  );

  new Gauge({
    name: 'vouch_build_info',
    help: 'vouch version and Node.js runtime; always 1.',
    labelNames: ['version', 'nodejs'],
    registers,
  }).set({ version: VERSION, nodejs: process.versions.node }, 1);

  const taskCounter = (name: string, help: string, pick: (counters: TaskCounters) => number) => {
    const counter: Counter<'set' | 'task'> = new Counter<'set' | 'task'>({
      name,
      help,
      labelNames: ['set', 'task'],
      registers,
      collect() {
        counter.reset();
        for (const entry of sources.scheduler().tasks)
          counter.inc({ set: entry.set, task: entry.task }, pick(entry.counters));
      },
    });
  };
  taskCounter(
    'vouch_task_runs_total',
    'Scheduled and requested task runs that ended in this process (succeeded, failed or aborted).',
    (c) => c.runs,
  );
  taskCounter(
    'vouch_task_failures_total',
    'Task runs that ended in an error (not findings: those are results).',
    (c) => c.failures,
  );
  taskCounter(
    'vouch_task_overlaps_total',
    'Schedule slots skipped because the previous run of the task was still going.',
    (c) => c.overlaps,
  );
  taskCounter(
    'vouch_task_missed_total',
    'Schedule slots that passed without firing (process paused or event loop blocked).',
    (c) => c.missed,
  );
  const running: Gauge = new Gauge({
    name: 'vouch_tasks_running',
    help: 'Tasks running now.',
    registers,
    collect: () => running.set(sources.scheduler().running),
  });
  const queued: Gauge = new Gauge({
    name: 'vouch_tasks_queued',
    help: 'Tasks waiting for a free slot.',
    registers,
    collect: () => queued.set(sources.scheduler().queued),
  });

  const daemonCounter = (name: string, help: string, pick: (stats: DaemonStats) => number) => {
    const counter: Counter = new Counter({
      name,
      help,
      registers,
      collect: () => (counter.reset(), counter.inc(pick(sources.daemon()))),
    });
  };
  daemonCounter('vouch_policy_reloads_total', 'Policy reloads requested (SIGHUP).', (s) => s.reloads);
  daemonCounter(
    'vouch_policy_reload_failures_total',
    'Policy reloads rejected (the previous policy stayed in force).',
    (s) => s.reloadFailures,
  );
  const reloaded: Gauge = new Gauge({
    name: 'vouch_policy_last_load_success_timestamp_seconds',
    help: 'Time the policy in force was loaded.',
    registers,
    collect: () => reloaded.set(sources.daemon().lastReloadSuccess),
  });
  return registry;
}
