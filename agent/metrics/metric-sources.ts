/**
 * Where the metrics' values come from, and the helpers every metric group builds its families
 * with. A family's values are read when Prometheus scrapes, in its `collect()`: from the estate
 * (one read per scrape, shared by every family) or from the process (scheduler, daemon).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EstateView, SetView } from '../estate/estate-view.js';
import type { SchedulerStats } from '../model/tasks.js';

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

/** What a metric group registers its families into and reads them from. */
export interface MetricGroupContext {
  registry: Registry;
  /** `[registry]`, as prom-client's metric constructors take it. */
  registers: Registry[];
  sources: MetricsSources;
}

/** Unix seconds of an ISO-8601 time. */
export const seconds = (iso: string) => Date.parse(iso) / 1000;

/** Registers a gauge whose values `fill` sets from the estate at scrape time (after a reset). */
export function estateGauge<L extends string>(
  { registers, sources }: MetricGroupContext,
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

/** Registers a per-set counter whose totals are read from state (or a tally) at scrape time; null leaves the set out. */
export function estateCounter(
  { registers, sources }: MetricGroupContext,
  name: string,
  help: string,
  value: (set: SetView) => number | null,
): void {
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

/** Registers a per-set gauge; `value` returns null to leave the series out (e.g. no clean snapshot yet). */
export function setGauge(
  context: MetricGroupContext,
  name: string,
  help: string,
  value: (set: SetView) => number | null,
): void {
  estateGauge(context, name, help, ['set'], (gauge, view) => {
    for (const set of view.sets) {
      const v = value(set);
      if (v !== null) gauge.set({ set: set.policy.name }, v);
    }
  });
}
