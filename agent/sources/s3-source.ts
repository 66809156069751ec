/**
 * S3 source: a backup set under a bucket prefix, on AWS S3 or an S3-compatible store (MinIO,
 * Ceph, Wasabi, the embedded demo server).
 *
 * Contract:
 * - One S3Client per source, with bounded keep-alive connections, a connect timeout, an idle
 *   socket timeout, and the SDK's standard (or adaptive) retries for throttling, 5xx and network
 *   errors. Retries cover a request until its response headers arrive; a body that fails later
 *   errors the stream with a SourceError (`permanent: false`) and the caller decides.
 * - `list()` pages through ListObjectsV2 (never buffering the listing) and yields keys relative to
 *   the set prefix, in the store's (UTF-8 byte) order, with size, mtime and quote-less ETag.
 *   Zero-byte "folder marker" keys ending in `/` are skipped.
 * - `open()` issues one GetObject (ranged when asked; with If-Match when pinned to a version) and
 *   returns the body wrapped in an idle timeout, plus the ETag and VersionId the store reported
 *   for what it sent, the object's total size, and the failed attempts the SDK retried.
 *   The validator of an S3 object is its ETag; a 412 answer is an ObjectChangedError.
 * - `open(key, range, { versionId })` reads that version (GetObject `VersionId`) and
 *   `headVersion()` describes it (HeadObject `VersionId`): what `ID@VERSION` reads after an
 *   overwrite. NoSuchVersion / 404 is a VersionNotFoundError; a store that rejects the id as
 *   invalid (400: a bucket without versioning, a store without versions) one marked `unversioned`.
 * - Failures are SourceErrors naming the key and the store's message: missing key/bucket, access
 *   denied, bad range and other 4xx are permanent; throttling, 5xx, timeouts and network errors
 *   are not.
 * - Credentials come from the SDK default chain (environment, profile, instance role) unless
 *   given explicitly, which only embedded/demo use does: policy files never carry secrets.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  type GetObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { ObjectChangedError, SourceError, VersionNotFoundError } from '../errors.js';
import type { BackupSource, ByteRange, ObjectBody, OpenOptions, SourceObject } from './backup-source.js';
import { withIdleTimeout } from './idle-timeout.js';
import { classifyS3Error, createS3Client, quietRawResponse, S3_CONNECTION_DEFAULTS } from './s3-client.js';
import { type S3ConnectionOptions } from '../model/s3-connection.js';

/** Options of an S3 source. */
export interface S3SourceOptions extends S3ConnectionOptions {
  bucket: string;
  /** The set's folder in the bucket, e.g. `orders/`; a missing trailing `/` is added. */
  prefix?: string;
  /** Keys per ListObjectsV2 page, 1–1000. Default 1000 (tests use small pages). */
  pageSize?: number;
}

/**
 * Hands a GetObject body's idle timing from the HTTP handler to `withIdleTimeout`.
 *
 * The handler's idle socket timer guards connect → response headers, and bodies the SDK reads
 * itself (listings). On a GetObject body the consumer sets the pace: a socket timer would fire
 * while the consumer is busy (backpressure) and kill a healthy read. So once GetObject's headers
 * are in, the socket timer is switched off for that response; `withIdleTimeout`, which only
 * counts time the consumer is waiting, takes over. (The handler re-arms it on socket reuse.)
 */
function handOverBodyIdleTimeout(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'GetObjectCommand') {
        const raw = (
          result.response as
            { body?: { socket?: { setTimeout?: (ms: number) => unknown } | null } } | undefined
        )?.body;
        raw?.socket?.setTimeout?.(0);
      }
      return result;
    },
    { step: 'deserialize', name: 'vouchBodyIdleTimeoutHandOver', priority: 'low' },
  );
}

function stripQuotes(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : etag.replace(/^(W\/)?"(.*)"$/, '$2');
}

/**
 * Keeps bytes [skip, skip + limit) of `stream` and then ends, destroying `stream` (which aborts
 * the rest of an HTTP body). Errors of `stream` pass through.
 */
function sliceStream(stream: Readable, skip: number, limit: number): Readable {
  return Readable.from(
    (async function* () {
      let toSkip = skip;
      let left = limit;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let part = chunk;
        if (toSkip > 0) {
          const dropped = Math.min(toSkip, part.length);
          toSkip -= dropped;
          part = part.subarray(dropped);
        }
        if (part.length === 0) continue;
        if (part.length >= left) {
          yield part.subarray(0, left);
          return; // leaving the loop destroys `stream`
        }
        left -= part.length;
        yield part;
      }
    })(),
    { objectMode: false },
  );
}

/**
 * What to trim when a store answered a ranged GET with other bytes than asked: `undefined` when
 * it sent exactly [start, end) (or less, at the object's end); otherwise how many bytes to skip
 * and keep. Some stores ignore Range or misread it (s3rver sends everything for `bytes=0-0`).
 */
function rangeCorrection(
  range: ByteRange,
  contentRange: string | undefined,
): { skip: number; limit: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(?:\d+|\*)$/.exec(contentRange ?? '');
  const servedStart = match ? Number(match[1]) : 0; // no Content-Range: the whole object came back
  const servedEnd = match ? Number(match[2]) + 1 : Number.POSITIVE_INFINITY;
  if (servedStart === range.start && servedEnd <= range.end) return undefined;
  return { skip: range.start - servedStart, limit: range.end - range.start };
}

/** A set prefix as stored keys start with it: no leading `/`, a trailing `/` unless empty. */
export function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

/** The object's total size from Content-Range (`bytes a-b/total`), or the body length of a whole-object answer. */
function totalSize(
  contentRange: string | undefined,
  contentLength: number | undefined,
  ranged: boolean,
): number | undefined {
  const total = /\/(\d+)$/.exec(contentRange ?? '')?.[1];
  if (total !== undefined) return Number(total);
  return ranged ? undefined : contentLength;
}

/**
 * Records every failed attempt of one command as the SDK's retry loop makes it (the deserialize
 * step runs once per attempt, inside the retry middleware), so retried faults can be reported
 * even when the command finally succeeds.
 */
function recordAttemptErrors(command: GetObjectCommand, errors: string[]): GetObjectCommand {
  command.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        quietRawResponse(error);
        errors.push(classifyS3Error(error).detail);
        throw error;
      }
    },
    { step: 'deserialize', name: 'vouchAttemptErrors', priority: 'high' },
  );
  return command;
}

/** Creates a source over `s3://bucket/prefix`. `close()` destroys its client. */
export function createS3Source(options: S3SourceOptions): BackupSource {
  const bucket = options.bucket;
  const base = normalisePrefix(options.prefix);
  const location = `s3://${bucket}/${base}`;
  const pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 1000));
  const idleTimeoutMs = options.idleTimeoutMs ?? S3_CONNECTION_DEFAULTS.idleTimeoutMs;
  const client = createS3Client(options);
  handOverBodyIdleTimeout(client);

  const fail = (key: string, operation: string, error: unknown, versionId?: string): SourceError => {
    if (error instanceof SourceError) return error;
    quietRawResponse(error);
    const { permanent, detail } = classifyS3Error(error);
    const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
    const name = (error as { name?: string } | null)?.name;
    if (
      versionId !== undefined &&
      (name === 'NoSuchVersion' || name === 'NoSuchKey' || name === 'NotFound' || status === 404)
    ) {
      return new VersionNotFoundError(
        location,
        key,
        versionId,
        false,
        `${operation}: the store holds no version ${versionId} of this object (${detail})`,
        { cause: error },
      );
    }
    if (versionId !== undefined && (name === 'InvalidArgument' || status === 400)) {
      return new VersionNotFoundError(
        location,
        key,
        versionId,
        true,
        `${operation}: the store rejected version id ${versionId} (${detail}); does the bucket keep versions (versioning enabled)?`,
        { cause: error },
      );
    }
    if ((error as { name?: string } | null)?.name === 'PreconditionFailed' || status === 412) {
      return new ObjectChangedError(
        location,
        key,
        `${operation}: the object is no longer the version this read started on (${detail})`,
        { cause: error },
      );
    }
    return new SourceError(location, key, `${operation} failed: ${detail}`, permanent, { cause: error });
  };

  return {
    location,

    async *list(prefix = ''): AsyncIterable<SourceObject> {
      const pages = paginateListObjectsV2(
        { client, pageSize },
        { Bucket: bucket, ...(base + prefix ? { Prefix: base + prefix } : {}) },
      );
      try {
        for await (const page of pages) {
          for (const item of page.Contents ?? []) {
            if (item.Key === undefined || !item.Key.startsWith(base)) continue;
            const key = item.Key.slice(base.length);
            const size = item.Size ?? 0;
            if (key === '' || (key.endsWith('/') && size === 0)) continue;
            const etag = stripQuotes(item.ETag);
            yield {
              key,
              size,
              mtime: item.LastModified ?? new Date(0),
              ...(etag ? { etag, validator: etag } : {}),
              kind: 'file',
            };
          }
        }
      } catch (error) {
        throw fail(`${prefix}*`, 'ListObjectsV2', error);
      }
    },

    async open(key: string, range?: ByteRange, options: OpenOptions = {}): Promise<ObjectBody> {
      if (
        range &&
        !(
          Number.isSafeInteger(range.start) &&
          Number.isSafeInteger(range.end) &&
          range.start >= 0 &&
          range.end >= range.start
        )
      ) {
        throw new SourceError(location, key, `invalid range [${range.start}, ${range.end})`, true);
      }
      // S3 ignores an unsatisfiable Range header and sends the whole object: never send one.
      if (range && range.end === range.start) return { stream: Readable.from([], { objectMode: false }) };
      const input: GetObjectCommandInput = { Bucket: bucket, Key: base + key };
      if (range) input.Range = `bytes=${range.start}-${range.end - 1}`;
      if (options.ifMatch !== undefined) input.IfMatch = `"${options.ifMatch}"`;
      if (options.versionId !== undefined) input.VersionId = options.versionId;
      const retried: string[] = [];
      let output;
      try {
        output = await client.send(recordAttemptErrors(new GetObjectCommand(input), retried));
      } catch (error) {
        throw fail(key, 'GetObject', error, options.versionId);
      }
      const body = output.Body;
      if (options.versionId !== undefined && output.VersionId !== options.versionId) {
        // A store without versions (s3rver, some S3-compatible stores) ignores VersionId and sends the current object.
        (body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new VersionNotFoundError(
          location,
          key,
          options.versionId,
          true,
          `GetObject: asked for version ${options.versionId}, the store sent ${output.VersionId ? `version ${output.VersionId}` : 'an object without a version'}: it does not keep versions of this object`,
        );
      }
      if (!(body instanceof Readable)) {
        (body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new SourceError(location, key, 'GetObject returned no readable body', false);
      }
      const correction = range ? rangeCorrection(range, output.ContentRange) : undefined;
      if (correction && correction.skip < 0) {
        body.destroy();
        throw new SourceError(
          location,
          key,
          `asked for bytes ${range!.start}-${range!.end - 1}, store sent ${output.ContentRange}`,
          false,
        );
      }
      const guarded = withIdleTimeout(body, idleTimeoutMs, (message, cause) =>
        cause === undefined
          ? new SourceError(location, key, `GetObject body: ${message}`, false)
          : new SourceError(location, key, `GetObject body failed: ${classifyS3Error(cause).detail}`, false, {
              cause,
            }),
      );
      const etag = stripQuotes(output.ETag);
      const size = totalSize(output.ContentRange, output.ContentLength, range !== undefined);
      return {
        stream: correction ? sliceStream(guarded, correction.skip, correction.limit) : guarded,
        ...(etag ? { etag, validator: etag } : {}),
        ...(output.VersionId ? { versionId: output.VersionId } : {}),
        ...(size !== undefined ? { size } : {}),
        ...(retried.length ? { retried } : {}),
      };
    },

    async headVersion(key: string, versionId: string): Promise<SourceObject> {
      let output;
      try {
        output = await client.send(
          new HeadObjectCommand({ Bucket: bucket, Key: base + key, VersionId: versionId }),
        );
      } catch (error) {
        throw fail(key, 'HeadObject', error, versionId);
      }
      if (output.VersionId !== versionId) {
        throw new VersionNotFoundError(
          location,
          key,
          versionId,
          true,
          `HeadObject: asked for version ${versionId}, the store answered with ${output.VersionId ? `version ${output.VersionId}` : 'no version'}: it does not keep versions of this object`,
        );
      }
      if (output.DeleteMarker)
        throw new VersionNotFoundError(
          location,
          key,
          versionId,
          false,
          `HeadObject: version ${versionId} of this object is a delete marker, not content`,
        );
      const etag = stripQuotes(output.ETag);
      return {
        key,
        size: output.ContentLength ?? 0,
        mtime: output.LastModified ?? new Date(0),
        ...(etag ? { etag, validator: etag } : {}),
        versionId,
        pinnedVersion: true,
        kind: 'file',
      };
    },

    async close(): Promise<void> {
      client.destroy();
    },
  };
}
