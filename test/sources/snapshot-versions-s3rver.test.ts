/**
 * `--snapshot ID@VERSION` where no versions exist: on the real s3rver (no versioning, through the
 * real SDK) a replaced archive's finding says no VersionId was recorded and a version request is a
 * usage error naming set, snapshot and version — never a read of the current object; on a
 * directory it is a usage error (exit 2) from the real CLI. The version reads themselves are in
 * snapshot-versions-mock.test.ts (s3rver has no versioning).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { SnapshotVersionError } from '../../agent/drills/snapshot-version.js';
import { runRecovery } from '../../agent/recover/run-recovery.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli } from '../helpers/cli.js';

let s3: EmbeddedS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startEmbeddedS3();
  client = s3.client();
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
});

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

describe('snapshot versions where the store keeps none', () => {
  it('on s3rver: a replaced archive names no baselined version, and ID@VERSION is refused, not read as the current object', async () => {
    await s3.createBucket('plain-backups');
    const state = await mkdtemp(path.join(tmpdir(), 'vouch-versions-s3rver-'));
    const put = (body: Buffer) =>
      client.send(
        new PutObjectCommand({ Bucket: 'plain-backups', Key: 'orders/orders-20261101.tar.gz', Body: body }),
      );
    await put(await buildTarGz(sampleFiles(3)));
    const policy = validatePolicy(
      {
        sets: {
          orders: {
            source: {
              s3: {
                bucket: 'plain-backups',
                prefix: 'orders/',
                endpoint: s3.endpoint,
                region: s3.region,
                forcePathStyle: true,
                checksums: 'when-required',
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
    await runScan(policy, { stateDir: state });
    expect((await readSetIndex(state, 'orders')).snapshots['orders-20261101']!.baseline).toMatchObject({
      entries: expect.any(Number),
    });
    expect(
      (await readSetIndex(state, 'orders')).snapshots['orders-20261101']!.baseline!.versionId,
    ).toBeUndefined();

    await put(await buildTarGz(sampleFiles(4)));
    const rescan = await runScan(policy, { stateDir: state });
    const replaced = rescan.sets[0]!.findings?.find((finding) => finding.kind === 'snapshot-replaced');
    expect(replaced?.detail).toContain('no VersionId was recorded for the baseline');

    const set = policy.sets[0]!;
    const refused = runDrillReport(set, { stateDir: state, snapshot: 'orders-20261101@3HL4kqtJlcpXroDTDmJ' });
    await expect(refused).rejects.toBeInstanceOf(SnapshotVersionError);
    await expect(refused).rejects.toThrow(
      /^set orders: snapshot orders-20261101@3HL4kqtJlcpXroDTDmJ: the store does not keep versions of it/,
    );
    expect((await readDrillIndex(state, 'orders')).drills).toEqual([]);
    // recover refuses before the store is asked: the baseline names no version to verify against.
    await expect(
      runRecovery(set, { stateDir: state, dryRun: true, snapshot: 'orders-20261101@3HL4kqtJlcpXroDTDmJ' }),
    ).rejects.toThrow(
      'set orders: snapshot orders-20261101@3HL4kqtJlcpXroDTDmJ: no baseline was recorded for that version (its baseline names no version',
    );
  });

  it('on a directory: ID@VERSION is a usage error (exit 2) naming set, snapshot and version', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'vouch-versions-fs-'));
    await mkdir(path.join(root, 'volume'));
    await writeFile(path.join(root, 'volume', 'orders-20261101.tar.gz'), await buildTarGz(sampleFiles(3)));
    const config = path.join(root, 'vouch.yaml');
    await writeFile(
      config,
      stringify({
        state: './state',
        sets: {
          orders: {
            source: { fs: { path: './volume' } },
            snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8})\\.tar\\.gz$' },
            drill: { pick: 'latest' },
          },
        },
      }),
    );
    const drill = await runCli(['--config', config, 'drill', 'orders', '--snapshot', 'orders-20261101@v1']);
    expect(drill.code).toBe(2);
    expect(drill.stderr).toContain('set orders: snapshot orders-20261101@v1: the store');
    expect(drill.stderr).toContain('keeps no object versions');
  });
});
