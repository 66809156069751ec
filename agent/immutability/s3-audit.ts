/** Immutability audit of an S3 set: read the bucket's answers, sample objects, judge against the policy. */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SetPolicy, SourceSpec } from '../config/resolve-policy.js';
import { createS3Client } from '../sources/s3-client.js';
import { normalisePrefix } from '../sources/s3-source.js';
import type { Snapshot } from '../sources/snapshot-discovery.js';
import { summariseChecks } from './audit-result.js';
import { type ImmutabilityAudit } from '../model/immutability.js';
import { readBucketFacts, readObjectLockState } from './s3-facts.js';
import { judgeS3, sampleObjects, type SampledObject } from './s3-rules.js';

/** Per-object requests in flight at once. */
const OBJECT_CONCURRENCY = 8;

/** What an S3 audit needs besides the set. */
export interface S3AuditContext {
  snapshots: readonly Snapshot[];
  /** Snapshot whose retention is reported (the last clean one); the newest when null. */
  focusSnapshot: string | null;
  now: Date;
  /** Builds the client (tests inject one); default: from the set's source settings. */
  createClient?: (spec: Extract<SourceSpec, { kind: 's3' }>) => S3Client;
}

function objectsOf(snapshot: Snapshot, prefix: string): { key: string; snapshotTime: Date }[] {
  const members = snapshot.layout === 'archive' ? [snapshot.object] : snapshot.memberSample;
  return members.map((member) => ({ key: `${prefix}${member.key}`, snapshotTime: snapshot.time }));
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Audits an S3 set. Never throws for store answers; they become checks. */
export async function auditS3Set(set: SetPolicy, context: S3AuditContext): Promise<ImmutabilityAudit> {
  if (set.source.kind !== 's3') throw new TypeError(`set ${set.name} is not an S3 set`);
  const spec = set.source;
  const prefix = normalisePrefix(spec.prefix);
  const client = (context.createClient ?? createS3Client)(spec);
  try {
    const facts = await readBucketFacts(client, spec.bucket);
    const newest = context.snapshots.at(-1);
    const focus = context.snapshots.find((snapshot) => snapshot.id === context.focusSnapshot) ?? newest;
    const all = context.snapshots.flatMap((snapshot) => objectsOf(snapshot, prefix));
    const focusKeys = focus ? objectsOf(focus, prefix).map((object) => object.key) : [];
    const budget = set.immutability?.sampleObjects ?? 200;
    const rotation = Math.floor(context.now.getTime() / 86_400_000);
    const chosen = sampleObjects(all, focusKeys, budget, rotation);
    const sampled: SampledObject[] = await mapLimited(chosen, OBJECT_CONCURRENCY, async (object) => ({
      ...object,
      state: await readObjectLockState(client, spec.bucket, object.key),
    }));
    const judgement = judgeS3({
      policy: set.immutability,
      facts,
      prefix,
      sampled,
      focusKeys,
      now: context.now,
    });
    const summary = summariseChecks(
      judgement.checks,
      set.immutability !== undefined,
      `s3://${spec.bucket}/${prefix}`,
    );
    return {
      set: set.name,
      kind: 's3',
      auditedAt: context.now.toISOString(),
      ok: summary.ok,
      protected: judgement.protected,
      checks: judgement.checks,
      findings: [...summary.findings, ...judgement.objectFindings],
      objectsSampled: sampled.length,
      objectsTotal: all.length,
      retentionRemainingSeconds: judgement.retentionRemainingSeconds,
      newestCopyAgeSeconds: newest
        ? Math.max(0, (context.now.getTime() - newest.time.getTime()) / 1000)
        : null,
    };
  } finally {
    client.destroy();
  }
}
