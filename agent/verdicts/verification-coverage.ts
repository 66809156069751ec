/**
 * How well a set's bytes are covered by complete reads: the facts behind the coverage metrics.
 * Pure: give it the snapshots' states and the window, get the numbers.
 */

/** What coverage needs of one snapshot's state. */
export interface CoverageFacts {
  /** Snapshot time (when its bytes appeared). */
  time: string;
  /** Bytes a read of it covers (object size, or the directory's files). */
  bytes: number;
  /** When a scan last read it completely; undefined when none ever did. */
  lastVerified?: string;
}

/** Coverage of one set. */
export interface Coverage {
  bytes: number;
  /** Bytes whose last complete read is within the window. */
  verifiedInWindow: number;
  /** verifiedInWindow / bytes (1 for a set without bytes). */
  ratio: number;
  /** Seconds since the least recently verified snapshot was last read in full; null when none was. */
  oldestVerifiedAgeSeconds: number | null;
  /** Seconds the oldest byte no scan has read completely has existed (since its snapshot time); 0 when every byte was read. */
  oldestUnverifiedAgeSeconds: number;
}

/** Coverage of `snapshots` within `windowSeconds` at `now`. */
export function verificationCoverage(
  snapshots: readonly CoverageFacts[],
  windowSeconds: number,
  now: Date,
): Coverage {
  const at = now.getTime();
  let bytes = 0;
  let verifiedInWindow = 0;
  let oldestVerified: number | null = null;
  let oldestUnverified: number | null = null;
  for (const snapshot of snapshots) {
    bytes += snapshot.bytes;
    if (snapshot.lastVerified === undefined) {
      const born = Date.parse(snapshot.time);
      if (oldestUnverified === null || born < oldestUnverified) oldestUnverified = born;
      continue;
    }
    const verified = Date.parse(snapshot.lastVerified);
    if (oldestVerified === null || verified < oldestVerified) oldestVerified = verified;
    if (at - verified <= windowSeconds * 1000) verifiedInWindow += snapshot.bytes;
  }
  return {
    bytes,
    verifiedInWindow,
    ratio: bytes > 0 ? verifiedInWindow / bytes : 1,
    oldestVerifiedAgeSeconds: oldestVerified === null ? null : Math.max(0, (at - oldestVerified) / 1000),
    oldestUnverifiedAgeSeconds: oldestUnverified === null ? 0 : Math.max(0, (at - oldestUnverified) / 1000),
  };
}

/**
 * The window a set promises to read every byte within: the sampling window; else the rehash
 * interval; else (every scan re-reads everything) the scan schedule's longest gap plus an hour;
 * null when the set promises nothing (no schedule).
 */
export function coverageWindowSeconds(
  set: {
    sample?: { windowSeconds: number };
    rehashSeconds: number;
    schedule?: { scan?: string; timezone: string };
  },
  scanGapSeconds: (expression: string, timezone: string) => number,
): number | null {
  if (set.sample) return set.sample.windowSeconds;
  if (set.rehashSeconds > 0) return set.rehashSeconds;
  if (set.schedule?.scan) return scanGapSeconds(set.schedule.scan, set.schedule.timezone) + 3600;
  return null;
}
