/**
 * Sampled verification: which unchanged snapshots to re-read now, so that every byte of a set is
 * read at least once per window while re-reading stays within a daily byte (egress) budget. A
 * pure function, tested without I/O.
 *
 * Backups are immutable, so an unchanged object (same size, ETag/VersionId, mtime) needs no
 * re-read to detect tampering — the listing would show it — only to catch silent corruption
 * that changes no metadata. Re-reading everything every day wastes egress; re-reading nothing
 * lets rot go unseen. The plan reads a rotation: oldest verification first, at a pace that
 * completes a full cycle well inside the window (PACE_SLACK), and anything about to fall out of
 * the window first of all.
 *
 * The budget is per day (UTC): every scan of a day draws on it, new and changed snapshots first.
 *
 * Guarantee (pinned by a property test): with at least one scan every 24 hours and a window of
 * at least 5 days, if the set's bytes fit `window days × (dailyBytes − the largest snapshot) /
 * PACE_SLACK`, every snapshot is re-read before its last read is `window` old. When the budget cannot do that the plan says
 * so (`feasible: false`) and still reads oldest first; a snapshot larger than the whole daily
 * budget is read on its own on a day nothing else was read, so it is never starved.
 */

/** An unchanged snapshot that could be re-read. */
export interface SampleCandidate {
  id: string;
  /** Bytes a re-read costs (the archive object, or the directory's files). */
  bytes: number;
  /** When it was last read completely (ms since the epoch). */
  lastVerified: number;
}

/** The policy's sampling settings. */
export interface SamplePolicy {
  windowSeconds: number;
  /** Bytes per day (UTC). */
  dailyBytes: number;
}

/** What the plan is made from. */
export interface SampleInput {
  candidates: readonly SampleCandidate[];
  /** ms since the epoch. */
  now: number;
  /** Bytes read from the set's store by deep reads since midnight UTC (new and changed snapshots included). */
  spentToday: number;
  policy: SamplePolicy;
}

export interface SamplePlan {
  /** Snapshots to re-read now, oldest verification first, each with why. */
  read: { id: string; reason: string }[];
  /** Bytes the plan reads. */
  bytes: number;
  /** Bytes per day a full cycle within the window needs (candidates' bytes / window days). */
  neededPerDay: number;
  /** False when the budget cannot keep every byte inside the window. */
  feasible: boolean;
  /** Candidates whose last read is already older than the window. */
  overdue: number;
}

const DAY_MS = 86_400_000;
/** A full cycle is paced to take 1/PACE_SLACK of the window, leaving room for scan timing and rounding. */
export const PACE_SLACK = 1.25;
/**
 * A snapshot is due when its window ends within this: today's budget may already be spent, and
 * the next day's first scan can be up to a day away.
 */
const DUE_HORIZON_MS = 2 * DAY_MS;

function daysAgo(ms: number): string {
  const days = ms / DAY_MS;
  return days < 2 ? `${Math.round(ms / 3_600_000)}h` : `${Math.round(days)}d`;
}

/** Plans the re-reads of one scan (see the module comment). */
export function planSample(input: SampleInput): SamplePlan {
  const { policy, now } = input;
  const windowMs = policy.windowSeconds * 1000;
  const windowDays = Math.max(policy.windowSeconds / 86_400, 1e-9);
  const total = input.candidates.reduce((sum, candidate) => sum + candidate.bytes, 0);
  const neededPerDay = total / windowDays;
  const largest = input.candidates.reduce((max, candidate) => Math.max(max, candidate.bytes), 0);
  // Whole snapshots are read, so a day can leave up to one snapshot's worth of its budget unused.
  const feasible = neededPerDay * PACE_SLACK <= policy.dailyBytes - largest;
  const byAge = [...input.candidates].sort(
    (a, b) => a.lastVerified - b.lastVerified || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const isDue = (candidate: SampleCandidate) => candidate.lastVerified + windowMs - DUE_HORIZON_MS <= now;
  const dueBytes = byAge.filter(isDue).reduce((sum, candidate) => sum + candidate.bytes, 0);
  const overdue = byAge.filter((candidate) => candidate.lastVerified + windowMs <= now).length;

  // Today's target: the pace, or more when snapshots are due; never more than the budget.
  const hardLeft = Math.max(0, policy.dailyBytes - input.spentToday);
  const target = Math.min(policy.dailyBytes, Math.max(neededPerDay * PACE_SLACK, dueBytes));
  let allowance = Math.max(0, target - input.spentToday);

  const read: SamplePlan['read'] = [];
  let bytes = 0;
  for (const candidate of byAge) {
    const due = isDue(candidate);
    if (!due && bytes >= allowance) break;
    if (bytes + candidate.bytes > hardLeft) {
      // Larger than a whole day's budget: read alone, on a day nothing else was read.
      const alone = candidate.bytes > policy.dailyBytes && input.spentToday === 0 && bytes === 0;
      if (!alone) break;
      allowance = 0;
    }
    bytes += candidate.bytes;
    const age = now - candidate.lastVerified;
    read.push({
      id: candidate.id,
      reason: `sampled: last read ${daysAgo(age)} ago; every byte within ${daysAgo(windowMs)}${due ? ' (due)' : ''}${candidate.bytes > policy.dailyBytes ? ' (larger than the daily budget: read alone)' : ''}`,
    });
    if (allowance === 0 && candidate.bytes > policy.dailyBytes) break;
  }
  return { read, bytes, neededPerDay, feasible, overdue };
}

/** Midnight UTC before `now` (ms since the epoch): where a day's budget starts. */
export function dayStart(now: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS;
}
