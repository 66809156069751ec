/** The S3 source against a real s3rver on loopback, through the real AWS SDK. */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../agent/errors.js';
import type { BackupSource, SourceObject } from '../../agent/sources/backup-source.js';
import { createSource } from '../../agent/sources/create-source.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { createS3Source } from '../../agent/sources/s3-source.js';
import { readAll } from '../helpers/source-reads.js';

const BUCKET = 'backups';
const MANY = 1100;

async function listAll(iterable: AsyncIterable<SourceObject>): Promise<SourceObject[]> {
  const objects: SourceObject[] = [];
  for await (const object of iterable) objects.push(object);
  return objects;
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

describe('s3 source on embedded s3rver', () => {
  let s3: EmbeddedS3;
  let client: S3Client;
  let source: BackupSource;
  const payload = randomBytes(300 * 1024 + 17);

  const put = (key: string, body: Buffer | string) =>
    client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

  beforeAll(async () => {
    s3 = await startEmbeddedS3({ buckets: [BUCKET] });
    client = s3.client();
    await put('set-a/orders-1.tar', payload);
    await put('set-a/snap/readme.txt', 'hello');
    await put('set-a/folder/', ''); // a console-style folder marker
    await put('set-b/other.bin', 'not in set a');
    const keys = Array.from({ length: MANY }, (_, i) => `many/obj-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((key) => put(key, key)));
    source = createS3Source(s3.sourceOptions(BUCKET, 'set-a'));
  });

  afterAll(async () => {
    await source?.close();
    await s3?.stop();
  });

  it('lists keys relative to the prefix with size and quote-less etag', async () => {
    expect(source.location).toBe(`s3://${BUCKET}/set-a/`);
    const objects = await listAll(source.list());
    expect(objects.map((o) => o.key)).toEqual(['orders-1.tar', 'snap/readme.txt']);
    const archive = objects[0]!;
    expect(archive).toMatchObject({ kind: 'file', size: payload.length, etag: md5(payload) });
    expect(archive.mtime).toBeInstanceOf(Date);
    expect(Math.abs(archive.mtime.getTime() - Date.now())).toBeLessThan(120_000);
    expect((await listAll(source.list('snap/'))).map((o) => o.key)).toEqual(['snap/readme.txt']);
  });

  it(`paginates past 1000 keys (${MANY} objects, default page size)`, async () => {
    const many = createS3Source({ ...s3.sourceOptions(BUCKET, 'many/') });
    try {
      const keys = (await listAll(many.list())).map((o) => o.key);
      expect(keys.length).toBe(MANY);
      expect(new Set(keys).size).toBe(MANY);
      expect(keys[0]).toBe('obj-00000');
      expect(keys.at(-1)).toBe(`obj-${String(MANY - 1).padStart(5, '0')}`);
      expect(keys).toEqual([...keys].sort());
    } finally {
      await many.close();
    }
  });

  it('paginates with a small page size too', async () => {
    const small = createS3Source({ ...s3.sourceOptions(BUCKET, 'many/'), pageSize: 7 });
    try {
      const keys = (await listAll(small.list('obj-002'))).map((o) => o.key);
      expect(keys).toEqual(Array.from({ length: 100 }, (_, i) => `obj-${String(200 + i).padStart(5, '0')}`));
    } finally {
      await small.close();
    }
  });

  it("lists in S3 byte order across pages, even where s3rver's disk layout sorts differently", async () => {
    for (const key of ['x', 'x.A', 'x-y', 'x/z', 'W']) await put(`order/${key}`, key);
    const ordered = createS3Source({ ...s3.sourceOptions(BUCKET, 'order/'), pageSize: 1 });
    try {
      expect((await listAll(ordered.list())).map((o) => o.key)).toEqual(['W', 'x', 'x-y', 'x.A', 'x/z']);
    } finally {
      await ordered.close();
    }
  });

  it('reads whole objects and exact byte ranges, with the etag of what was sent', async () => {
    const whole = await source.open('orders-1.tar');
    expect(whole.etag).toBe(md5(payload));
    expect(whole.versionId).toBeUndefined(); // s3rver has no versioning
    expect((await readAll(whole.stream)).equals(payload)).toBe(true);
    for (const [start, end] of [
      [0, 1],
      [1000, 70_000],
      [payload.length - 10, payload.length],
      [65_536, 65_536 * 3 + 5],
    ] as const) {
      const body = await source.open('orders-1.tar', { start, end });
      expect((await readAll(body.stream)).equals(payload.subarray(start, end))).toBe(true);
    }
    expect((await readAll((await source.open('orders-1.tar', { start: 5, end: 5 })).stream)).length).toBe(0);
  });

  it('shows a new etag when an object is overwritten', async () => {
    await put('set-a/mutable.txt', 'version one');
    const before = (await listAll(source.list('mutable'))).at(0)!;
    await put('set-a/mutable.txt', 'version two, longer');
    const after = (await listAll(source.list('mutable'))).at(0)!;
    expect(before.etag).toBe(md5(Buffer.from('version one')));
    expect(after.etag).toBe(md5(Buffer.from('version two, longer')));
    expect(after.size).toBe('version two, longer'.length);
    const body = await source.open('mutable.txt');
    expect(body.etag).toBe(after.etag);
    expect((await readAll(body.stream)).toString()).toBe('version two, longer');
  });

  it('reports a missing key as a permanent SourceError naming the key', async () => {
    const error = (await source.open('no/such/key.tar').catch((e: unknown) => e)) as SourceError;
    expect(error).toBeInstanceOf(SourceError);
    expect(error.permanent).toBe(true);
    expect(error.key).toBe('no/such/key.tar');
    expect(error.message).toContain('no/such/key.tar');
    expect(error.message).toMatch(/NoSuchKey \(HTTP 404\)/);
    expect(error.message).toMatch(/does not exist/);
  });

  it('reports a missing bucket as permanent when listing', async () => {
    const missing = createS3Source(s3.sourceOptions('no-such-bucket'));
    try {
      const error = (await listAll(missing.list()).catch((e: unknown) => e)) as SourceError;
      expect(error).toBeInstanceOf(SourceError);
      expect(error.permanent).toBe(true);
      expect(error.message).toMatch(/NoSuchBucket/);
    } finally {
      await missing.close();
    }
  });

  it('round-trips Buffer and streamed PutObject bodies byte-identical (WHEN_REQUIRED checksums)', async () => {
    const data = randomBytes(200 * 1024);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'checksums/buffer.bin', Body: data }));
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'checksums/stream.bin',
        Body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        ContentLength: data.length,
      }),
    );
    const reader = createS3Source(s3.sourceOptions(BUCKET, 'checksums/'));
    try {
      const listed = await listAll(reader.list());
      expect(listed.map((o) => [o.key, o.size])).toEqual([
        ['buffer.bin', data.length],
        ['stream.bin', data.length],
      ]);
      for (const key of ['buffer.bin', 'stream.bin']) {
        expect((await readAll((await reader.open(key)).stream)).equals(data)).toBe(true);
      }
      // Through the raw client as well: no aws-chunked framing was stored.
      const raw = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'checksums/stream.bin' }));
      expect(raw.ContentEncoding).toBeUndefined();
      expect(Buffer.from(await raw.Body!.transformToByteArray()).equals(data)).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('is built by createSource from a resolved policy spec plus credential overrides', async () => {
    const { credentials, ...connection } = s3.sourceOptions(BUCKET, 'set-a/');
    const built = await createSource(
      {
        kind: 's3',
        bucket: BUCKET,
        prefix: 'set-a/',
        region: connection.region!,
        endpoint: connection.endpoint!,
        forcePathStyle: true,
        checksums: 'when-required',
        maxAttempts: 2,
        connectTimeoutMs: 2_000,
        idleTimeoutMs: 5_000,
      },
      { s3: { credentials: credentials! } },
    );
    try {
      expect(built.location).toBe(`s3://${BUCKET}/set-a/`);
      expect((await listAll(built.list('snap/'))).map((o) => o.key)).toEqual(['snap/readme.txt']);
    } finally {
      await built.close();
    }
  });

  it('creates buckets idempotently and stops promptly even with an abandoned body', async () => {
    const other = await startEmbeddedS3();
    await other.createBucket('late');
    await other.createBucket('late');
    await other
      .client()
      .send(new PutObjectCommand({ Bucket: 'late', Key: 'big.bin', Body: randomBytes(4 * 1024 * 1024) }));
    const reader = createS3Source(other.sourceOptions('late'));
    const body = await reader.open('big.bin'); // never read
    // Stopping the store resets the connection under it: the body fails with a typed error (on
    // Node 24 before it is destroyed below), which its owner must be able to catch.
    const failures: unknown[] = [];
    body.stream.on('error', (error) => failures.push(error));
    const started = Date.now();
    await other.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(existsSync(other.directory)).toBe(false);
    body.stream.destroy();
    await reader.close();
    for (const failure of failures) expect(failure).toBeInstanceOf(SourceError);
  });
});
