/**
 * An S3-compatible server inside the process (s3rver) on 127.0.0.1, for `vouch demo` and tests.
 *
 * s3rver's limits (3.7.1), which callers must respect:
 * - No versioning, no Object Lock, no VersionId in responses: immutability audits report it as
 *   unsupported, never as compliant.
 * - It does not understand `aws-chunked` uploads: with the SDK's default `WHEN_SUPPORTED`
 *   checksums a streamed PutObject is stored *with* its chunk framing and trailer (corrupt bytes,
 *   and `Content-Encoding: aws-chunked` echoed back). Every client of this store must use
 *   `WHEN_REQUIRED`, as `client()` and `sourceOptions()` do.
 * - Its ListObjectsV2 continuation tokens use DES, missing from OpenSSL 3: on Node >= 17 every
 *   listing past one page fails with 500 InternalError. Its listing order follows its on-disk
 *   layout, not key bytes. Both are fixed here by `installListObjectsV2` (s3rver-list-v2.ts).
 * - It ignores `If-Match` on GetObject: `installConditionalGet` (s3rver-conditional-get.ts)
 *   answers 412 PreconditionFailed as S3 does.
 * - `Range: bytes=0-0` returns the whole object (it treats end 0 as "no end"); the S3 source
 *   trims any over-long range itself.
 * - Timestamps have one-second resolution; ETags are the MD5 of the body.
 */
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createS3Client } from '../sources/s3-client.js';
import { type S3StaticCredentials } from '../model/s3-connection.js';
import type { S3SourceOptions } from '../sources/s3-source.js';
import { installConditionalGet } from './s3rver-conditional-get.js';
import { installListObjectsV2 } from './s3rver-list-v2.js';

/** Options for the embedded server. */
export interface EmbeddedS3Options {
  /** Where objects are stored. Default: a fresh temporary directory, removed by `stop()`. */
  directory?: string;
  /** Buckets to create at start. */
  buckets?: string[];
}

/** A running embedded S3 server. */
export interface EmbeddedS3 {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  region: string;
  credentials: S3StaticCredentials;
  /** Storage directory. */
  directory: string;
  /** Creates a bucket (no error if it exists). */
  createBucket(name: string): Promise<void>;
  /** A new client for this server (path-style, WHEN_REQUIRED checksums); closed by `stop()`. */
  client(): S3Client;
  /** Options for `createS3Source` (or a policy's `s3` block plus credentials) reaching `bucket`. */
  sourceOptions(bucket: string, prefix?: string): S3SourceOptions;
  /** Closes clients and connections, stops the server, removes a temporary directory. */
  stop(): Promise<void>;
}

/** The part of s3rver's API used here (it ships no types). */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverServer;

const CREDENTIALS: S3StaticCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const REGION = 'us-east-1';

function loadS3rver(): S3rverConstructor {
  const requireHere = createRequire(import.meta.url);
  let S3rver: S3rverConstructor;
  try {
    S3rver = requireHere('s3rver') as S3rverConstructor;
  } catch (error) {
    throw new Error('the embedded S3 server needs the optional "s3rver" package (npm i -E s3rver@3.7.1)', {
      cause: error,
    });
  }
  installListObjectsV2(requireHere);
  installConditionalGet(requireHere);
  return S3rver;
}

/** Starts s3rver on 127.0.0.1 on a free port. */
export async function startEmbeddedS3(options: EmbeddedS3Options = {}): Promise<EmbeddedS3> {
  const S3rver = loadS3rver();
  const temporary = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(os.tmpdir(), 'vouch-s3-')));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    if (temporary) await rm(directory, { recursive: true, force: true });
    throw new Error(`embedded S3 server failed to start: ${(error as Error).message}`, { cause: error });
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const connection = {
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: CREDENTIALS,
    checksums: 'when-required' as const,
  };
  const clients: S3Client[] = [];
  const client = (): S3Client => {
    const created = createS3Client({ ...connection, maxAttempts: 3 });
    clients.push(created);
    return created;
  };
  let admin: S3Client | undefined;
  let stopped = false;

  return {
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    directory,
    async createBucket(name: string): Promise<void> {
      admin ??= client();
      try {
        await admin.send(new CreateBucketCommand({ Bucket: name }));
      } catch (error) {
        const errorName = (error as { name?: string }).name;
        if (errorName !== 'BucketAlreadyOwnedByYou' && errorName !== 'BucketAlreadyExists') throw error;
      }
    },
    client,
    sourceOptions(bucket: string, prefix = ''): S3SourceOptions {
      return { ...connection, bucket, prefix };
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const created of clients.splice(0)) created.destroy();
      const closing = server.close();
      // Never wait on a connection someone left open (a stalled or abandoned body).
      server.httpServer?.closeAllConnections();
      await closing;
      if (temporary) await rm(directory, { recursive: true, force: true });
    },
  };
}
