/**
 * Object Lock, retention, legal hold and lifecycle answers, which s3rver cannot give: these tests
 * use aws-sdk-client-mock to stand in for a store that has them. Everything else about S3 audits
 * runs against the real s3rver (s3-audit.test.ts).
 */
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../agent/config/load-policy.js';
import { auditSet } from '../../agent/immutability/audit-set.js';
import { sampleObjects } from '../../agent/immutability/s3-rules.js';

const s3 = mockClient(S3Client);
const now = new Date('2026-03-10T12:00:00Z');
const DAY = 86_400_000;
const snapshotTime = (day: number) => new Date(now.getTime() - day * DAY);
const key = (day: number) =>
  `orders/orders-${snapshotTime(day)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}.tar.gz`;

function policy(immutability: string) {
  return parsePolicy(
    `sets:\n  orders:\n    source: { s3: { bucket: locked-backups, prefix: orders/, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 } }\n    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' }\n    immutability: ${immutability}\n`,
    '/p.yaml',
  ).sets[0]!;
}

/** A bucket with `days` nightly archives; each object retained `retainDays` after its snapshot. */
function lockedBucket(
  days: number,
  retainDays: (day: number) => number | null,
  mode: 'COMPLIANCE' | 'GOVERNANCE' = 'COMPLIANCE',
) {
  s3.on(ListObjectsV2Command).resolves({
    IsTruncated: false,
    Contents: Array.from({ length: days }, (_, day) => ({
      Key: key(day),
      Size: 100,
      LastModified: snapshotTime(day),
      ETag: '"e"',
    })),
  });
  s3.on(GetObjectLockConfigurationCommand).resolves({
    ObjectLockConfiguration: {
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } },
    },
  });
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
  s3.on(GetBucketLifecycleConfigurationCommand).rejects(
    Object.assign(new Error('none'), {
      name: 'NoSuchLifecycleConfiguration',
      $metadata: { httpStatusCode: 404 },
    }),
  );
  for (let day = 0; day < days; day++) {
    const retain = retainDays(day);
    s3.on(GetObjectRetentionCommand, { Key: key(day) }).resolves(
      retain === null
        ? {}
        : {
            Retention: { Mode: mode, RetainUntilDate: new Date(snapshotTime(day).getTime() + retain * DAY) },
          },
    );
    s3.on(GetObjectLegalHoldCommand, { Key: key(day) }).resolves({ LegalHold: { Status: 'OFF' } });
  }
}

beforeEach(() => s3.reset());
afterEach(() => s3.reset());

const audit = (set: ReturnType<typeof policy>) =>
  auditSet(set, { stateDir: '/nonexistent-state', now: () => now });

describe('S3 immutability audit (mock S3 client for Object Lock answers)', () => {
  it('mock: passes a compliance-locked, versioned bucket whose objects are retained for the policy minimum', async () => {
    lockedBucket(5, () => 30);
    const result = await audit(policy('{ objectLock: compliance, minRetention: 30d, versioning: required }'));
    expect(result.checks.filter((check) => check.status !== 'pass' && check.status !== 'info')).toEqual([]);
    expect(result).toMatchObject({ ok: true, protected: true, objectsSampled: 5, objectsTotal: 5 });
    // the last clean snapshot is unknown (no state): the newest object's retention is reported, 30 days from today's snapshot
    expect(result.retentionRemainingSeconds).toBe(30 * 86_400);
  });

  it('mock: names each object whose retain-until ends before the policy minimum', async () => {
    lockedBucket(4, (day) => (day === 2 ? 7 : 30));
    const result = await audit(policy('{ objectLock: compliance, minRetention: 30d }'));
    expect(result.ok).toBe(false);
    expect(result.checks.find((check) => check.check === 'object-retention')).toMatchObject({
      status: 'fail',
      detail: '1 of 4 sampled objects are not locked as the policy requires',
    });
    expect(result.findings).toContainEqual(
      expect.objectContaining({
        kind: 'immutability',
        path: `s3://locked-backups/${key(2)}`,
        detail: expect.stringMatching(/before the policy minimum/),
      }),
    );
  });

  it('mock: fails governance-mode retention when the policy requires compliance, unless under legal hold', async () => {
    lockedBucket(2, () => 30, 'GOVERNANCE');
    s3.on(GetObjectLegalHoldCommand, { Key: key(0) }).resolves({ LegalHold: { Status: 'ON' } });
    const result = await audit(policy('{ objectLock: compliance }'));
    const objectFindings = result.findings.filter((finding) => finding.path.includes('.tar.gz'));
    expect(objectFindings.map((finding) => finding.path)).toEqual([`s3://locked-backups/${key(1)}`]);
    expect(objectFindings[0]!.detail).toMatch(/GOVERNANCE mode/);
    expect(result.checks.find((check) => check.check === 'legal-hold')!.detail).toBe(
      '1 of 2 sampled objects under legal hold',
    );
  });

  it('mock: fails a bucket without Object Lock, with suspended versioning, or a lifecycle rule that expires inside the retention', async () => {
    lockedBucket(2, () => null);
    s3.on(GetObjectLockConfigurationCommand).rejects(
      Object.assign(new Error('not found'), {
        name: 'ObjectLockConfigurationNotFoundError',
        $metadata: { httpStatusCode: 404 },
      }),
    );
    s3.on(GetBucketVersioningCommand).resolves({ Status: 'Suspended' });
    s3.on(GetBucketLifecycleConfigurationCommand).resolves({
      Rules: [
        { ID: 'expire-orders', Status: 'Enabled', Filter: { Prefix: 'orders/' }, Expiration: { Days: 14 } },
        { ID: 'other-prefix', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 1 } },
        {
          ID: 'old-versions',
          Status: 'Enabled',
          Filter: {},
          NoncurrentVersionExpiration: { NoncurrentDays: 3 },
        },
      ],
    });
    const result = await audit(policy('{ objectLock: any, minRetention: 30d, versioning: required }'));
    const status = Object.fromEntries(result.checks.map((check) => [check.check, check.status]));
    expect(status).toMatchObject({
      'object-lock': 'fail',
      versioning: 'fail',
      lifecycle: 'fail',
      'object-retention': 'fail',
    });
    const lifecycle = result.checks.find((check) => check.check === 'lifecycle')!.detail;
    expect(lifecycle).toContain('expire-orders expires objects after 14d');
    expect(lifecycle).toContain('old-versions deletes noncurrent versions after 3d');
    expect(lifecycle).not.toContain('other-prefix');
    expect(result).toMatchObject({ ok: false, protected: false });
  });

  it('mock: a bucket whose default mode is weaker than required fails', async () => {
    lockedBucket(1, () => 30);
    s3.on(GetObjectLockConfigurationCommand).resolves({
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 7 } },
      },
    });
    const result = await audit(policy('{ objectLock: compliance, minRetention: 30d }'));
    expect(result.checks.find((check) => check.check === 'object-lock')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('GOVERNANCE'),
    });
    expect(result.checks.find((check) => check.check === 'default-retention')).toMatchObject({
      status: 'fail',
      detail: 'default retention 7d is shorter than the policy minimum 30d',
    });
  });

  it('samples large sets: the focus object, the newest, and a window that rotates over the rest', () => {
    const objects = Array.from({ length: 1000 }, (_, i) => ({
      key: `k${i}`,
      snapshotTime: new Date(i * DAY),
    }));
    const first = sampleObjects(objects, ['k3'], 20, 0);
    const next = sampleObjects(objects, ['k3'], 20, 1);
    expect(first).toHaveLength(20);
    expect(first.map((o) => o.key)).toContain('k3');
    expect(first.map((o) => o.key)).toContain('k999');
    const rotating = (sample: typeof first) =>
      new Set(sample.map((o) => o.key).filter((k) => Number(k.slice(1)) < 980 && k !== 'k3'));
    expect([...rotating(first)].some((k) => rotating(next).has(k))).toBe(false);
    const covered = new Set<string>();
    for (let rotation = 0; rotation < 110; rotation++)
      for (const o of sampleObjects(objects, [], 20, rotation)) covered.add(o.key);
    expect(covered.size).toBe(1000);
  });
});
