/**
 * Filesystem source: a backup set in a local or offline directory (mounted USB disk, NFS export,
 * air-gapped volume).
 *
 * Contract:
 * - `list()` walks the tree lazily in a worker thread (fs-list-worker.ts: a batch of objects in
 *   memory at a time, one directory's names in the worker) and yields keys in
 *   global key order (UTF-8 byte order, the order S3 lists in). It uses lstat: symlinks are
 *   reported as `symlink` with their target and never followed; sockets, FIFOs and devices are
 *   `other`; directories are descended into, not reported. Nothing below the root is skipped
 *   silently: a name that is not valid UTF-8, a directory that cannot be read and a name that
 *   cannot be stat'ed are listed as `unlisted` objects (kind `other`) saying why, and the walk
 *   goes on; only a failure to read the listed directory itself fails the listing.
 * - `open()` reads only regular files that really live under the root: the final component is
 *   opened with O_NOFOLLOW (so a symlink is refused), the opened descriptor must be a regular file
 *   (a FIFO or device is refused without blocking), and the file's real path must stay under the
 *   root's real path (a symlinked directory pointing elsewhere is refused).
 * - A file's validator is its device, inode, size and modification time: `open()` with `ifMatch`
 *   refuses (ObjectChangedError) a file that was replaced or rewritten since it was listed. A body
 *   delivers exactly the bytes the file (or the range) had when opened, and the validator is
 *   checked again at its end: a file truncated, served short (FUSE, NFS) or rewritten while it was
 *   read fails the body with the same ObjectChangedError, never a short clean read.
 * - `localFile()` hands out the recipe for reading a file of up to WORKER_READ_MAX_BYTES in a
 *   worker thread with the same checks (local-file.ts); it touches no disk, and a worker that
 *   cannot read cleanly falls back to `open()`.
 * - Every failure is a SourceError; `permanent` is true for ENOENT/EACCES/EISDIR-like problems
 *   and false for I/O errors a retry could fix (EIO, EAGAIN, ESTALE, …).
 */
import { constants, type Dirent, type Stats } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { open, readdir, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, pipeline } from 'node:stream';
import { ObjectChangedError, SourceError, VersionNotFoundError, describeError } from '../errors.js';
import {
  batchedListing,
  type BackupSource,
  type ByteRange,
  type ListOptions,
  type ObjectBody,
  type OpenOptions,
  type SourceObject,
} from './backup-source.js';
import { withIdleTimeout } from './idle-timeout.js';
import { FsLister, ListFailure } from './fs-list.js';
import type { ListedEntry } from './fs-list-protocol.js';
import { isInside } from '../fs/is-inside.js';
import { changedWhileRead, fileValidator, type LocalFile } from '../fs/local-file.js';

/**
 * Bytes per read from a file. 256 KiB measured better than 1 MiB on `npm run bench` (plain files:
 * ~15 % faster, peak RSS ~195 instead of ~220 MiB with 4 files read at once): smaller buffers
 * stay in the young generation and in cache, and the analysis ring takes them just as well.
 */
const READ_CHUNK_BYTES = 2 ** 18;
/**
 * Files up to this size are read whole by `open()` with one read call (a short read of a regular
 * file is its end) and served from memory: no read stream, no idle timer per chunk, no resume
 * layer. On a tree of small files that is a quarter of the main thread's work per file.
 */
const WHOLE_FILE_BYTES = 2 ** 20;
/**
 * Files up to this size are read by the analysis workers (`localFile`), larger ones streamed
 * through `open()` on the main thread. The workers read the bulk of a tree's bytes without a copy
 * through this thread: a file streamed here costs the main thread a read and a copy into the
 * analysis ring per byte, and with several large files that thread set the pace (`npm run bench`,
 * 19 files of up to 256 MiB: 2.2 s → 1.6 s, peak RSS 183 → 133 MiB when the workers read them,
 * issue 13). The cap bounds how long a stop request waits for a file already in a worker: up to
 * ~2 s of SHA-256 and detection on one core (the pool also bounds the bytes handed to a worker at
 * once: analysis-pool.ts FILE_BYTES_AHEAD_PER_WORKER).
 */
export const WORKER_READ_MAX_BYTES = 2 ** 30;

/** Options of a filesystem source. */
export interface FsSourceOptions {
  /**
   * A read that receives no bytes for this long fails (hung NFS/USB). Default 120 000 ms;
   * 0 disables. Time the consumer spends not reading never counts.
   */
  idleTimeoutMs?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/** Error codes where retrying cannot help. */
const PERMANENT_CODES = new Set([
  'ENOENT',
  'ENOTDIR',
  'EACCES',
  'EPERM',
  'EISDIR',
  'ELOOP',
  'ENXIO',
  'ENAMETOOLONG',
  'EINVAL',
  'EROFS',
]);
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Splits a key or prefix into path segments, refusing anything that could leave the root. */
function keySegments(key: string): string[] | undefined {
  if (key.includes('\0') || key.startsWith('/')) return undefined;
  const segments = key.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') return undefined;
    if (process.platform === 'win32' && /[\\:]/.test(segment)) return undefined;
  }
  return segments;
}

/** An empty, `.` or `..` segment of a `/`-separated key. */
const UNSAFE_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

/**
 * `key` as a path relative to the root, or undefined when keySegments refuses it — without
 * splitting it on POSIX, where `/` is the separator (one call per file of a tree).
 */
function relativePath(key: string): string | undefined {
  if (path.sep !== '/') return keySegments(key)?.join(path.sep);
  return key.includes('\0') || key.startsWith('/') || UNSAFE_SEGMENT.test(key) ? undefined : key;
}

/**
 * Whether a listing of the directory would give at least one object: a name that is not a
 * directory, or a directory below it that holds one or cannot be read (the walk lists that as
 * unlisted). Stops at the first such name. False when the directory itself cannot be read.
 */
async function holdsAName(directory: string, top = true): Promise<boolean> {
  let entries: Dirent[];
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch {
    return !top;
  }
  if (entries.some((entry) => !entry.isDirectory())) return true;
  for (const entry of entries) if (await holdsAName(path.join(directory, entry.name), false)) return true;
  return false;
}

/** A listed entry as the source lists it. */
function sourceObjectOf(listed: ListedEntry): SourceObject {
  const object: SourceObject = {
    key: listed.key,
    size: listed.size,
    // As Node's Stats.mtime: rounded to the millisecond, not truncated.
    mtime: new Date(Math.round(listed.mtimeMs)),
    kind: listed.kind,
  };
  if (listed.validator !== undefined) object.validator = listed.validator;
  if (listed.linkTarget !== undefined) object.linkTarget = listed.linkTarget;
  if (listed.unlisted !== undefined) object.unlisted = listed.unlisted;
  return object;
}

/** Creates a source over the directory `root` (resolved against the working directory). */
export function createFsSource(root: string, options: FsSourceOptions = {}): BackupSource {
  const rootPath = path.resolve(root);
  /** `rootPath` and a separator: a file's path is this plus its key's segments (checked by keySegments). */
  const rootPrefix = rootPath.endsWith(path.sep) ? rootPath : rootPath + path.sep;
  const location = rootPath;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let realRoot: string | undefined;

  const fail = (key: string, action: string, error: unknown): SourceError => {
    if (error instanceof SourceError) return error;
    const code = errorCode(error);
    return new SourceError(
      location,
      key,
      `${action}: ${describeError(error)}`,
      code !== undefined && PERMANENT_CODES.has(code),
      { cause: error },
    );
  };

  /** The root's real path; a missing or non-directory root is a clear, permanent error. */
  const resolveRoot = async (): Promise<string> => {
    if (realRoot !== undefined) return realRoot;
    let stats: Stats;
    try {
      stats = await stat(rootPath);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new SourceError(
          location,
          '.',
          `backup root ${rootPath} does not exist (volume not mounted?)`,
          true,
          { cause: error },
        );
      }
      throw fail('.', `cannot access backup root ${rootPath}`, error);
    }
    if (!stats.isDirectory())
      throw new SourceError(location, '.', `backup root ${rootPath} is not a directory`, true);
    realRoot = await realpath(rootPath).catch((error: unknown) => {
      throw fail('.', `cannot resolve backup root ${rootPath}`, error);
    });
    return realRoot;
  };

  const lister = new FsLister();

  /**
   * The objects under `directory` in key order, listed by the source's worker (fs-list.ts) in
   * batches; a generator of generators would cost an asynchronous step per object per level.
   */
  async function* walk(
    directory: string,
    dirKey: string,
    namePrefix: string,
    skip?: readonly string[],
  ): AsyncGenerator<SourceObject[]> {
    try {
      for await (const batch of lister.batches(directory, dirKey, namePrefix, skip)) {
        const objects: SourceObject[] = new Array<SourceObject>(batch.length);
        for (let i = 0; i < batch.length; i++) objects[i] = sourceObjectOf(batch[i]!);
        yield objects;
      }
    } catch (error) {
      if (error instanceof ListFailure)
        throw fail(
          error.key,
          error.action,
          Object.assign(new Error(error.message), error.code !== undefined ? { code: error.code } : {}),
        );
      throw fail(dirKey === '' ? '.' : `${dirKey}/`, 'cannot list directory', error);
    }
  }

  /**
   * The real path of the file `handle` has open. On Linux, /proc/self/fd names exactly the opened
   * file (one call, and no window between opening and resolving); elsewhere, or without /proc,
   * the path is resolved again and must still be the opened file.
   */
  async function openedRealPath(
    key: string,
    handle: FileHandle,
    absolute: string,
    opened: Stats,
  ): Promise<string> {
    if (process.platform === 'linux') {
      const linked = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
      if (linked !== undefined && linked.startsWith('/') && !linked.endsWith(' (deleted)')) return linked;
    }
    const real = await realpath(absolute);
    const current = await stat(real);
    if (current.ino !== opened.ino || current.dev !== opened.dev)
      throw new SourceError(location, key, 'file changed while it was being opened', false);
    return real;
  }

  /** Opens `key` with every check of the contract; the caller closes the handle. */
  async function openChecked(
    key: string,
    options: OpenOptions,
  ): Promise<{ handle: FileHandle; real: string; validator: string; size: number }> {
    const segments = keySegments(key);
    if (!segments)
      throw new SourceError(location, key, 'invalid key (absolute, empty segment or "..")', true);
    const realBase = await resolveRoot();
    const absolute = path.join(rootPath, ...segments);
    let handle;
    try {
      handle = await open(absolute, OPEN_FLAGS);
    } catch (error) {
      if (errorCode(error) === 'ELOOP')
        throw new SourceError(location, key, 'is a symlink; symlinks are never followed', true, {
          cause: error,
        });
      if (errorCode(error) === 'ENXIO')
        throw new SourceError(location, key, 'not a regular file (socket)', true, { cause: error });
      throw fail(key, 'cannot open', error);
    }
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) throw new SourceError(location, key, 'not a regular file', true);
      const real = await openedRealPath(key, handle, absolute, opened);
      if (!isInside(real, realBase))
        throw new SourceError(
          location,
          key,
          `resolves to ${real}, outside the backup root ${realBase}`,
          true,
        );
      const validator = fileValidator(opened);
      if (options.ifMatch !== undefined && options.ifMatch !== validator) {
        throw new ObjectChangedError(
          location,
          key,
          'the file was replaced or rewritten since it was listed (inode, size or modification time differ)',
        );
      }
      return { handle, real, validator, size: opened.size };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw fail(key, 'cannot open', error);
    }
  }

  /**
   * Throws ObjectChangedError unless a read of `key` through `handle` that delivered `bytesRead`
   * bytes is a read of one version of the file: `expected` bytes (what it had when opened) and the
   * validator it had when opened (`changedWhileRead`).
   */
  async function checkUnchanged(
    key: string,
    handle: FileHandle,
    bytesRead: number,
    expected: number,
    validator: string,
  ): Promise<void> {
    const after = await handle.stat();
    const changed = changedWhileRead(bytesRead, expected, validator, after);
    if (changed !== undefined)
      throw new ObjectChangedError(
        location,
        key,
        `the file was replaced or rewritten since it was listed (it changed while it was read: ${changed})`,
      );
  }

  /**
   * Reads a small file whole and closes it: one read of its size when opened (more only after a
   * short read), then the check that it did not change meanwhile (`checkUnchanged`). A read that
   * takes longer than the idle timeout fails (transient) without waiting for the store.
   */
  async function readWhole(
    key: string,
    handle: FileHandle,
    size: number,
    validator: string,
  ): Promise<Readable> {
    const buffer = Buffer.allocUnsafe(size);
    let length = 0;
    const reading = (async () => {
      while (length < size) {
        const { bytesRead } = await handle.read(buffer, length, size - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      await checkUnchanged(key, handle, length, size, validator);
    })();
    let timer: NodeJS.Timeout | undefined;
    try {
      if (idleTimeoutMs > 0 && Number.isFinite(idleTimeoutMs)) {
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new SourceError(
                  location,
                  key,
                  `no data received for ${idleTimeoutMs} ms (store stalled)`,
                  false,
                ),
              ),
            idleTimeoutMs,
          );
        });
        await Promise.race([reading, stalled]);
      } else {
        await reading;
      }
    } catch (error) {
      reading.catch(() => undefined);
      throw fail(key, 'read failed', error);
    } finally {
      clearTimeout(timer);
      // A stalled read keeps the handle busy: close it when the read settles, without waiting.
      void reading.finally(() => handle.close()).catch(() => undefined);
    }
    return Readable.from([buffer.subarray(0, length)], { objectMode: false });
  }

  /** `list()` in the walk's batches, as the listing worker sends them (its `batches` view). */
  async function* listBatches(prefix = '', options: ListOptions = {}): AsyncGenerator<SourceObject[]> {
    const realBase = await resolveRoot();
    const slash = prefix.lastIndexOf('/');
    const directoryPart = prefix.slice(0, slash + 1);
    const namePrefix = prefix.slice(slash + 1);
    const segments = directoryPart === '' ? [] : keySegments(directoryPart.slice(0, -1));
    if (!segments || namePrefix.includes('\0'))
      throw new SourceError(location, prefix, 'invalid prefix', true);
    const directory = path.join(rootPath, ...segments);
    if (segments.length > 0) {
      // Never list through a symlinked directory: the full listing reports it as a symlink.
      const real = await realpath(directory).catch(() => undefined);
      if (real !== path.join(realBase, ...segments)) return;
    }
    const skip = prefix === '' && options.skipFolders?.size ? [...options.skipFolders] : undefined;
    yield* walk(directory, segments.join('/'), namePrefix, skip);
  }

  return {
    location,

    list(prefix = '', options: ListOptions = {}): AsyncIterable<SourceObject> {
      return batchedListing(listBatches(prefix, options));
    },

    async folders(): Promise<string[]> {
      await resolveRoot();
      let entries: Dirent<Buffer>[];
      try {
        entries = await readdir(rootPath, { withFileTypes: true, encoding: 'buffer' });
      } catch (error) {
        throw fail('.', 'cannot list directory', error);
      }
      const names: string[] = [];
      for (const entry of entries) {
        // As the walk sees it: a real directory (never a symlink), its name valid UTF-8.
        if (!entry.isDirectory() || !isUtf8(entry.name)) continue;
        const name = entry.name.toString('utf8');
        if (await holdsAName(path.join(rootPath, name))) names.push(name);
      }
      return names.sort();
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
      if (options.versionId !== undefined)
        throw new VersionNotFoundError(
          location,
          key,
          options.versionId,
          true,
          `a directory keeps no versions of its files (asked for version ${options.versionId})`,
        );
      const { handle, validator, size } = await openChecked(key, options);

      if (range && range.end === range.start) {
        await handle.close().catch(() => undefined);
        return { stream: Readable.from([], { objectMode: false }), validator, size };
      }
      if (!range && size <= WHOLE_FILE_BYTES)
        return { stream: await readWhole(key, handle, size, validator), validator, size, buffered: true };
      const raw = handle.createReadStream({
        highWaterMark: READ_CHUNK_BYTES,
        autoClose: false,
        ...(range ? { start: range.start, end: range.end - 1 } : {}),
      });
      const expected = range ? Math.max(0, Math.min(range.end, size) - range.start) : size;
      let delivered = 0;
      const checked = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          delivered += chunk.length;
          done(null, chunk);
        },
        // At the end, before the body ends: the bytes and the validator of the file when opened.
        flush(done) {
          checkUnchanged(key, handle, delivered, expected, validator).then(() => done(), done);
        },
      });
      // The handle is closed once the body ended, failed or was destroyed (autoClose would close
      // it before the check).
      pipeline(raw, checked, () => void handle.close().catch(() => undefined));
      return {
        stream: withIdleTimeout(checked, idleTimeoutMs, (message, cause) =>
          cause === undefined
            ? new SourceError(location, key, message, false)
            : fail(key, 'read failed', cause),
        ),
        validator,
        size,
      };
    },

    localFile(key: string, size: number, options: OpenOptions = {}): LocalFile | undefined {
      // Before the first list() or open() the root is not resolved yet: use open().
      if (realRoot === undefined || size > WORKER_READ_MAX_BYTES) return undefined;
      const relative = relativePath(key);
      if (relative === undefined) return undefined;
      return {
        absolute: rootPrefix + relative,
        realRoot,
        // What the read may deliver, as the read session reserves it under the caps: the listed
        // size (a file changed since is refused anyway), never less than a whole read.
        maxBytes: Math.max(size, WHOLE_FILE_BYTES),
        ...(options.ifMatch !== undefined ? { ifMatch: options.ifMatch } : {}),
      };
    },

    async localPath(key: string, options: OpenOptions = {}): Promise<string> {
      const { handle, real } = await openChecked(key, options);
      await handle.close().catch(() => undefined);
      return real;
    },

    async close(): Promise<void> {
      // Only the listing worker is held between calls.
      await lister.close();
    },
  };
}
