/**
 * A fault-injecting S3 proxy for tests: a loopback HTTP server in front of a real s3rver that
 * forwards every request unchanged (so SigV4 signatures, made for the proxy's Host, still hold)
 * and misbehaves on the GETs a test asks it to — the way restic's tests put a fault-injecting
 * backend in front of a real one.
 *
 * Faults: an S3 error answer (503 SlowDown bursts, 500/502/504, 403 AccessDenied, 404
 * NoSuchKey), a connection reset before the headers or part-way through the body, a body that
 * stalls, a body cut short, a flipped byte, and a hook that runs before the request is forwarded
 * (e.g. to overwrite the object between the listing and the read). Each fault applies to the
 * next `times` GETs of matching keys, then requests pass untouched. Every request is logged with
 * the headers that matter (Range, If-Match) and what was done to it.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What to do to a GET. */
export type Fault =
  /** Answer with an S3 error instead of forwarding. */
  | { kind: 'error'; status: number; code: string; message?: string }
  /** Close the connection without answering. */
  | { kind: 'reset-before-headers' }
  /** Forward the headers and `afterBytes` of the body, then reset the connection. */
  | { kind: 'reset-mid-body'; afterBytes: number }
  /** Forward the headers and `afterBytes` of the body, then send nothing more (the connection stays open). */
  | { kind: 'stall'; afterBytes: number }
  /** Forward the headers (with the full length) and `afterBytes` of the body, then close the connection. */
  | { kind: 'truncate'; afterBytes: number }
  /** Forward everything with the bits of the object's byte at `offset` inverted. */
  | { kind: 'flip'; offset: number }
  /** Run `hook` (e.g. overwrite the object), then forward. */
  | { kind: 'hook'; run: () => Promise<void> };

/** One request as the proxy saw it. */
export interface ProxiedRequest {
  method: string;
  /** Object key (without the bucket), or '' for bucket requests. */
  key: string;
  range?: string;
  ifMatch?: string;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
  /** The answer's status (forwarded or injected); undefined when the connection was dropped. */
  status?: number;
}

/** A running proxy. */
export interface FaultyS3Proxy {
  /** `http://127.0.0.1:PORT`: use it as the S3 endpoint. */
  endpoint: string;
  /** Applies `fault` to the next `times` (default 1) GETs of keys matching `key`. */
  inject(key: string | RegExp, fault: Fault, times?: number): void;
  /** Removes every pending fault and clears the log. */
  reset(): void;
  /** Requests seen so far. */
  readonly log: ProxiedRequest[];
  /** GETs of object keys matching `key`. */
  gets(key: string | RegExp): ProxiedRequest[];
  stop(): Promise<void>;
}

interface PendingFault {
  key: string | RegExp;
  fault: Fault;
  left: number;
}

const matches = (pattern: string | RegExp, key: string) =>
  typeof pattern === 'string' ? pattern === key : pattern.test(key);

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

/** Starts a proxy in front of the S3 server at `upstream` (e.g. an EmbeddedS3's endpoint). */
export async function startFaultyS3Proxy(upstream: string): Promise<FaultyS3Proxy> {
  const target = new URL(upstream);
  const pending: PendingFault[] = [];
  const log: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const takeFault = (key: string): Fault | undefined => {
    const index = pending.findIndex((candidate) => candidate.left > 0 && matches(candidate.key, key));
    if (index < 0) return undefined;
    const found = pending[index]!;
    if (--found.left === 0) pending.splice(index, 1);
    return found.fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const parts = url.pathname.split('/').slice(2); // ['', bucket, ...key]
    const key = decodeURIComponent(parts.join('/'));
    const entry: ProxiedRequest = { method: req.method ?? 'GET', key };
    if (typeof req.headers.range === 'string') entry.range = req.headers.range;
    if (typeof req.headers['if-match'] === 'string') entry.ifMatch = req.headers['if-match'];
    log.push(entry);
    const isObjectGet = req.method === 'GET' && key !== '' && !url.searchParams.has('list-type');
    const fault = isObjectGet ? takeFault(key) : undefined;
    if (fault) entry.fault = fault.kind;

    if (fault?.kind === 'error') {
      entry.status = fault.status;
      req.resume();
      return s3Error(res, fault.status, fault.code, fault.message ?? fault.code);
    }
    if (fault?.kind === 'reset-before-headers') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hook') await fault.run();

    const body: Buffer[] = [];
    for await (const chunk of req) body.push(chunk as Buffer);
    const upstreamRequest = httpRequest({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    upstreamRequest.on('error', () => res.destroy());
    upstreamRequest.end(Buffer.concat(body));
    const answer = await new Promise<IncomingMessage>((resolve) => upstreamRequest.once('response', resolve));
    entry.status = answer.statusCode;
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    const cut = fault && 'afterBytes' in fault ? fault.afterBytes : null;
    // Absolute object offset of the body's first byte (ranged answers say where they start).
    const start = Number(/^bytes (\d+)-/.exec(String(answer.headers['content-range'] ?? ''))?.[1] ?? 0);
    let sent = 0;
    for await (const raw of answer) {
      let chunk = raw as Buffer;
      if (
        fault?.kind === 'flip' &&
        fault.offset >= start + sent &&
        fault.offset < start + sent + chunk.length
      ) {
        chunk = Buffer.from(chunk);
        chunk[fault.offset - start - sent]! ^= 0xff;
      }
      if (cut !== null && sent + chunk.length >= cut) {
        const head = chunk.subarray(0, cut - sent);
        sent = cut;
        answer.destroy();
        await new Promise<void>((resolve) => (head.length ? res.write(head, () => resolve()) : resolve()));
        if (fault!.kind === 'reset-mid-body') res.socket?.resetAndDestroy();
        else if (fault!.kind === 'truncate') res.socket?.end();
        // stall: leave the connection open and silent; stop() closes it.
        return;
      }
      sent += chunk.length;
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    inject(key, fault, times = 1) {
      pending.push({ key, fault, left: times });
    },
    reset() {
      pending.length = 0;
      log.length = 0;
    },
    log,
    gets: (key) =>
      log.filter((request) => request.method === 'GET' && matches(key, request.key) && request.key !== ''),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
