/**
 * Reading the original of an overwritten archive back by its S3 VersionId — `--snapshot ID@VERSION`
 * for drills and recoveries, and the snapshot-replaced finding naming the baselined version. s3rver
 * has no versioning, so the version calls run against a mock S3 client (aws-sdk-client-mock) that
 * keeps versions the way a versioned bucket does; what s3rver can show (no versions: a clear
 * error) is tested on the real s3rver in snapshot-versions-s3rver.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type GetObjectCommandInput,
  type HeadObjectCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { Policy } from '../../agent/config/resolve-policy.js';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { SnapshotVersionError, splitVersion } from '../../agent/drills/snapshot-version.js';
import { runRecovery } from '../../agent/recover/run-recovery.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { createTestHttpApp } from '../helpers/http-app.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';

const s3 = mockClient(S3Client);
const KEY = 'orders/orders-20261101.tar.gz';
const ID = 'orders-20261101';

interface Version {
  id: string;
  body: Buffer;
  mtime: Date;
}

/** An in-memory versioned bucket behind the mock: every put a new version, reads of the current one unless a VersionId is named. */
class VersionedBucket {
  readonly versions = new Map<string, Version[]>();
  readonly gets: GetObjectCommandInput[] = [];
  private next = 1;
  constructor(private readonly versioning: boolean) {}

  put(key: string, body: Buffer, mtime: Date): string {
    const id = this.versioning
      ? `v${this.next++}-${createHash('md5').update(body).digest('hex').slice(0, 6)}`
      : 'null';
    this.versions.set(key, [...(this.versioning ? (this.versions.get(key) ?? []) : []), { id, body, mtime }]);
    return id;
  }

  private find(key: string, versionId: string | undefined): Version {
    const all = this.versions.get(key);
    if (!all)
      throw Object.assign(new Error('The specified key does not exist.'), {
        name: 'NoSuchKey',
        $metadata: { httpStatusCode: 404 },
      });
    if (versionId === undefined || !this.versioning) return all.at(-1)!; // an unversioned store ignores VersionId
    const found = all.find((version) => version.id === versionId);
    if (!found) {
      if (!/^v\d+-/.test(versionId))
        throw Object.assign(new Error('Invalid version id specified'), {
          name: 'InvalidArgument',
          $metadata: { httpStatusCode: 400 },
        });
      throw Object.assign(new Error('The specified version does not exist.'), {
        name: 'NoSuchVersion',
        $metadata: { httpStatusCode: 404 },
      });
    }
    return found;
  }

  private identity(version: Version) {
    return {
      ETag: `"${createHash('md5').update(version.body).digest('hex')}"`,
      LastModified: version.mtime,
      ...(this.versioning ? { VersionId: version.id } : {}),
    };
  }

  install(): void {
    s3.on(ListObjectsV2Command).callsFake(() => ({
      IsTruncated: false,
      Contents: [...this.versions].map(([key, all]) => ({
        Key: key,
        Size: all.at(-1)!.body.length,
        ...this.identity(all.at(-1)!),
      })),
    }));
    s3.on(HeadObjectCommand).callsFake((input: HeadObjectCommandInput) => {
      const version = this.find(input.Key!, input.VersionId);
      return { ContentLength: version.body.length, ...this.identity(version) };
    });
    s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
      this.gets.push(input);
      const version = this.find(input.Key!, input.VersionId);
      const identity = this.identity(version);
      if (input.IfMatch !== undefined && input.IfMatch !== identity.ETag) {
        throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
          name: 'PreconditionFailed',
          $metadata: { httpStatusCode: 412 },
        });
      }
      return { Body: Readable.from([version.body]), ContentLength: version.body.length, ...identity };
    });
  }
}

function policyFor(state: string): Policy {
  return validatePolicy(
    {
      sets: {
        orders: {
          source: {
            s3: {
              bucket: 'locked-backups',
              prefix: 'orders/',
              endpoint: 'http://127.0.0.1:1',
              region: 'us-east-1',
              forcePathStyle: true,
              maxAttempts: 1,
            },
          },
          snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8})\\.tar\\.gz$' },
          drill: { pick: 'latest' },
        },
      },
    },
    'test policy',
    state,
  );
}

/** Encrypted-looking bytes that replace the archive (what ransomware uploads under the same key). */
const ransomed = (length: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 2654435761) >>> 24));

let state: string;
beforeEach(async () => {
  s3.reset();
  state = await mkdtemp(path.join(tmpdir(), 'vouch-versions-'));
});
afterEach(() => s3.reset());

describe('snapshot versions — mock client (s3rver has no versioning)', () => {
  it('mock client (s3rver has no versioning): records the baselined VersionId, names it in snapshot-replaced, and drills and recovers that version after an overwrite', async () => {
    const bucket = new VersionedBucket(true);
    const original = await buildTarGz(sampleFiles(3));
    const v1 = bucket.put(KEY, original, new Date('2026-11-01T02:00:00Z'));
    bucket.install();
    const policy = policyFor(state);
    const set = policy.sets[0]!;

    const first = await runScan(policy, { stateDir: state });
    expect(first.sets[0]!.snapshots[0]).toMatchObject({ id: ID, verdict: 'clean' });
    const baselined = (await readSetIndex(state, 'orders')).snapshots[ID]!;
    expect(baselined.baseline?.versionId).toBe(v1);
    expect(baselined.object?.versionId).toBe(v1);

    // Ransomware re-uploads an encrypted archive under the same key; Object Lock kept v1.
    const v2 = bucket.put(KEY, ransomed(original.length + 77), new Date('2026-11-05T03:00:00Z'));
    const second = await runScan(policy, { stateDir: state });
    const replaced = second.sets[0]!.findings?.find((finding) => finding.kind === 'snapshot-replaced');
    expect(replaced?.detail).toContain(`VersionId ${v1} → ${v2}`);
    expect(replaced?.detail).toContain(
      `the baselined version ${v1} is still in the store: vouch recover orders --snapshot ${ID}@${v1} --to DIR restores it`,
    );

    // The drill reads exactly v1 (GetObject VersionId) and checks it against the baseline taken from it.
    bucket.gets.length = 0;
    const drill = await runDrillReport(set, { stateDir: state, snapshot: `${ID}@${v1}` });
    expect(drill).toMatchObject({ outcome: 'passed', snapshot: ID, snapshotVersion: v1 });
    expect(drill.verifiers.find((verifier) => verifier.verifier === 'digest')).toMatchObject({
      status: 'passed',
    });
    expect(drill.notes.join('\n')).toContain(`the version its baseline was taken from`);
    expect(bucket.gets.length).toBeGreaterThan(0);
    expect(bucket.gets.every((get) => get.VersionId === v1 && get.IfMatch === undefined)).toBe(true);
    const recorded = (await readDrillIndex(state, 'orders')).drills.at(-1)!;
    expect(recorded).toMatchObject({ id: drill.id, snapshotVersion: v1, outcome: 'passed' });

    // The current (encrypted) object fails its drill; the version drill did not make it restorable.
    const current = await runDrillReport(set, { stateDir: state, snapshot: ID });
    expect(current.outcome).toBe('failed');
    expect(current.snapshotVersion).toBeUndefined();

    // The console's drill history says which drill read a stored version, and which the current object.
    const page = await (await createTestHttpApp(policy, state).request('/sets/orders')).text();
    const rows = page.match(/<tr data-drill="[^"]+"[\s\S]*?<\/tr>/g) ?? [];
    const row = (id: string) => rows.find((html) => html.includes(`data-drill="${id}"`)) ?? '';
    expect(row(drill.id)).toContain(`data-snapshot-version="${v1}"`);
    expect(row(drill.id)).toContain('not the current object');
    expect(row(current.id)).not.toContain('data-snapshot-version');

    // recover --snapshot ID@v1 restores the original, every file verified against the baseline.
    const to = path.join(state, '..', `recovered-${path.basename(state)}`);
    const recovery = await runRecovery(set, { stateDir: state, dryRun: false, to, snapshot: `${ID}@${v1}` });
    expect(recovery.plan).toMatchObject({ mode: 'snapshot', version: v1, flagged: [] });
    expect(recovery.outcome).toMatchObject({ complete: true, verified: 4, unrestored: [] });
    expect(await readFile(path.join(to, 'README.txt'), 'utf8')).toBe('backup of day 3\n');

    // A version the store does not hold: a usage error naming set, snapshot and version; nothing recorded.
    const drills = (await readDrillIndex(state, 'orders')).drills.length;
    await expect(runDrillReport(set, { stateDir: state, snapshot: `${ID}@v9-000000` })).rejects.toThrow(
      new RegExp(
        `^set orders: snapshot ${ID}@v9-000000: the store holds no such version of orders-20261101\\.tar\\.gz`,
      ),
    );
    await expect(
      runDrillReport(set, { stateDir: state, snapshot: `${ID}@v9-000000` }),
    ).rejects.toBeInstanceOf(SnapshotVersionError);
    expect((await readDrillIndex(state, 'orders')).drills.length).toBe(drills);
    await expect(
      runRecovery(set, { stateDir: state, dryRun: true, snapshot: `${ID}@${v2}` }),
    ).rejects.toThrow(`no baseline was recorded for that version (its baseline is of version ${v1})`);
  });

  it('mock client (s3rver has no versioning): a store that ignores or rejects VersionId is named as keeping no versions, never read as the current object', async () => {
    const bucket = new VersionedBucket(false);
    bucket.put(KEY, await buildTarGz(sampleFiles(3)), new Date('2026-11-01T02:00:00Z'));
    bucket.install();
    const policy = policyFor(state);
    await runScan(policy, { stateDir: state });
    expect((await readSetIndex(state, 'orders')).snapshots[ID]!.baseline?.versionId).toBeUndefined();
    await expect(
      runDrillReport(policy.sets[0]!, { stateDir: state, snapshot: `${ID}@v1-abcdef` }),
    ).rejects.toThrow(
      `set orders: snapshot ${ID}@v1-abcdef: the store does not keep versions of it (is versioning enabled on the bucket?)`,
    );
    expect((await readDrillIndex(state, 'orders')).drills).toEqual([]);
  });
});

describe('ID@VERSION requests', () => {
  it('split at the last @; pick rules take no version', () => {
    expect(splitVersion('orders', 'orders-1@3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY')).toEqual({
      request: 'orders-1',
      version: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY',
    });
    expect(splitVersion('orders', 'id:a@b@c')).toEqual({ request: 'id:a@b', version: 'c' });
    expect(splitVersion('orders', 'orders-1')).toEqual({ request: 'orders-1', version: null });
    expect(splitVersion('orders', 'orders-1@')).toEqual({ request: 'orders-1@', version: null });
    expect(() => splitVersion('orders', 'latest@v1')).toThrow(SnapshotVersionError);
  });
});
