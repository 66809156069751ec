/**
 * Reader for directory snapshots of loose files (a local directory or an S3 prefix). Each key
 * goes through the same safe-path module and name guard as archive members; symlinks are
 * recorded with their target and never followed; anything that is neither a file nor a symlink
 * (sockets, devices, FIFOs on a filesystem source) is an unsafe entry; a name the source could not
 * list (`unlisted`: not valid UTF-8, an unreadable directory) is the problem the source names, and
 * is not read. A file whose stream fails
 * is a read-error for that file and the next one is still read. Local files may be offered
 * to the visitor as recipes for a worker to read (`localFile`), falling back to `openObject`.
 */
import type { Readable } from 'node:stream';
import { describeError } from '../errors.js';
import type { ArchiveLimits, EntryVisitor, ReadSummary } from './entry-reader.js';
import type { EntryType } from '../model/manifest.js';
import type { LocalFile } from '../fs/local-file.js';
import { problem, ReadSession, type EntryHeader } from './read-session.js';
import { entryLabel } from './safe-path.js';

/** One listed object, as sources list them (`SourceObject` satisfies it). */
export interface PlainObject {
  /** Key relative to the snapshot root, `/`-separated. */
  key: string;
  size: number;
  kind: 'file' | 'symlink' | 'other';
  linkTarget?: string;
  mtime: Date;
  /** Store identity, passed on to the entry (and `validator` to `openObject`, to pin the read). */
  etag?: string;
  versionId?: string;
  validator?: string;
  /** A name the source could not list (see SourceObject.unlisted): reported as this problem, never read. */
  unlisted?: Unlisted;
}

/** Why a source could not list a name like the others, as the read reports it. */
export interface Unlisted {
  kind: 'unsafe-entry' | 'read-error';
  detail: string;
}

const TYPES: Record<PlainObject['kind'], EntryType> = { file: 'file', symlink: 'symlink', other: 'other' };

/**
 * Local files in flight at once when the source hands out recipes: the workers read them, so they
 * hold no file descriptor or buffer on this thread; enough in flight that every worker has files
 * queued behind the message it works on (FILES_AHEAD_PER_WORKER in analysis-pool.ts) and the
 * listing may run ahead.
 */
export const LOCAL_IN_FLIGHT = 256;

/** A counter of reads in flight that lets the reader wait for a free place. */
class InFlight {
  private count = 0;
  private waiter: (() => void) | null = null;
  private idle: (() => void) | null = null;
  private readonly settled = () => {
    this.count--;
    const wake = this.waiter;
    this.waiter = null;
    wake?.();
    if (this.count === 0) {
      const done = this.idle;
      this.idle = null;
      done?.();
    }
  };
  constructor(private readonly limit: number) {}

  get full(): boolean {
    return this.count >= this.limit;
  }

  /** The first rejection of a tracked read, thrown by `drained()`. */
  private failure: { error: unknown } | null = null;
  private readonly failed = (error: unknown) => {
    this.failure ??= { error };
    this.settled();
  };

  /** Counts `reading` until it settles (one callback pair per read: no promise chain of its own). */
  track(reading: Promise<void>): void {
    this.count++;
    void reading.then(this.settled, this.failed);
  }

  /** Resolves once fewer than `limit` are in flight. */
  async room(): Promise<void> {
    while (this.full) await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  /** Resolves once none is in flight; rejects then with the first read that rejected. */
  async drained(): Promise<void> {
    while (this.count > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    if (this.failure) throw this.failure.error;
  }
}

/**
 * Reads `objects` (one at a time or in batches, as the listing comes), opening each file with
 * `openObject(key, object)`. Entries are admitted (named, checked,
 * counted) in listing order; up to `concurrency` of them are read at once, so the visitor's
 * `entry()` calls may overlap (each still gets its own body, consumed to its end). Files
 * for which `localFile` gives a recipe are offered to the visitor's `localEntry` instead, up to
 * LOCAL_IN_FLIGHT of them at once besides. Never throws
 * for bad content or failed reads: those are problems; a failed listing stops the read
 * (incomplete).
 */
export async function readPlainEntries(
  objects: AsyncIterable<PlainObject | readonly PlainObject[]>,
  openObject: (key: string, object: PlainObject) => Promise<Readable>,
  visitor: EntryVisitor,
  limits: ArchiveLimits,
  concurrency = 1,
  localFile?: (key: string, object: PlainObject) => LocalFile | undefined,
): Promise<ReadSummary> {
  const session = new ReadSession(visitor, limits, 'skip');
  const opened = new InFlight(Math.max(1, concurrency));
  const local = new InFlight(LOCAL_IN_FLIGHT);
  try {
    listing: for await (const item of objects) {
      const batch: readonly PlainObject[] = isBatch(item) ? item : [item];
      for (const object of batch) {
        if (session.stopped) break listing;
        const recipe =
          visitor.localEntry && object.kind === 'file' ? localFile?.(object.key, object) : undefined;
        const pool = recipe ? local : opened;
        // Waiting for room before starting (not after) keeps this thread from listing far ahead.
        if (pool.full) await pool.room();
        if (session.stopped) break listing;
        pool.track(readObject(object, openObject, session, recipe));
      }
    }
  } catch (error) {
    session.stop(problem('read-error', '', `listing the snapshot failed: ${describeError(error)}`));
  }
  await Promise.all([opened.drained(), local.drained()]);
  return session.finish();
}

function isBatch(item: PlainObject | readonly PlainObject[]): item is readonly PlainObject[] {
  return Array.isArray(item);
}

/** The entry type of a listed object. An empty `key/` object is an S3 "folder" marker. */
function typeOf(object: PlainObject): EntryType {
  if (object.kind === 'file' && object.size === 0 && object.key.endsWith('/')) return 'directory';
  return TYPES[object.kind];
}

async function readObject(
  object: PlainObject,
  openObject: (key: string, object: PlainObject) => Promise<Readable>,
  session: ReadSession,
  recipe: LocalFile | undefined,
): Promise<void> {
  if (object.unlisted) {
    session.report(problem(object.unlisted.kind, object.key, object.unlisted.detail));
    return;
  }
  const type = typeOf(object);
  const header: EntryHeader = {
    rawName: object.key,
    type,
    size: type === 'file' ? object.size : 0,
    mtime: object.mtime,
  };
  if (type === 'symlink' && object.linkTarget !== undefined) header.linkTarget = object.linkTarget;
  if (object.etag !== undefined) header.etag = object.etag;
  if (object.versionId !== undefined) header.versionId = object.versionId;
  const entry = session.admit(header);
  if (!entry) return;
  if (entry.type !== 'file') {
    await session.visit(entry);
    return;
  }
  if (recipe && (await session.visitLocal(entry, recipe))) return;
  let stream: Readable;
  try {
    stream = await openObject(object.key, object);
  } catch (error) {
    session.report(
      problem('read-error', entry.path, `${entryLabel(entry.path)}: cannot open: ${describeError(error)}`),
    );
    return;
  }
  await session.visit(entry, { stream, abandon: 'destroy', sourceErrors: 'report' });
}
