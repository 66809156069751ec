/**
 * Retries and resumes reads of a BackupSource: the decorator restic calls backend/retry.
 *
 * - `open()`: a transient SourceError (throttling, 5xx, a timeout, a reset connection, EIO) is
 *   retried after an exponential backoff with full jitter, up to `openAttempts` attempts; a
 *   permanent one (missing key, access denied, an object that changed) is thrown at once.
 * - A body that fails part-way with a transient error — a stall ended by the source's idle
 *   timeout, a connection reset mid-body, a response cut short — is resumed from the first byte
 *   not yet delivered: the object is opened again with a range starting there and `ifMatch` set
 *   to the version first served, so bytes of two versions are never spliced together (a changed
 *   object fails the read with ObjectChangedError). A body whose source names no version
 *   (no validator) is never resumed.
 * - Every fault is reported through `onFault`: retried (including the attempts the source
 *   retried itself, such as the S3 SDK's), resumed, or given up — transient or permanent — so a
 *   scan can say what the store did, and an error that ends a read says which it was.
 *
 * `list()` and `close()` pass through.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { describeError, ObjectChangedError, SourceError } from '../errors.js';
import type { BackupSource, ByteRange, ObjectBody, OpenOptions } from './backup-source.js';

/** One fault the wrapper saw, and what it did about it. */
export interface SourceFault {
  /** The object's key. */
  key: string;
  /** `retried`: tried again and went on; `resumed`: a body continued from where it broke; `gave-up`: the read failed. */
  action: 'retried' | 'resumed' | 'gave-up';
  /** Whether a retry could have helped (throttling, 5xx, timeouts, resets) or not (missing, denied, changed). */
  transient: boolean;
  /** What happened, one line. */
  detail: string;
}

/** How persistent the wrapper is. */
export interface RetryPolicy {
  /** Attempts to open an object, the first included (1: the source's own retries only). */
  openAttempts: number;
  /** Times one body may be resumed after failing part-way. */
  resumes: number;
  /** Backoff before retry n (n = 1, 2, …): a random delay in [0, min(maxMs, baseMs × 2^(n-1))]. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Options of `withRetries`. */
export interface RetryOptions extends Partial<RetryPolicy> {
  /** Sees every fault (called synchronously; keep it cheap). */
  onFault?: (fault: SourceFault) => void;
  /** Waits (tests replace it to run without real delays). */
  sleep?: (ms: number) => Promise<void>;
}

/** Defaults: a few resumes, backoff from 200 ms to 10 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  openAttempts: 3,
  resumes: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
};

/** Whether an error is a store failure that a retry could fix. */
export function isTransient(error: unknown): boolean {
  return error instanceof SourceError && !error.permanent;
}

/** The delay before retry `attempt` (1-based): full jitter over an exponential cap. */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/** The error a given-up read ends with: the source's, saying whether it was transient and how often it was tried. */
function givenUp(error: unknown, key: string, location: string, tries: number): Error {
  if (!(error instanceof SourceError))
    return error instanceof Error ? error : new Error(describeError(error));
  const how = error.permanent
    ? 'permanent, not retried'
    : `transient, gave up after ${tries} ${tries === 1 ? 'try' : 'tries'} with backoff`;
  const message = `${describeError(error).replace(`${location}: ${key}: `, '')} (${how})`;
  return error instanceof ObjectChangedError
    ? new ObjectChangedError(location, key, message, { cause: error })
    : new SourceError(location, key, message, error.permanent, { cause: error });
}

/** Wraps `source` with retries and resumable bodies (see the module comment). */
export function withRetries(source: BackupSource, options: RetryOptions = {}): BackupSource {
  const policy: RetryPolicy = {
    openAttempts: Math.max(1, options.openAttempts ?? DEFAULT_RETRY_POLICY.openAttempts),
    resumes: Math.max(0, options.resumes ?? DEFAULT_RETRY_POLICY.resumes),
    baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
  };
  const report = options.onFault ?? (() => undefined);
  const sleep = options.sleep ?? ((ms: number) => sleepFor(ms));

  /** Opens with retries; reports the source's own retries too. Throws the given-up error. */
  async function openWithRetries(
    key: string,
    range: ByteRange | undefined,
    conditions: OpenOptions | undefined,
  ): Promise<ObjectBody> {
    for (let attempt = 1; ; attempt++) {
      try {
        const body = await source.open(key, range, conditions);
        for (const detail of body.retried ?? []) report({ key, action: 'retried', transient: true, detail });
        return body;
      } catch (error) {
        const transient = isTransient(error);
        if (!transient || attempt >= policy.openAttempts) {
          const final = givenUp(error, key, source.location, attempt);
          report({ key, action: 'gave-up', transient, detail: describeError(final) });
          throw final;
        }
        report({ key, action: 'retried', transient, detail: describeError(error) });
        await sleep(backoffDelay(attempt, policy));
      }
    }
  }

  /** The body's bytes, continuing after transient failures from the first byte not yet delivered. */
  async function* resumingBytes(
    key: string,
    first: Readable,
    start: number,
    end: number,
    validator: string,
    versionId?: string,
  ): AsyncGenerator<Buffer> {
    let current = first;
    let offset = start;
    let resumed = 0;
    try {
      for (;;) {
        try {
          for await (const chunk of current as AsyncIterable<Buffer>) {
            offset += chunk.length;
            yield chunk;
          }
          return;
        } catch (error) {
          // Every byte arrived: the digest judges them — unless the source says they are not one
          // version of the object (a file rewritten while it was read).
          if (offset >= end && !(error instanceof ObjectChangedError)) return;
          if (!isTransient(error) || resumed >= policy.resumes) {
            const final = givenUp(error, key, source.location, resumed + 1);
            report({ key, action: 'gave-up', transient: isTransient(error), detail: describeError(final) });
            throw final;
          }
          resumed++;
          const pin = versionId !== undefined ? `VersionId ${versionId}` : `If-Match ${validator}`;
          report({
            key,
            action: 'resumed',
            transient: true,
            detail: `resumed at byte ${offset} of ${end} (${pin}) after: ${describeError(error)}`,
          });
          await sleep(backoffDelay(resumed, policy));
          current = (
            await openWithRetries(
              key,
              { start: offset, end },
              versionId !== undefined ? { versionId } : { ifMatch: validator },
            )
          ).stream;
        }
      }
    } finally {
      current.destroy();
    }
  }

  return {
    location: source.location,
    list: (prefix, options) => source.list(prefix, options),
    ...(source.folders ? { folders: () => source.folders!() } : {}),
    ...(source.localPath
      ? { localPath: (key: string, options?: OpenOptions) => source.localPath!(key, options) }
      : {}),
    ...(source.snapshots ? { snapshots: () => source.snapshots!() } : {}),
    ...(source.localFile
      ? {
          localFile: (key: string, size: number, options?: OpenOptions) =>
            source.localFile!(key, size, options),
        }
      : {}),
    ...(source.headVersion
      ? { headVersion: (key: string, versionId: string) => source.headVersion!(key, versionId) }
      : {}),
    async open(key, range, conditions) {
      const body = await openWithRetries(key, range, conditions);
      const validator = conditions?.ifMatch ?? body.validator;
      const start = range?.start ?? 0;
      const end = range ? Math.min(range.end, body.size ?? range.end) : body.size;
      if (
        body.buffered ||
        policy.resumes === 0 ||
        validator === undefined ||
        end === undefined ||
        end <= start
      )
        return body;
      return {
        ...body,
        stream: Readable.from(resumingBytes(key, body.stream, start, end, validator, conditions?.versionId), {
          objectMode: false,
        }),
      };
    },
    close: () => source.close(),
  };
}
