/**
 * Reader for directory snapshots of loose files (a local directory or an S3 prefix). Each key
 * goes through the same safe-path module and name guard as archive members; symlinks are
 * recorded with their target and never followed; anything that is neither a file nor a symlink
 * (sockets, devices, FIFOs on a filesystem source) is an unsafe entry. A file whose stream fails
 * is a read-error for that file and the next one is still read.
 */
import type { Readable } from 'node:stream';
import { describeError } from '../errors.js';
import type { ArchiveLimits, EntryVisitor, ReadSummary } from './entry-reader.js';
import type { EntryType } from '../model/manifest.js';
import { problem, ReadSession } from './read-session.js';
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
}

const TYPES: Record<PlainObject['kind'], EntryType> = { file: 'file', symlink: 'symlink', other: 'other' };

/**
 * Reads `objects`, opening each file with `openObject(key, object)`. Entries are admitted (named, checked,
 * counted) in listing order; up to `concurrency` of them are read at once, so the visitor's
 * `entry()` calls may overlap (each still gets its own body, consumed to its end). Never throws
 * for bad content or failed reads: those are problems; a failed listing stops the read
 * (incomplete).
 */
export async function readPlainEntries(
  objects: AsyncIterable<PlainObject>,
  openObject: (key: string, object: PlainObject) => Promise<Readable>,
  visitor: EntryVisitor,
  limits: ArchiveLimits,
  concurrency = 1,
): Promise<ReadSummary> {
  const session = new ReadSession(visitor, limits, 'skip');
  const running = new Set<Promise<void>>();
  try {
    for await (const object of objects) {
      if (session.stopped) break;
      const reading = readObject(object, openObject, session).finally(() => running.delete(reading));
      running.add(reading);
      if (running.size >= Math.max(1, concurrency)) await Promise.race(running);
    }
  } catch (error) {
    session.stop(problem('read-error', '', `listing the snapshot failed: ${describeError(error)}`));
  }
  await Promise.all(running);
  return session.finish();
}

/** The entry type of a listed object. An empty `key/` object is an S3 "folder" marker. */
function typeOf(object: PlainObject): EntryType {
  if (object.kind === 'file' && object.size === 0 && object.key.endsWith('/')) return 'directory';
  return TYPES[object.kind];
}

async function readObject(object: PlainObject, openObject: (key: string, object: PlainObject) => Promise<Readable>, session: ReadSession): Promise<void> {
  const type = typeOf(object);
  const entry = session.admit({
    rawName: object.key,
    type,
    size: type === 'file' ? object.size : 0,
    mtime: object.mtime,
    ...(type === 'symlink' && object.linkTarget !== undefined ? { linkTarget: object.linkTarget } : {}),
    ...(object.etag !== undefined ? { etag: object.etag } : {}),
    ...(object.versionId !== undefined ? { versionId: object.versionId } : {}),
  });
  if (!entry) return;
  if (entry.type !== 'file') {
    await session.visit(entry);
    return;
  }
  let stream: Readable;
  try {
    stream = await openObject(object.key, object);
  } catch (error) {
    session.report(problem('read-error', entry.path, `${entryLabel(entry.path)}: cannot open: ${describeError(error)}`));
    return;
  }
  await session.visit(entry, { stream, abandon: 'destroy', sourceErrors: 'report' });
}
