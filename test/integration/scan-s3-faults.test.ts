/**
 * Whole scans through the fault-injecting proxy in front of a real s3rver: what a user sees when
 * the store misbehaves. Transient faults are retried or resumed and reported, the verdict stays
 * right; corrupted bytes are drift named at the entry; permanent errors are not retried; and a
 * snapshot any byte of which was not read is `unverified`, never `clean`.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { buildTar, sampleFiles } from '../helpers/build-archive.js';
import { startFaultyS3Proxy, type FaultyS3Proxy } from '../helpers/faulty-s3-proxy.js';

let s3: EmbeddedS3;
let client: S3Client;
let proxy: FaultyS3Proxy;
let bucket: string;
let state: string;
let buckets = 0;

const ARCHIVES = [
  'orders/orders-20251017T020000Z.tar',
  'orders/orders-20251018T020000Z.tar',
  'orders/orders-20251019T020000Z.tar',
];
const DIRECTORY = 'files/2025-10-18';

beforeAll(async () => {
  s3 = await startEmbeddedS3();
  client = s3.client();
  proxy = await startFaultyS3Proxy(s3.endpoint);
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
});

afterAll(async () => {
  await proxy?.stop();
  client?.destroy();
  await s3?.stop();
});

const put = (key: string, body: Buffer | string) =>
  client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

beforeEach(async () => {
  bucket = `faults-${++buckets}`;
  await s3.createBucket(bucket);
  state = await mkdtemp(path.join(tmpdir(), 'vouch-scan-faults-'));
  for (const [day, key] of ARCHIVES.entries()) await put(key, await buildTar(sampleFiles(day + 1)));
  for (const file of sampleFiles(7)) await put(`${DIRECTORY}/${file.path}`, file.data);
  proxy.reset();
});

function policy() {
  const s3Source = (prefix: string) => ({
    s3: {
      bucket,
      prefix,
      endpoint: proxy.endpoint,
      region: s3.region,
      forcePathStyle: true,
      checksums: 'when-required',
      maxAttempts: 3,
      idleTimeout: '1s',
      connectTimeout: '2s',
    },
  });
  return validatePolicy(
    {
      sets: {
        orders: {
          source: s3Source('orders/'),
          snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar$' },
        },
        files: {
          source: s3Source('files/'),
          snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
        },
      },
    },
    'test policy',
    state,
  );
}

const scan = () => runScan(policy(), { stateDir: state, retryDelays: { baseDelayMs: 20, maxDelayMs: 200 } });
const snapshot = (report: ScanReport, set: string, id: string) =>
  report.sets.find((s) => s.name === set)!.snapshots.find((s) => s.id === id)!;
const ORDERS_2 = 'orders-20251018T020000Z';

describe('scans through a misbehaving store', () => {
  it('retries throttling and server errors, resumes a stalled body with Range + If-Match, and still calls everything clean', async () => {
    await scan(); // baselines
    proxy.reset();
    proxy.inject(ARCHIVES[0]!, { kind: 'error', status: 503, code: 'SlowDown' }, 2);
    proxy.inject(ARCHIVES[1]!, { kind: 'stall', afterBytes: 3000 });
    proxy.inject(`${DIRECTORY}/exports/orders.csv`, { kind: 'error', status: 500, code: 'InternalError' });
    const report = await scan();
    expect(report.sets.flatMap((set) => set.snapshots.map((s) => s.verdict))).toEqual([
      'clean',
      'clean',
      'clean',
      'clean',
    ]);
    expect(snapshot(report, 'orders', 'orders-20251017T020000Z').faults).toMatchObject({
      transient: 2,
      resumed: 0,
      gaveUp: 0,
    });
    const stalled = snapshot(report, 'orders', ORDERS_2);
    expect(stalled.faults).toMatchObject({ transient: 1, resumed: 1, gaveUp: 0 });
    expect(stalled.faults!.examples[0]).toMatch(
      /^resumed \(transient\): resumed at byte \d+ of \d+ .*no data received for 1000 ms/,
    );
    const [first, resumed] = proxy.gets(ARCHIVES[1]!);
    expect(first!.ifMatch).toMatch(/^"[0-9a-f]{32}"$/);
    expect(resumed).toMatchObject({
      ifMatch: first!.ifMatch,
      range: expect.stringMatching(/^bytes=\d+-\d+$/),
    });
    expect(snapshot(report, 'files', '2025-10-18').faults).toMatchObject({ transient: 1, gaveUp: 0 });
  });

  it('names the entry whose bytes were corrupted as drift, in an archive and in a directory snapshot', async () => {
    await scan();
    proxy.reset();
    // db/orders.sql is the first member: its data starts after one 512-byte tar header.
    proxy.inject(ARCHIVES[1]!, { kind: 'flip', offset: 512 + 40 });
    proxy.inject(`${DIRECTORY}/exports/orders.csv`, { kind: 'flip', offset: 5 });
    const report = await scan();
    const archive = snapshot(report, 'orders', ORDERS_2);
    expect(archive.verdict).toBe('compromised');
    expect(archive.findings.filter((f) => f.kind === 'drift-modified').map((f) => f.path)).toEqual([
      'db/orders.sql',
    ]);
    const directory = snapshot(report, 'files', '2025-10-18');
    expect(directory.verdict).toBe('compromised');
    expect(directory.findings.filter((f) => f.kind === 'drift-modified').map((f) => f.path)).toEqual([
      'exports/orders.csv',
    ]);
  });

  it('does not retry permanent errors, and calls what it could not read unverified, never clean', async () => {
    await scan();
    proxy.reset();
    proxy.inject(`${DIRECTORY}/db/orders.sql`, { kind: 'error', status: 403, code: 'AccessDenied' });
    proxy.inject(ARCHIVES[2]!, { kind: 'error', status: 404, code: 'NoSuchKey' });
    const report = await scan();
    const directory = snapshot(report, 'files', '2025-10-18');
    expect(directory.verdict).toBe('unverified');
    expect(directory.findings).toMatchObject([
      {
        kind: 'read-error',
        path: 'db/orders.sql',
        detail: expect.stringMatching(/AccessDenied \(HTTP 403\).*\(permanent, not retried\)/),
      },
    ]);
    expect(proxy.gets(`${DIRECTORY}/db/orders.sql`)).toHaveLength(1);
    const archive = snapshot(report, 'orders', 'orders-20251019T020000Z');
    expect(archive.verdict).toBe('unverified');
    expect(proxy.gets(ARCHIVES[2]!)).toHaveLength(1);
    expect(report.sets.find((s) => s.name === 'orders')!.lastClean).toBe(ORDERS_2);
  });

  it('gives up on a store that keeps failing, saying it was transient, and calls the snapshot unverified', async () => {
    proxy.inject(ARCHIVES[0]!, { kind: 'error', status: 500, code: 'InternalError' }, 50);
    const report = await scan();
    const failed = snapshot(report, 'orders', 'orders-20251017T020000Z');
    expect(failed.verdict).toBe('unverified');
    expect(failed.findings[0]!.detail).toMatch(
      /InternalError \(HTTP 500\) after 3 attempts \(transient, gave up/,
    );
    expect(failed.faults).toMatchObject({ gaveUp: 1 });
    expect(proxy.gets(ARCHIVES[0]!)).toHaveLength(3);
  });

  it('catches an object overwritten between the listing and the read: drift when it had a baseline, unverified when not', async () => {
    const overwrite = (key: string) => ({
      kind: 'hook' as const,
      run: async () => void (await put(key, await buildTar(sampleFiles(99)))),
    });
    proxy.inject(ARCHIVES[0]!, overwrite(ARCHIVES[0]!));
    const first = await scan();
    expect(snapshot(first, 'orders', 'orders-20251017T020000Z').verdict).toBe('unverified');
    expect(snapshot(first, 'orders', 'orders-20251017T020000Z').findings[0]!.detail).toMatch(
      /no longer the version this read started on/,
    );

    await scan(); // the rewritten object is baselined now; rewrite another one that has a baseline
    proxy.reset();
    proxy.inject(ARCHIVES[1]!, overwrite(ARCHIVES[1]!));
    const report = await scan();
    const hit = snapshot(report, 'orders', ORDERS_2);
    expect(hit.verdict).toBe('compromised');
    expect(hit.findings.map((f) => f.kind)).toContain('drift-object-changed');
    expect(proxy.gets(ARCHIVES[1]!)).toMatchObject([{ status: 412 }]);
  });
});
