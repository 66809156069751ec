/**
 * The result of an immutability audit of one set: what was checked, what held, and the findings
 * (kind `immutability`) an operator acts on. Shared by the S3 and offline audits, the ledger
 * record, the state cache, metrics and the API.
 */
import type { Finding } from '../verdicts/findings.js';

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

/** Builds an audit's verdict fields from its checks (pure). */
export function summariseChecks(checks: readonly ImmutabilityCheck[], policyRequiresSomething: boolean, location: string): Pick<ImmutabilityAudit, 'ok' | 'findings'> {
  const broken = checks.filter((check) => check.required && (check.status === 'fail' || check.status === 'unknown'));
  return {
    ok: policyRequiresSomething ? broken.length === 0 : null,
    findings: broken.map((check) => ({
      kind: 'immutability' as const,
      path: location,
      severity: check.status === 'fail' ? ('critical' as const) : ('warning' as const),
      detail: `${check.check}: ${check.detail}`,
    })),
  };
}
