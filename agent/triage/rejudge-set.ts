/**
 * A set's stored results judged again with its acceptances (pure): every snapshot's findings
 * marked, its verdict from the findings that still count, and the verdicts that changed.
 */
import type { VerdictEffect } from '../ledger/acceptance-records.js';
import type { SetIndex } from '../model/snapshot-state.js';
import {
  acceptanceMatcher,
  markSetFindings,
  withAcceptances,
  type LocatedFinding,
} from '../verdicts/acceptance.js';
import { type Acceptance } from '../model/acceptance.js';
import type { EncryptionThresholds } from '../verdicts/snapshot-verdict.js';
import { withNotCleanSince } from '../verdicts/not-clean-since.js';

/**
 * The index judged with `acceptances`, and the snapshots whose verdict changed (oldest first).
 * With `at` (a committed acceptance or revocation), each snapshot's `notCleanSince` follows its
 * new verdict: dropped when it turns clean, started at `at` when it turns not clean again (a
 * revoked acceptance re-fires the new-compromise alert), kept otherwise.
 */
export function rejudgeSet(
  index: SetIndex,
  acceptances: readonly Acceptance[],
  thresholds: EncryptionThresholds,
  at?: Date,
): { index: SetIndex; changes: VerdictEffect[] } {
  const matcher = acceptanceMatcher(acceptances);
  const changes: VerdictEffect[] = [];
  const snapshots: SetIndex['snapshots'] = {};
  for (const [id, before] of Object.entries(index.snapshots)) {
    const judged = withAcceptances(before, id, matcher, thresholds);
    const after = at ? withNotCleanSince(judged, before, at) : judged;
    if (after.verdict !== before.verdict)
      changes.push({ snapshot: id, from: before.verdict, to: after.verdict });
    snapshots[id] = after;
  }
  changes.sort(
    (a, b) => Date.parse(index.snapshots[a.snapshot]!.time) - Date.parse(index.snapshots[b.snapshot]!.time),
  );
  return {
    index: {
      ...index,
      snapshots,
      ...(index.setFindings ? { setFindings: markSetFindings(index.setFindings, matcher) } : {}),
    },
    changes,
  };
}

/** Every listed finding of a set where it was found: each snapshot's, then the set's own. */
export function locatedFindings(index: SetIndex): LocatedFinding[] {
  const located: LocatedFinding[] = [];
  for (const [snapshot, state] of Object.entries(index.snapshots))
    for (const finding of state.findings) located.push({ snapshot, finding });
  for (const finding of index.setFindings ?? []) located.push({ snapshot: null, finding });
  return located;
}
