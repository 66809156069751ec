/**
 * When a snapshot turned not clean — what `vouch_newest_compromise_timestamp_seconds` and the
 * VouchNewCompromise alert read. Set by scans (a verdict that turned bad) and by acceptances (a
 * revoked acceptance that makes an accepted snapshot count as not clean again is new damage as
 * far as alerts go; an acceptance that makes it clean drops it).
 */
import type { SnapshotState } from '../model/snapshot-state.js';

/**
 * The state with `notCleanSince` carried over or started: kept while the snapshot stays not
 * clean, set to `at` when it turns not clean (or arrives so), dropped when it is clean (pure).
 */
export function withNotCleanSince<
  T extends Pick<SnapshotState, 'verdict' | 'notCleanSince' | 'baseline' | 'time'>,
>(
  state: T,
  previous: Pick<SnapshotState, 'verdict' | 'notCleanSince' | 'baseline' | 'time'> | undefined,
  at: Date,
): T {
  const { notCleanSince: _dropped, ...rest } = state;
  if (state.verdict === 'clean') return rest as T;
  // A state from before this field: not clean since at least its baseline (never "new" on upgrade).
  const since =
    previous && previous.verdict !== 'clean'
      ? (previous.notCleanSince ?? previous.baseline?.createdAt ?? previous.time)
      : undefined;
  return { ...rest, notCleanSince: since ?? at.toISOString() } as T;
}
