/**
 * The S3 source with its retry decorator against a real s3rver behind the fault-injecting proxy:
 * every fault of the issue, and what vouch must do about each — retry transient faults with
 * backoff and report them as transient, resume a stalled or broken body with Range + If-Match,
 * never retry a permanent error, never splice two versions of an object.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ObjectChangedError } from '../../agent/errors.js';
import type { BackupSource, SourceObject } from '../../agent/sources/backup-source.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { withRetries, type SourceFault } from '../../agent/sources/retrying-source.js';
import { createS3Source } from '../../agent/sources/s3-source.js';
import { startFaultyS3Proxy, type FaultyS3Proxy } from '../helpers/faulty-s3-proxy.js';
import { readAll, sourceFailure } from '../helpers/source-reads.js';

const BODY = randomBytes(3 * 2 ** 20 + 17);
const KEY = 'snapshots/big.bin';
// Long enough that a loaded machine does not pause that long between chunks of a healthy body.
const IDLE_MS = 1500;

let s3: EmbeddedS3;
let admin: S3Client;
let proxy: FaultyS3Proxy;
let faults: SourceFault[];
let source: BackupSource;

async function listed(key: string): Promise<SourceObject> {
  for await (const object of source.list()) if (object.key === key) return object;
  throw new Error(`${key} not listed`);
}

beforeAll(async () => {
  s3 = await startEmbeddedS3({ buckets: ['faults'] });
  admin = s3.client();
  await admin.send(new PutObjectCommand({ Bucket: 'faults', Key: KEY, Body: BODY }));
  proxy = await startFaultyS3Proxy(s3.endpoint);
});

afterAll(async () => {
  await source?.close();
  await proxy?.stop();
  await s3?.stop();
});

beforeEach(async () => {
  await source?.close();
  await admin.send(new PutObjectCommand({ Bucket: 'faults', Key: KEY, Body: BODY }));
  proxy.reset();
  faults = [];
  const raw = createS3Source({
    ...s3.sourceOptions('faults'),
    endpoint: proxy.endpoint,
    maxAttempts: 4,
    idleTimeoutMs: IDLE_MS,
    connectTimeoutMs: 1000,
  });
  source = withRetries(raw, {
    openAttempts: 1,
    resumes: 4,
    baseDelayMs: 20,
    maxDelayMs: 100,
    onFault: (fault) => faults.push(fault),
  });
});

describe('transient faults are retried with backoff and reported as transient', () => {
  it('a burst of 503 SlowDown', async () => {
    proxy.inject(
      KEY,
      { kind: 'error', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
      3,
    );
    const body = await source.open(KEY);
    expect((await readAll(body.stream)).equals(BODY)).toBe(true);
    expect(proxy.gets(KEY).map((request) => request.status)).toEqual([503, 503, 503, 200]);
    expect(faults.map((fault) => [fault.action, fault.transient])).toEqual([
      ['retried', true],
      ['retried', true],
      ['retried', true],
    ]);
    expect(faults[0]!.detail).toMatch(/SlowDown \(HTTP 503\)/);
  });

  it.each([
    [500, 'InternalError'],
    [502, 'BadGateway'],
    [504, 'GatewayTimeout'],
  ])('an HTTP %i', async (status, code) => {
    proxy.inject(KEY, { kind: 'error', status, code });
    const body = await source.open(KEY);
    expect((await readAll(body.stream)).equals(BODY)).toBe(true);
    expect(proxy.gets(KEY)).toHaveLength(2);
    expect(faults).toMatchObject([
      { action: 'retried', transient: true, detail: expect.stringContaining(`HTTP ${status}`) },
    ]);
  });

  it('a connection reset before the headers', async () => {
    proxy.inject(KEY, { kind: 'reset-before-headers' });
    const body = await source.open(KEY);
    expect((await readAll(body.stream)).equals(BODY)).toBe(true);
    expect(proxy.gets(KEY)).toHaveLength(2);
    expect(faults).toMatchObject([{ action: 'retried', transient: true }]);
  });

  it('gives up after every attempt on a store that keeps failing, saying it was transient', async () => {
    proxy.inject(KEY, { kind: 'error', status: 500, code: 'InternalError' }, 10);
    const error = await sourceFailure(source.open(KEY));
    expect(error.permanent).toBe(false);
    expect(error.message).toMatch(
      /InternalError \(HTTP 500\) after 4 attempts \(transient, gave up after 1 try with backoff\)/,
    );
    expect(proxy.gets(KEY)).toHaveLength(4);
    expect(faults.at(-1)).toMatchObject({ action: 'gave-up', transient: true });
  });
});

describe('a body that breaks part-way is resumed from where it stopped, pinned with If-Match', () => {
  it.each([
    ['stalls (ended by the idle timeout)', { kind: 'stall', afterBytes: 1_000_000 }],
    ['is reset mid-body', { kind: 'reset-mid-body', afterBytes: 1_000_000 }],
    ['is cut short', { kind: 'truncate', afterBytes: 1_000_000 }],
  ] as const)('when it %s', async (_name, fault) => {
    const object = await listed(KEY);
    proxy.inject(KEY, fault);
    const started = Date.now();
    const body = await source.open(KEY, undefined, { ifMatch: object.validator! });
    expect((await readAll(body.stream)).equals(BODY)).toBe(true);
    const gets = proxy.gets(KEY);
    expect(gets).toHaveLength(2);
    // The resume asks for exactly the missing bytes of exactly the version first served.
    const resumedAt = Number(/^bytes=(\d+)-/.exec(gets[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThanOrEqual(0);
    expect(resumedAt).toBeLessThanOrEqual(1_000_000);
    expect(gets[1]!.range).toBe(`bytes=${resumedAt}-${BODY.length - 1}`);
    expect(gets[1]!.ifMatch).toBe(`"${object.etag}"`);
    expect(faults).toMatchObject([
      {
        action: 'resumed',
        transient: true,
        detail: expect.stringMatching(new RegExp(`^resumed at byte ${resumedAt} of ${BODY.length}`)),
      },
    ]);
    if (fault.kind === 'stall') {
      expect(faults[0]!.detail).toMatch(new RegExp(`no data received for ${IDLE_MS} ms`));
      expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS);
    }
  });

  it('resumes a ranged read within its range', async () => {
    proxy.inject(KEY, { kind: 'reset-mid-body', afterBytes: 300_000 });
    const body = await source.open(KEY, { start: 100_000, end: 2_000_000 });
    expect((await readAll(body.stream)).equals(BODY.subarray(100_000, 2_000_000))).toBe(true);
    expect(proxy.gets(KEY)[1]!.range).toMatch(/^bytes=\d+-1999999$/);
  });

  it('never splices two versions: an object overwritten before the resume fails as changed, without retries', async () => {
    proxy.inject(KEY, { kind: 'stall', afterBytes: 500_000 });
    const body = await source.open(KEY);
    // The next GET (the resume) finds a new version in its place.
    proxy.inject(KEY, {
      kind: 'hook',
      run: async () =>
        void (await admin.send(
          new PutObjectCommand({ Bucket: 'faults', Key: KEY, Body: Buffer.from('rewritten') }),
        )),
    });
    const error = await sourceFailure(readAll(body.stream));
    expect(error).toBeInstanceOf(ObjectChangedError);
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(/no longer the version this read started on .*\(permanent, not retried\)/);
    expect(proxy.gets(KEY).map((request) => request.status)).toEqual([200, 412]);
  });
});

describe('permanent errors are not retried', () => {
  it.each([
    [403, 'AccessDenied'],
    [404, 'NoSuchKey'],
  ])('HTTP %i %s', async (status, code) => {
    proxy.inject(KEY, { kind: 'error', status, code });
    const error = await sourceFailure(source.open(KEY));
    expect(error.permanent).toBe(true);
    expect(error.message).toContain(`${code} (HTTP ${status})`);
    expect(error.message).toContain('(permanent, not retried)');
    expect(proxy.gets(KEY)).toHaveLength(1);
    expect(faults).toMatchObject([{ action: 'gave-up', transient: false }]);
  });

  it('an object overwritten between the listing and the read', async () => {
    const object = await listed(KEY);
    proxy.inject(KEY, {
      kind: 'hook',
      run: async () =>
        void (await admin.send(
          new PutObjectCommand({ Bucket: 'faults', Key: KEY, Body: Buffer.from('new version') }),
        )),
    });
    const error = await sourceFailure(source.open(KEY, undefined, { ifMatch: object.validator! }));
    expect(error).toBeInstanceOf(ObjectChangedError);
    expect(proxy.gets(KEY)).toMatchObject([{ status: 412, ifMatch: `"${object.etag}"` }]);
  });
});

describe('corruption in transit', () => {
  it('a flipped byte reaches the reader as it came (the digest, not the transport, catches it)', async () => {
    proxy.inject(KEY, { kind: 'flip', offset: 1234 });
    const received = await readAll((await source.open(KEY)).stream);
    expect(received.length).toBe(BODY.length);
    expect(received[1234]).toBe(BODY[1234]! ^ 0xff);
    expect(faults).toEqual([]);
  });
});
