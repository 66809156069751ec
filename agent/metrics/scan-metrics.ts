/**
 * Per-set scans and verification coverage: when the set was last scanned and how long scans take,
 * the newest compromise a scan found, the scan and store-fault counters, and how much of the set's
 * bytes were read completely within its verification window.
 */
import type { Metric, MetricType } from 'prom-client';
import { longestGapSeconds } from '../config/schedule-gap.js';
import type { SetView } from '../estate/estate-view.js';
import { SCAN_DURATION_BUCKETS } from '../state/scan-status.js';
import {
  coverageWindowSeconds,
  verificationCoverage,
  type Coverage,
} from '../verdicts/verification-coverage.js';
import {
  estateCounter,
  estateGauge,
  seconds,
  setGauge,
  type MetricGroupContext,
  type MetricsSources,
} from './metric-sources.js';

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

/**
 * Registers `vouch_scan_last_success_timestamp_seconds` … `vouch_source_read_failures_total`
 * (scan times and durations, the newest compromise, scan and store-fault counters).
 */
export function registerScanMetrics(context: MetricGroupContext): void {
  setGauge(
    context,
    'vouch_scan_last_success_timestamp_seconds',
    'End of the last scan that read the set without a store error.',
    (set) => (set.state?.scan.lastSuccess ? seconds(set.state.scan.lastSuccess) : null),
  );
  setGauge(
    context,
    'vouch_scan_last_attempt_timestamp_seconds',
    'End of the last scan of the set that finished, whether it succeeded or failed.',
    (set) => (set.state?.scan.lastAttempt ? seconds(set.state.scan.lastAttempt) : null),
  );
  setGauge(
    context,
    'vouch_scan_max_interval_seconds',
    'How long after the last finished scan another one is due: the longest gap of the scan schedule plus an hour (sets with a scan schedule).',
    (set) =>
      set.policy.schedule?.scan
        ? longestGapSeconds(set.policy.schedule.scan, set.policy.schedule.timezone) + SCAN_GRACE_SECONDS
        : null,
  );
  context.registry.registerMetric(scanDurationHistogram(context.sources));
  setGauge(
    context,
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
    context,
    'vouch_scans_total',
    'Scans of the set recorded in the state directory.',
    (set) => set.state?.scan.runs ?? null,
  );
  estateCounter(
    context,
    'vouch_scan_failures_total',
    'Scans of the set that failed (store unreachable, listing failed).',
    (set) => set.state?.scan.failures ?? null,
  );
  estateCounter(
    context,
    'vouch_scanned_bytes_total',
    'Entry bytes read and hashed by deep reads of the set.',
    (set) => set.state?.scan.scannedBytesTotal ?? null,
  );
  estateCounter(
    context,
    'vouch_source_retries_total',
    'Store faults (throttling, 5xx, timeouts, resets, stalls) that were retried or resumed while reading the set.',
    (set) => (set.state ? (set.state.scan.transientFaultsTotal ?? 0) : null),
  );
  estateCounter(
    context,
    'vouch_source_read_failures_total',
    "Reads of the set's store given up: permanent errors, or transient ones after every retry.",
    (set) => (set.state ? (set.state.scan.readFailuresTotal ?? 0) : null),
  );
}

/** Registers `vouch_verification_*` (the window, the share of bytes read within it, the oldest ages, the daily budget). */
export function registerCoverageMetrics(context: MetricGroupContext): void {
  /** A per-set gauge from the set's verification coverage at the estate's time. */
  const coverageGauge = (
    name: string,
    help: string,
    value: (coverage: Coverage & { windowSeconds: number }) => number | null,
  ) =>
    estateGauge(context, name, help, ['set'], (gauge, view) => {
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
    context,
    'vouch_verification_daily_budget_bytes',
    "Bytes per day sampled verification may re-read from the set's store.",
    (set) => set.policy.sample?.dailyBytes ?? null,
  );
}
