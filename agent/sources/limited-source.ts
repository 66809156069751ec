/**
 * Bounds the reads in flight against one store: the decorator restic calls backend/limiter.
 *
 * An object being read holds a permit from its first `open()` until the last of its body streams
 * closes (ended, failed or destroyed), so at most `limit` objects stream from the store at once
 * however many sets, snapshots and files are being read; further opens wait their turn in FIFO
 * order. Several ranges of one object (a zip's central directory and members, a resumed body)
 * share their object's permit, so one reader never waits on itself. Sets that read the same
 * store (same S3 endpoint and bucket, same filesystem root) share one limiter through
 * `storeLimiter`, so the store sees the policy's limit, not one per set. `localFile()` recipes
 * pass through without a permit: the analysis workers follow them one file per worker at a time.
 */
import { finished } from 'node:stream';
import type { BackupSource, OpenOptions } from './backup-source.js';

/** A counting semaphore with FIFO waiters. */
export class ReadLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Waits for a permit; the returned function gives it back (idempotent). */
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  /** Reads holding a permit now. */
  get inFlight(): number {
    return this.active;
  }
}

const limiters = new Map<string, ReadLimiter>();

/**
 * The process-wide limiter of the store named `store` (e.g. `s3 http://minio:9000 backups`). The
 * first caller's limit wins until a smaller one is asked for: the strictest policy applies.
 */
export function storeLimiter(store: string, limit: number): ReadLimiter {
  const existing = limiters.get(store);
  if (existing && existing.limit <= limit) return existing;
  const created = new ReadLimiter(Math.max(1, limit));
  limiters.set(store, created);
  return created;
}

/** Wraps `source` so that its reads take permits from `limiter`. */
export function withReadLimit(source: BackupSource, limiter: ReadLimiter): BackupSource {
  /** Per key being read: its permit and the streams and opens holding it. */
  const holders = new Map<string, { users: number; permit: Promise<() => void> }>();
  const join = (key: string) => {
    let holder = holders.get(key);
    if (!holder) {
      holder = { users: 0, permit: limiter.acquire() };
      holders.set(key, holder);
    }
    holder.users++;
    const current = holder;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      if (--current.users > 0) return;
      holders.delete(key);
      void current.permit.then((release) => release());
    };
    return { ready: current.permit, leave };
  };
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
    async open(key, range, options) {
      const { ready, leave } = join(key);
      try {
        await ready;
        const body = await source.open(key, range, options);
        finished(body.stream, leave);
        body.stream.once('close', leave);
        return body;
      } catch (error) {
        leave();
        throw error;
      }
    },
    close: () => source.close(),
  };
}
