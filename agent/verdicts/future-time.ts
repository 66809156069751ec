/**
 * Snapshots dated in the future (pure): a snapshot whose time is more than a tolerance ahead of
 * the calendar clock (agent/clock.ts) is not "fresh" — a backup tool cannot have taken it yet, so
 * its name or time was forged or mis-set. Such a snapshot is never the last clean one and no RPO
 * is measured from it; last-clean names it, with its time.
 */

/** How far ahead of the clock a snapshot time may be (clock skew, time zones mis-set by minutes). */
export const FUTURE_TOLERANCE_SECONDS = 3600;

/** The snapshot's time is more than the tolerance ahead of `now`. */
export function isFutureDated(time: string, now: Date, toleranceSeconds = FUTURE_TOLERANCE_SECONDS): boolean {
  return Date.parse(time) - now.getTime() > toleranceSeconds * 1000;
}

/** A snapshot dated in the future, and by how much. */
export interface FutureDated {
  id: string;
  time: string;
  aheadSeconds: number;
}

/** The snapshots of `snapshots` dated in the future, newest first. */
export function futureDated(snapshots: readonly { id: string; time: string }[], now: Date): FutureDated[] {
  return snapshots
    .filter((snapshot) => isFutureDated(snapshot.time, now))
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
    .map((snapshot) => ({
      id: snapshot.id,
      time: snapshot.time,
      aheadSeconds: Math.round((Date.parse(snapshot.time) - now.getTime()) / 1000),
    }));
}
