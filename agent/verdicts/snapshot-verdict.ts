/** Snapshot verdicts from findings: pure, so every rule is tested without I/O. */
import { DRIFT_KINDS, type FindingKind } from './findings.js';

/** What vouch concludes about one snapshot. */
export type Verdict = 'clean' | 'suspicious' | 'compromised' | 'unverified';

/** Every verdict, worst first. */
export const VERDICTS: readonly Verdict[] = ['compromised', 'suspicious', 'unverified', 'clean'];

/** The facts a verdict is decided from. */
export interface VerdictInput {
  /** Number of findings of each kind. */
  findingCounts: Partial<Record<FindingKind, number>>;
  /** False when some bytes of the snapshot were not read (error, truncation, cap). */
  complete: boolean;
}

/**
 * Integrity verdict: any drift in an immutable snapshot → compromised; anything not read →
 * unverified (never clean); unsafe entries (path traversal, devices, link tricks) → suspicious.
 */
export function snapshotVerdict({ findingCounts, complete }: VerdictInput): Verdict {
  const has = (kind: FindingKind) => (findingCounts[kind] ?? 0) > 0;
  if ([...DRIFT_KINDS].some(has)) return 'compromised';
  if (!complete || has('read-error')) return 'unverified';
  if (has('unsafe-entry')) return 'suspicious';
  return 'clean';
}
