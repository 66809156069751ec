/**
 * Every metric vouch exports (prefix `vouch_`), registered here group by group: per-set readiness
 * and verdicts (set-metrics.ts), scans and verification coverage (scan-metrics.ts), drills and
 * RTO/RPO (drill-metrics.ts), immutability, data sets and evidence (protection-metrics.ts), and
 * the process's own facts (process-metrics.ts). Values are read when Prometheus scrapes, in each
 * metric's `collect()`: point-in-time facts from the state directory (through `estate()`, read
 * once per scrape), process counters from the scheduler. Labels are bounded: `set` and `dataset`
 * (from the policy), `verdict`, `kind`, `phase`, `check`, `part`, `task` (fixed lists) — never
 * paths, ids or hashes.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createEstateCache } from '../estate/estate-cache.js';
import { registerDrillMetrics } from './drill-metrics.js';
import type { MetricGroupContext, MetricsSources } from './metric-sources.js';
import { registerBuildInfo, registerDaemonMetrics, registerSchedulerMetrics } from './process-metrics.js';
import { registerEvidenceMetrics, registerImmutabilityMetrics } from './protection-metrics.js';
import { registerCoverageMetrics, registerScanMetrics } from './scan-metrics.js';
import { registerFindingMetrics, registerReadinessMetrics } from './set-metrics.js';

/** How long one estate read serves the metrics of a scrape (they are collected one after another). */
const SCRAPE_WINDOW_MS = 1000;

/** The Node.js process metrics, less the gauges prom-client names like counters. */
function registerProcessDefaults(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges *_total, which the naming rules (and `promtool check metrics`)
  // reserve for counters; their information is in nodejs_active_* by type anyway.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
}

/**
 * Builds vouch's own registry with every metric (plus the Node.js process metrics). The groups
 * register in this order, which is the order of the exposition (test/metrics/exposition.test.ts
 * pins it).
 */
export function createMetricsRegistry(input: MetricsSources): Registry {
  // One estate read shared by every metric of a scrape: concurrent and closely following calls reuse it.
  const estate = createEstateCache({ load: () => input.estate(), ttlMs: SCRAPE_WINDOW_MS });
  const registry = new Registry();
  const context: MetricGroupContext = {
    registry,
    registers: [registry],
    sources: { ...input, estate: estate.get },
  };
  registerProcessDefaults(registry);
  registerReadinessMetrics(context);
  registerFindingMetrics(context);
  registerScanMetrics(context);
  registerCoverageMetrics(context);
  registerDrillMetrics(context);
  registerImmutabilityMetrics(context);
  registerEvidenceMetrics(context);
  registerBuildInfo(context);
  registerSchedulerMetrics(context);
  registerDaemonMetrics(context);
  return registry;
}
