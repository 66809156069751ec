/**
 * Runs the immutability audit of one set and records it: ledger record `immutability-audit`, and
 * the state cache that metrics and the API read. A store that cannot be listed gives an audit
 * whose checks are `unknown` (so `ok` is false), never an exception.
 */
import { describeSource, localRepositoryPath, type SetPolicy } from '../config/resolve-policy.js';
import { describeError } from '../errors.js';
import type { BackupSource } from '../sources/backup-source.js';
import { createSource } from '../sources/create-source.js';
import { discoverSourceSnapshots, type Snapshot } from '../sources/snapshot-discovery.js';
import { writeImmutabilityAudit } from '../state/immutability-store.js';
import type { LedgerStore } from '../ledger/ledger-store.js';
import { readSetIndex, snapshotOwners } from '../state/set-index.js';
import { lastCleanSnapshot } from '../verdicts/last-clean.js';
import { summariseChecks } from './audit-result.js';
import { type ImmutabilityAudit } from '../model/immutability.js';
import { auditOfflineSet, type OfflineAuditContext } from './offline-audit.js';
import { auditRemoteRepository } from './repository-audit.js';
import type { S3AuditContext } from './s3-audit.js';
import { now as clockNow } from '../clock.js';

/** Whether a set is audited: it declares immutability requirements or is a copy in a data set. */
export function needsAudit(set: SetPolicy, datasetCopies: ReadonlySet<string>): boolean {
  return set.immutability !== undefined || datasetCopies.has(set.name);
}

/** Options for an audit. */
export interface AuditOptions {
  stateDir: string;
  now?: () => Date;
  createSource?: (set: SetPolicy) => BackupSource | Promise<BackupSource>;
  s3Client?: S3AuditContext['createClient'];
  mountInfo?: OfflineAuditContext['mountInfo'];
}

async function listSnapshots(set: SetPolicy, options: AuditOptions): Promise<Snapshot[]> {
  const source = await (options.createSource ?? ((s: SetPolicy) => createSource(s.source, { set: s.name })))(
    set,
  );
  try {
    const owners = snapshotOwners(await readSetIndex(options.stateDir, set.name));
    return (await discoverSourceSnapshots(source, { ...set, owners })).snapshots;
  } finally {
    await source.close().catch(() => undefined);
  }
}

/** Audits one set (no recording). */
export async function auditSet(set: SetPolicy, options: AuditOptions): Promise<ImmutabilityAudit> {
  const now = (options.now ?? clockNow)();
  try {
    const snapshots = await listSnapshots(set, options);
    if (set.source.kind === 'fs' || localRepositoryPath(set.source) !== null) {
      return await auditOfflineSet(set, {
        snapshots,
        now,
        ...(options.mountInfo ? { mountInfo: options.mountInfo } : {}),
      });
    }
    if (set.source.kind !== 's3')
      return auditRemoteRepository(set, snapshots, now, describeSource(set.source));
    const index = await readSetIndex(options.stateDir, set.name);
    const focusSnapshot = lastCleanSnapshot(Object.values(index.snapshots))?.id ?? null;
    // Loaded on first use, like the S3 source: offline-only runs never pay for the AWS SDK.
    const { auditS3Set } = await import('./s3-audit.js');
    return await auditS3Set(set, {
      snapshots,
      focusSnapshot,
      now,
      ...(options.s3Client ? { createClient: options.s3Client } : {}),
    });
  } catch (error) {
    const location = describeSource(set.source);
    const checks = [
      {
        check: 'audit',
        required: true,
        status: 'unknown' as const,
        detail: `could not audit ${location}: ${describeError(error)}`,
      },
    ];
    const summary = summariseChecks(checks, true, location);
    return {
      set: set.name,
      kind: set.source.kind,
      auditedAt: now.toISOString(),
      ok: set.immutability ? summary.ok : null,
      protected: false,
      checks,
      findings: summary.findings,
      objectsSampled: 0,
      objectsTotal: 0,
      retentionRemainingSeconds: null,
      newestCopyAgeSeconds: null,
    };
  }
}

/** Records an audit: ledger first (the evidence), then the state cache. The caller holds the state lock. */
export async function recordAudit(
  stateDir: string,
  ledger: LedgerStore,
  audit: ImmutabilityAudit,
): Promise<void> {
  await ledger.append('immutability-audit', {
    set: audit.set,
    kind: audit.kind,
    auditedAt: audit.auditedAt,
    ok: audit.ok,
    protected: audit.protected,
    checks: audit.checks,
    findings: audit.findings.length,
    objectsSampled: audit.objectsSampled,
    objectsTotal: audit.objectsTotal,
  });
  await writeImmutabilityAudit(stateDir, audit);
}
