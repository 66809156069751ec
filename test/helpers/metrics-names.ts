/** Names of every metric the agent's registry exports (collected once with an empty estate). */
import { createMetricsRegistry } from '../../agent/metrics/metrics.js';

/** Metric names as they appear in /metrics (counters with their `_total`). */
export async function exportedMetricNames(): Promise<Set<string>> {
  const registry = createMetricsRegistry({
    estate: async () => ({
      at: new Date(),
      sets: [],
      datasets: [],
      evidence: { ok: true, records: 0, keyFingerprints: [] },
    }),
    scheduler: () => ({ tasks: [], running: 0, queued: 0 }),
    daemon: () => ({ reloads: 0, reloadFailures: 0, lastReloadSuccess: 0 }),
  });
  return new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
}

/** `vouch_*` metric names in a PromQL expression (a histogram's `_bucket` series named by the histogram). */
export function vouchMetricsIn(expr: string): string[] {
  return [...expr.matchAll(/\bvouch_[a-z0-9_]+/g)].map((match) => match[0].replace(/_bucket$/, ''));
}
