/**
 * What vouch can say about the immutability of a restic or borg repository it reaches only
 * through the tool (s3:, rest:, sftp:, ssh:// …). A repository in a local directory is audited
 * like an offline volume (offline-audit.ts). For remote ones, the protections that matter are
 * server-side and invisible to a client: a rest-server's `--append-only` mode, `borg serve
 * --append-only` forced in authorized_keys, the bucket's Object Lock behind an s3: repository.
 * vouch says so as an `unknown` check — which fails a policy that requires immutability, so a
 * remote repository is never reported protected on faith — and still checks the newest copy's age.
 */
import type { SetPolicy } from '../config/resolve-policy.js';
import type { Snapshot } from '../sources/snapshot-discovery.js';
import { summariseChecks } from './audit-result.js';
import { type ImmutabilityAudit, type ImmutabilityCheck } from '../model/immutability.js';
import { newestCopyCheck } from './offline-audit.js';

/** The protection a remote repository relies on, and why vouch cannot see it (pure). */
export function remoteProtectionCheck(set: SetPolicy): ImmutabilityCheck {
  const required = set.immutability !== undefined;
  if (set.source.kind === 'restic') {
    const repository = set.source.repository;
    if (/^(s3|b2|azure|gs|swift):/.test(repository)) {
      return {
        check: 'object-lock',
        required,
        status: 'unknown',
        detail: `${repository}: the bucket's Object Lock and versioning are not visible through restic; declare an s3 set on the same bucket and prefix with immutability.objectLock to audit them`,
      };
    }
    if (repository.startsWith('rest:')) {
      return {
        check: 'append-only',
        required,
        status: 'unknown',
        detail: `${repository}: a rest-server's --append-only mode cannot be seen by a client; run it with --append-only and keep that setting under change control`,
      };
    }
    return {
      check: 'append-only',
      required,
      status: 'unknown',
      detail: `${repository}: whether this repository can be rewritten is decided on its server, which a client cannot see`,
    };
  }
  if (set.source.kind === 'borg') {
    return {
      check: 'append-only',
      required,
      status: 'unknown',
      detail: `${set.source.repository}: \`borg serve --append-only\` (forced in the server's authorized_keys) cannot be seen by a client; vouch cannot audit it`,
    };
  }
  throw new TypeError(`set ${set.name} is not a repository set`);
}

/** Audits a remote restic or borg repository (see the module comment). */
export function auditRemoteRepository(
  set: SetPolicy,
  snapshots: readonly Snapshot[],
  now: Date,
  location: string,
): ImmutabilityAudit {
  const required = set.immutability !== undefined;
  const age = newestCopyCheck(set, snapshots, now);
  const checks: ImmutabilityCheck[] = [
    remoteProtectionCheck(set),
    { check: age.check, required: age.required && required, status: age.status, detail: age.detail },
  ];
  const summary = summariseChecks(checks, required, location);
  return {
    set: set.name,
    kind: set.source.kind === 'restic' ? 'restic' : 'borg',
    auditedAt: now.toISOString(),
    ok: summary.ok,
    protected: false,
    checks,
    findings: summary.findings,
    objectsSampled: 0,
    objectsTotal: snapshots.length,
    retentionRemainingSeconds: null,
    newestCopyAgeSeconds: age.ageSeconds,
  };
}
