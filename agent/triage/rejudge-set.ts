/**
 * A set's stored results judged again with its acceptances (pure): every snapshot's findings
 * marked, its verdict from the findings that still count, and the verdicts that changed.
 */
import type { VerdictEffect } from '../ledger/acceptance-records.js';
import type { SetIndex } from '../model/snapshot-state.js';
import { acceptanceMatcher, markSetFindings, withAcceptances, type LocatedFinding } from '../verdicts/acceptance.js';
import { type Acceptance } from '../model/acceptance.js';
import type { EncryptionThresholds } from '../verdicts/snapshot-verdict.js';

/** The index judged with `acceptances`, and the snapshots whose verdict changed (oldest first). */
export function rejudgeSet(index: SetIndex, acceptances: readonly Acceptance[], thresholds: EncryptionThresholds): { index: SetIndex; changes: VerdictEffect[] } {
  const matcher = acceptanceMatcher(acceptances);
  const changes: VerdictEffect[] = [];
  const snapshots: SetIndex['snapshots'] = {};
  for (const [id, before] of Object.entries(index.snapshots)) {
    const after = withAcceptances(before, id, matcher, thresholds);
    if (after.verdict !== before.verdict) changes.push({ snapshot: id, from: before.verdict, to: after.verdict });
    snapshots[id] = after;
  }
  changes.sort((a, b) => Date.parse(index.snapshots[a.snapshot]!.time) - Date.parse(index.snapshots[b.snapshot]!.time));
  return {
    index: { ...index, snapshots, ...(index.setFindings ? { setFindings: markSetFindings(index.setFindings, matcher) } : {}) },
    changes,
  };
}

/** Every listed finding of a set where it was found: each snapshot's, then the set's own. */
export function locatedFindings(index: SetIndex): LocatedFinding[] {
  const located: LocatedFinding[] = [];
  for (const [snapshot, state] of Object.entries(index.snapshots)) for (const finding of state.findings) located.push({ snapshot, finding });
  for (const finding of index.setFindings ?? []) located.push({ snapshot: null, finding });
  return located;
}
