/**
 * An immutability audit of one set, as stored by state/immutability-store.ts and produced by immutability/.
 * Types only (model/ imports nothing else of vouch).
 */
import type { Finding } from './findings.js';

/** How one check came out. `unknown`: the store could not answer (never counted as compliant). */
export type CheckStatus = 'pass' | 'fail' | 'unknown' | 'info';

/** One check of an audit. */
export interface ImmutabilityCheck {
  /** Stable name, e.g. `object-lock`, `versioning`, `lifecycle`, `object-retention`, `read-only`. */
  check: string;
  status: CheckStatus;
  /** Whether the policy demands this check pass (a failed or unknown required check fails the audit). */
  required: boolean;
  detail: string;
}

/** An audit of one set. */
export interface ImmutabilityAudit {
  set: string;
  /** The set's source kind (restic and borg: their repository). */
  kind: 's3' | 'fs' | 'restic' | 'borg';
  /** ISO-8601. */
  auditedAt: string;
  /** Every required check passed; null when the policy requires nothing of this set. */
  ok: boolean | null;
  /** The copy is protected against rewrites (Object Lock in force, or a read-only/unwritable offline copy). */
  protected: boolean;
  checks: ImmutabilityCheck[];
  /** One finding per failed or unanswerable required check, naming the bucket, volume or object. */
  findings: Finding[];
  /** Objects whose per-object retention and legal hold were read, of how many. */
  objectsSampled: number;
  objectsTotal: number;
  /** Seconds until the Object Lock retention of the last clean (else newest) snapshot ends; null when unknown. */
  retentionRemainingSeconds: number | null;
  /** Age of the newest snapshot at audit time; null when the set has none. */
  newestCopyAgeSeconds: number | null;
}
