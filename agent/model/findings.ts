/**
 * Findings: the facts a scan reports about one snapshot. Kinds are part of the JSON contract
 * (`--json` output, the ledger, the API): values may be added, never renamed.
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
  'corrupted',
  'structure-invalid',
  'magic-mismatch',
  'ransom-note',
  'extension-change',
  'mass-change',
  'immutability',
  'unsafe-entry',
  'read-error',
  'no-snapshots',
  'snapshot-removed',
  'snapshot-replaced',
  'foreign-object',
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
  /**
   * What the finding is about, as the scan read it: `ALGORITHM:HEX` of a file's bytes (the set's
   * digest algorithm), `link:TARGET` for a link. Absent when nothing was read at the path (a
   * missing file, a finding about the whole snapshot, a name that was refused). Acceptances
   * match on it, so a file that changes again is judged again.
   */
  contentId?: string;
  /** Set when a person accepted this finding as known and harmless (`vouch accept`): it stays listed but no longer counts. */
  accepted?: AcceptanceMark;
}

/** Who accepted a finding, when and why: the `finding-acceptance` ledger record that covers it. */
export interface AcceptanceMark {
  /** The acceptance's id: the ledger seq of its `finding-acceptance` record. */
  id: number;
  by: string;
  /** ISO-8601 time of the acceptance. */
  at: string;
  reason: string;
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
