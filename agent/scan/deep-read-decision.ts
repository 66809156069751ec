/** Whether a snapshot needs its content re-read this scan, and why (pure). */
import type { ObjectIdentity } from '../model/manifest.js';
import { objectIdentityChanges } from '../integrity/drift.js';
import type { SetIndex, SnapshotState } from '../model/snapshot-state.js';

/** The facts the decision needs. */
export interface DeepReadFacts {
  hasBaseline: boolean;
  previous: SnapshotState | undefined;
  /** Archive layout: the object as listed now. */
  object?: ObjectIdentity;
  /** Directory layout: fingerprint of the listing now. */
  listingFingerprint?: string;
  /** 0 = re-hash on every scan; Infinity = never by age (sampled verification decides). */
  rehashSeconds: number;
  now: Date;
  /**
   * The run an interrupted scan left to resume: a snapshot it already read (unchanged since)
   * is not read again by the run that continues it.
   */
  resumingRun?: string;
}

/**
 * A reason to read the snapshot's bytes, or null when the cheap metadata pass suffices: it has a
 * baseline, the last read was complete and recent enough (or made by the interrupted run being
 * resumed), and the store reports the same objects (size, ETag, VersionId, mtime) as then.
 */
export function deepReadReason(facts: DeepReadFacts): string | null {
  const { previous } = facts;
  if (!facts.hasBaseline) return 'no baseline yet';
  if (!previous?.lastDeepScan) return 'never read in full';
  if (!previous.complete) return 'last read was incomplete';
  if (facts.object && previous.object) {
    const changes = objectIdentityChanges(previous.object, facts.object, true);
    if (changes.length) return `object changed (${changes.join(', ')})`;
  }
  if (facts.listingFingerprint && previous.listing?.fingerprint !== facts.listingFingerprint)
    return 'listing changed';
  if (facts.resumingRun !== undefined && previous.runId === facts.resumingRun) return null;
  if (facts.rehashSeconds === 0) return 'policy re-hashes on every scan';
  const age = (facts.now.getTime() - Date.parse(previous.lastDeepScan)) / 1000;
  if (age >= facts.rehashSeconds) return `last full read ${Math.round(age / 3600)}h ago`;
  return null;
}

/**
 * Whether a scan of a set reads snapshots in full whatever discovery finds (pure): none of it
 * has been recorded yet, or its policy re-hashes on every scan (`rehashSeconds` 0 without
 * sampling). The scan then boots the analysis workers while discovery lists the store.
 */
export function expectsDeepRead(
  set: { rehashSeconds: number; sample?: unknown },
  index: Pick<SetIndex, 'snapshots'>,
): boolean {
  return Object.keys(index.snapshots).length === 0 || (set.rehashSeconds === 0 && !set.sample);
}
