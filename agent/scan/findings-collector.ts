/** Collects a snapshot's findings: counts every one, keeps the first few hundred in full. */
import { MAX_STORED_FINDINGS } from '../state/set-index.js';
import type { Finding, FindingKind } from '../model/findings.js';

/** Accumulates findings with bounded memory. */
export class FindingsCollector {
  readonly kept: Finding[] = [];
  readonly counts: Partial<Record<FindingKind, number>> = {};
  total = 0;

  constructor(private readonly keep = MAX_STORED_FINDINGS) {}

  add(finding: Finding | null): void {
    if (!finding) return;
    this.total++;
    this.counts[finding.kind] = (this.counts[finding.kind] ?? 0) + 1;
    if (this.kept.length < this.keep) this.kept.push(finding);
  }

  /** Findings not kept in full. */
  get omitted(): number {
    return this.total - this.kept.length;
  }
}
