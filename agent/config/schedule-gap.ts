/** How far apart a cron schedule's runs are, for "is the last run overdue" decisions. */
import { createTask } from 'node-cron';

// Metrics ask on every scrape; a schedule's gaps do not change (daylight-saving shifts aside).
const gaps = new Map<string, number>();

/**
 * The longest gap, in seconds, between the next `samples` runs of `expression` in `timezone`
 * (e.g. 604800 for a weekly schedule). The task is created only to ask for its run times and is
 * destroyed at once.
 */
export function longestGapSeconds(expression: string, timezone: string, samples = 16): number {
  const key = `${expression}\0${timezone}\0${samples}`;
  const known = gaps.get(key);
  if (known !== undefined) return known;
  const task = createTask(expression, () => undefined, { timezone });
  try {
    const runs = task.getNextRuns(samples);
    let gap = 0;
    for (let i = 1; i < runs.length; i++)
      gap = Math.max(gap, (runs[i]!.getTime() - runs[i - 1]!.getTime()) / 1000);
    gaps.set(key, gap);
    return gap;
  } finally {
    void task.destroy();
  }
}

/** Grace added to a drill schedule's gap before a drill counts as overdue. */
export const DRILL_GRACE_SECONDS = 3600;

/**
 * How old the last passed drill of a set may be before the set is not ready: the policy's
 * `drill.maxAge`, else the drill schedule's longest gap plus an hour; null when the set has no drills.
 */
export function drillMaxAgeSeconds(set: {
  drill?: { maxAgeSeconds?: number };
  schedule?: { drill?: string; timezone: string };
}): number | null {
  if (set.drill?.maxAgeSeconds !== undefined) return set.drill.maxAgeSeconds;
  if (!set.schedule?.drill) return null;
  return longestGapSeconds(set.schedule.drill, set.schedule.timezone) + DRILL_GRACE_SECONDS;
}
