/**
 * Collects a snapshot's findings: counts every one, keeps a bounded number in full.
 *
 * Which findings are kept, and their order, must not depend on the order they arrive in: the
 * analysis workers answer in whatever order they finish, so "the first few hundred" would differ
 * from run to run (and with it the stored findings, acceptance records and reports). The kept
 * findings are therefore the first `keep` in path order (then kind, then detail), held sorted.
 */
import { comparePaths } from '../integrity/path-order.js';
import { MAX_STORED_FINDINGS } from '../state/set-index.js';
import type { Finding, FindingKind } from '../model/findings.js';

/** Path order, then kind, then detail: a total order on findings. */
function compareFindings(a: Finding, b: Finding): number {
  return (
    comparePaths(a.path, b.path) ||
    (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) ||
    (a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0)
  );
}

/** Accumulates findings with bounded memory. */
export class FindingsCollector {
  /** The first `keep` findings in path order, sorted. */
  readonly kept: Finding[] = [];
  readonly counts: Partial<Record<FindingKind, number>> = {};
  total = 0;

  constructor(private readonly keep = MAX_STORED_FINDINGS) {}

  add(finding: Finding | null): void {
    if (!finding) return;
    this.total++;
    this.counts[finding.kind] = (this.counts[finding.kind] ?? 0) + 1;
    if (this.keep <= 0) return;
    const kept = this.kept;
    if (kept.length === this.keep && compareFindings(finding, kept[kept.length - 1]!) >= 0) return;
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareFindings(kept[middle]!, finding) <= 0) low = middle + 1;
      else high = middle;
    }
    kept.splice(low, 0, finding);
    if (kept.length > this.keep) kept.pop();
  }

  /** Findings not kept in full. */
  get omitted(): number {
    return this.total - this.kept.length;
  }
}
