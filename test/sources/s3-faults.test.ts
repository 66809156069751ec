/**
 * The S3 source against a loopback HTTP server that speaks just enough S3 for GetObject and
 * misbehaves on purpose: stalls mid-body, never answers, throttles, fails.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Source, type S3SourceOptions } from '../../agent/sources/s3-source.js';
import { readAll, sourceFailure } from '../helpers/source-reads.js';

const BODY = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
const IDLE_MS = 300;
const BIG = Buffer.alloc(8 * 1024 * 1024, 0x5a);

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fake</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

function sendObject(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': BODY.length,
    etag: '"feedface"',
    'x-amz-version-id': 'v-1',
  });
  res.end(BODY);
}

describe('s3 source against a misbehaving store', () => {
  let server: Server;
  let endpoint: string;
  /** Requests per key since the last reset. */
  const hits = new Map<string, number>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/bucket\//, ''));
    const count = (hits.get(key) ?? 0) + 1;
    hits.set(key, count);
    switch (key) {
      case 'stall-body': // headers and a few bytes, then silence
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': 1_000_000,
          etag: '"stalled"',
        });
        res.write(BODY.subarray(0, 10));
        return;
      case 'stall-headers': // accepts the request, never answers
        return;
      case 'slow-down-twice':
        if (count <= 2) return s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.');
        return sendObject(res);
      case 'ignores-range': // answers a ranged GET with the whole object and no Content-Range
        return sendObject(res);
      case 'big': // 8 MiB, sent as fast as the client reads
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': BIG.length,
          etag: '"big"',
        });
        res.end(BIG);
        return;
      case 'always-500':
        return s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      case 'denied':
        return s3Error(res, 403, 'AccessDenied', 'Access Denied');
      default:
        return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
  };

  const source = (overrides: Partial<S3SourceOptions> = {}) =>
    createS3Source({
      bucket: 'bucket',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      idleTimeoutMs: IDLE_MS,
      connectTimeoutMs: 1_000,
      maxAttempts: 3,
      ...overrides,
    });

  beforeAll(async () => {
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => hits.clear());

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it(`errors a body that stalls mid-stream within ~${IDLE_MS} ms, not permanent`, async () => {
    const s3 = source();
    try {
      const body = await s3.open('stall-body');
      expect(body.etag).toBe('stalled');
      const started = Date.now();
      const error = await sourceFailure(readAll(body.stream));
      const elapsed = Date.now() - started;
      expect(error.permanent).toBe(false);
      expect(error.key).toBe('stall-body');
      // The backpressure-aware body timer, not the socket timer, reports it.
      expect(error.message).toMatch(new RegExp(`no data received for ${IDLE_MS} ms`));
      expect(elapsed).toBeGreaterThanOrEqual(IDLE_MS - 50);
      expect(elapsed).toBeLessThan(IDLE_MS + 2_000);
    } finally {
      await s3.close();
    }
  });

  it('does not time out a body while the consumer is the one pausing', async () => {
    const s3 = source();
    try {
      const body = await s3.open('big');
      let received = 0;
      let paused = false;
      for await (const chunk of body.stream) {
        received += (chunk as Buffer).length;
        if (!paused && received > 64 * 1024) {
          paused = true;
          await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_MS)); // a busy digest worker
        }
      }
      expect(received).toBe(BIG.length);
    } finally {
      await s3.close();
    }
  });

  it('fails open() when the store never sends headers, after its attempts, not permanent', async () => {
    const s3 = source({ maxAttempts: 2 });
    try {
      const started = Date.now();
      const error = await sourceFailure(s3.open('stall-headers'));
      expect(error.permanent).toBe(false);
      expect(error.message).toContain('stall-headers');
      expect(hits.get('stall-headers')).toBe(2);
      expect(error.message).toMatch(/TimeoutError after 2 attempts/);
      expect(Date.now() - started).toBeLessThan(2 * IDLE_MS + 3_000);
    } finally {
      await s3.close();
    }
  });

  it('retries 503 SlowDown and succeeds on the third attempt', async () => {
    const s3 = source({ maxAttempts: 3 });
    try {
      const body = await s3.open('slow-down-twice');
      expect(await readAll(body.stream)).toEqual(BODY);
      expect(body.etag).toBe('feedface');
      expect(body.versionId).toBe('v-1');
      expect(hits.get('slow-down-twice')).toBe(3);
    } finally {
      await s3.close();
    }
  });

  it('gives up on a store that always answers 500: not permanent, after every attempt', async () => {
    const s3 = source({ maxAttempts: 3 });
    try {
      const error = await sourceFailure(s3.open('always-500'));
      expect(error.permanent).toBe(false);
      expect(error.message).toMatch(/InternalError \(HTTP 500\) after 3 attempts/);
      expect(error.message).toContain('always-500');
      expect(hits.get('always-500')).toBe(3);
    } finally {
      await s3.close();
    }
  });

  it('does not retry AccessDenied, and marks it permanent', async () => {
    const s3 = source({ maxAttempts: 3 });
    try {
      const error = await sourceFailure(s3.open('denied'));
      expect(error.permanent).toBe(true);
      expect(error.message).toMatch(/AccessDenied \(HTTP 403\)/);
      expect(hits.get('denied')).toBe(1);
    } finally {
      await s3.close();
    }
  });

  it('trims a ranged read when the store ignores Range and sends the whole object', async () => {
    const s3 = source();
    try {
      const body = await s3.open('ignores-range', { start: 3, end: 9 });
      expect((await readAll(body.stream)).toString()).toBe(BODY.subarray(3, 9).toString());
      const tail = await s3.open('ignores-range', { start: BODY.length - 4, end: BODY.length + 100 });
      expect((await readAll(tail.stream)).toString()).toBe(BODY.subarray(-4).toString());
    } finally {
      await s3.close();
    }
  });

  it('fails fast when nothing listens on the endpoint', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const s3 = source({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    try {
      const error = await sourceFailure(s3.open('anything'));
      expect(error.permanent).toBe(false);
      expect(error.message).toMatch(/ECONNREFUSED/);
    } finally {
      await s3.close();
    }
  });
});
