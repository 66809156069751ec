/**
 * Findings: the facts a scan reports about one snapshot. Kinds are part of the JSON contract
 * (DESIGN.md): values may be added, never renamed.
 */

/** Every kind of finding vouch reports. */
export const FINDING_KINDS = [
  'drift-modified',
  'drift-missing',
  'drift-added',
  'drift-truncated',
  'drift-object-changed',
  'sums-mismatch',
  'encrypted',
  'structure-invalid',
  'magic-mismatch',
  'ransom-note',
  'extension-change',
  'mass-change',
  'immutability',
  'unsafe-entry',
  'read-error',
  'no-snapshots',
] as const;

/** One kind of finding. */
export type FindingKind = (typeof FINDING_KINDS)[number];

/** How bad a finding is on its own. */
export type Severity = 'info' | 'warning' | 'critical';

/** One finding about one entry (or the snapshot object itself, when `path` is the object key). */
export interface Finding {
  kind: FindingKind;
  /** Normalised entry path, or the raw name when the name itself was rejected. */
  path: string;
  severity: Severity;
  /** One sentence a human can act on. */
  detail: string;
}

/** Drift kinds: any of them in an immutable snapshot means it was changed after it was taken. */
export const DRIFT_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'drift-modified',
  'drift-missing',
  'drift-added',
  'drift-truncated',
  'drift-object-changed',
  'sums-mismatch',
]);
