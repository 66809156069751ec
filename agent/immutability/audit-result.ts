/**
 * The result of an immutability audit of one set: what was checked, what held, and the findings
 * (kind `immutability`) an operator acts on. Shared by the S3 and offline audits, the ledger
 * record, the state cache, metrics and the API.
 */
import type { ImmutabilityCheck, ImmutabilityAudit } from '../model/immutability.js';

/** Builds an audit's verdict fields from its checks (pure). */
export function summariseChecks(
  checks: readonly ImmutabilityCheck[],
  policyRequiresSomething: boolean,
  location: string,
): Pick<ImmutabilityAudit, 'ok' | 'findings'> {
  const broken = checks.filter(
    (check) => check.required && (check.status === 'fail' || check.status === 'unknown'),
  );
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
