import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { buildTarGz, buildZip, sampleFiles } from '../helpers/build-archive.js';
import { runCli } from '../helpers/cli.js';

let s3: EmbeddedS3;
let client: S3Client;
let bucketCount = 0;
let bucket: string;
let state: string;

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

beforeEach(async () => {
  bucket = `backups-${++bucketCount}`;
  await s3.createBucket(bucket);
  state = await mkdtemp(path.join(tmpdir(), 'vouch-scan-s3-'));
});

const put = (key: string, body: Buffer | string) =>
  client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

function policyDocument() {
  return {
    sets: {
      orders: {
        source: {
          s3: {
            bucket,
            prefix: 'orders/',
            endpoint: s3.endpoint,
            region: s3.region,
            forcePathStyle: true,
            checksums: 'when-required',
          },
        },
        snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.(tar\\.gz|zip)$' },
      },
    },
  };
}

const scan = () => runScan(validatePolicy(policyDocument(), 'test policy', state), { stateDir: state });

describe('scanning S3 (real s3rver, real SDK)', () => {
  beforeEach(async () => {
    await put('orders/orders-20251017T020000Z.tar.gz', await buildTarGz(sampleFiles(1)));
    await put('orders/orders-20251018T020000Z.zip', await buildZip(sampleFiles(2)));
    await put('orders/orders-20251019T020000Z.tar.gz', await buildTarGz(sampleFiles(3)));
    await put('other/ignored.tar.gz', await buildTarGz(sampleFiles(9)));
  });

  it('reports a clean history as clean and records ETags', async () => {
    const report = await scan();
    const [set] = report.sets;
    expect(set!.error).toBeUndefined();
    expect(set!.snapshots.map((s) => [s.id, s.time, s.verdict, s.entries])).toEqual([
      ['orders-20251017T020000Z', '2025-10-17T02:00:00.000Z', 'clean', 4],
      ['orders-20251018T020000Z', '2025-10-18T02:00:00.000Z', 'clean', 4],
      ['orders-20251019T020000Z', '2025-10-19T02:00:00.000Z', 'clean', 4],
    ]);
    expect(set!.lastClean).toBe('orders-20251019T020000Z');
  });

  it('catches an object overwritten with a new version and names the changed entries', async () => {
    await scan();
    const files = sampleFiles(2);
    files[0] = { path: 'db/orders.sql', data: 'DROP TABLE orders;\n' };
    await put('orders/orders-20251018T020000Z.zip', await buildZip(files));
    const report = await scan();
    const hit = report.sets[0]!.snapshots[1]!;
    expect(hit.verdict).toBe('compromised');
    expect(hit.findings.map((f) => f.kind).sort()).toEqual(['drift-object-changed', 'drift-truncated']);
    expect(hit.findings.find((f) => f.kind === 'drift-object-changed')!.detail).toMatch(/ETag \w+ → \w+/);
    expect(report.sets[0]!.lastClean).toBe('orders-20251019T020000Z');
  });

  it('gives the documented JSON and exit code 3 through the CLI', async () => {
    await scan();
    await put('orders/orders-20251019T020000Z.tar.gz', await buildTarGz(sampleFiles(4)));
    const { writeFile } = await import('node:fs/promises');
    const { stringify } = await import('yaml');
    const config = path.join(state, 'vouch.yaml');
    await writeFile(config, stringify(policyDocument()));
    const result = await runCli(['--config', config, '--state', state, '--json', 'scan'], {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
    expect(result.code).toBe(3);
    const json = JSON.parse(result.stdout);
    expect(json.sets[0].name).toBe('orders');
    expect(json.sets[0].lastClean).toBe('orders-20251018T020000Z');
    const newest = json.sets[0].snapshots[2];
    expect(newest).toMatchObject({ id: 'orders-20251019T020000Z', verdict: 'compromised', entries: 4 });
    // The documented fields; `contentId` when bytes were read at the path, `accepted` only for accepted findings.
    for (const finding of newest.findings) {
      const keys = Object.keys(finding).filter((key) => key !== 'contentId');
      expect(keys.sort()).toEqual(['detail', 'kind', 'path', 'severity']);
      if (finding.kind === 'drift-modified') expect(finding.contentId).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
  });

  it('reports an unreachable store as a set error, not a crash', async () => {
    const document = policyDocument();
    document.sets.orders.source.s3.endpoint = 'http://127.0.0.1:9';
    (document.sets.orders.source.s3 as Record<string, unknown>).maxAttempts = 1;
    const report = await runScan(validatePolicy(document, 'test policy', state), { stateDir: state });
    expect(report.sets[0]!.error).toMatch(/ECONNREFUSED|connect/i);
  });
});
