/**
 * Reading one local file, in whichever thread holds the recipe: the analysis workers read a
 * directory snapshot's files themselves (open, check, read, hash, analyse) so the main thread
 * makes no file-system call per file beyond the listing's lstat, and copies no bytes. A file of up
 * to LOCAL_CHUNK_BYTES is read whole with one call; a larger one in chunks of exactly
 * LOCAL_CHUNK_BYTES (the last shorter) into the same buffer — the chunks an analysis sees when the
 * main thread streams a file into the analysis pool's ring (one slot each), so every result is
 * the same whichever way the file went.
 *
 * The checks are exactly those of the filesystem source's `open()` (fs-source.ts): the final
 * component opened with O_NOFOLLOW (a symlink is refused) and O_NONBLOCK (a FIFO never blocks),
 * the descriptor must be a regular file, its real path (from /proc/self/fd) must lie under the
 * root's real path, and its validator (device, inode, size, modification time) must still be the
 * one the listing saw. Anything short of a clean read — any refusal, any error, a file grown past
 * `maxBytes`, a platform without /proc — is a `fallback`: the caller then reads the file through
 * the source's ordinary `open()`, which applies the same checks again, retries transient faults
 * and words the error, so findings and fault tallies are the same whichever thread read it.
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { isInside } from './is-inside.js';

/** What a thread needs to read one file. Plain data: it is posted to workers. */
export interface LocalFile {
  /** Absolute path of the file under the root (never resolved through links). */
  absolute: string;
  /** The root's real path: the opened file's real path must lie under it. */
  realRoot: string;
  /** The listing's validator (see `fileValidator`): the read is refused if the file changed. */
  ifMatch?: string;
  /** Files longer than this when opened are not read here (fallback). */
  maxBytes: number;
}

/** The largest file read with one call, and the size of every chunk of a larger one. */
export const LOCAL_CHUNK_BYTES = 2 ** 20;

/**
 * A clean read's length and the buffer it used (to be reused), and whether its bytes went to
 * `update` in chunks (`chunked`) or were read whole and are at the start of `buffer`; or why not.
 */
export type LocalReadOutcome = { length: number; buffer: Buffer; chunked: boolean } | { fallback: string };

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** The version token of a file: what changes when it is replaced or rewritten. */
export function fileValidator(stats: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${Math.round(stats.mtimeMs * 1000)}`;
}

/**
 * Reads `file` with synchronous calls (meant for worker threads): a file of at most
 * LOCAL_CHUNK_BYTES whole, with one call, into the start of the returned buffer (`buffer`, or a
 * grown copy when the file needs more room); a larger one in chunks of LOCAL_CHUNK_BYTES read into
 * that buffer and handed to `update`, each valid only during its call, to the end of the file
 * (`chunked`). Never throws; after a `fallback` the bytes `update` saw are to be discarded.
 */
export function readLocalFile(
  file: LocalFile,
  buffer: Buffer,
  update: (chunk: Uint8Array) => void = () => undefined,
): LocalReadOutcome {
  if (process.platform !== 'linux') return { fallback: 'no /proc/self/fd on this platform' };
  let fd: number;
  try {
    fd = openSync(file.absolute, OPEN_FLAGS);
  } catch (error) {
    return { fallback: `open: ${(error as Error).message}` };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { fallback: 'not a regular file' };
    if (file.ifMatch !== undefined && fileValidator(stats) !== file.ifMatch)
      return { fallback: 'changed since it was listed' };
    if (stats.size > file.maxBytes) return { fallback: 'larger than a worker reads' };
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (!real.startsWith('/') || real.endsWith(' (deleted)') || !isInside(real, file.realRoot))
      return { fallback: 'outside the root or deleted' };
    if (stats.size > LOCAL_CHUNK_BYTES) return readChunks(fd, buffer, file.maxBytes, update);
    const wholeMax = Math.min(file.maxBytes, LOCAL_CHUNK_BYTES);
    let target = buffer;
    if (target.length < stats.size + 1) target = Buffer.allocUnsafe(stats.size + 1);
    // One read of size + 1 bytes: a short read of a regular file is its end.
    let length = 0;
    for (;;) {
      const wanted = Math.min(target.length, wholeMax + 1) - length;
      if (wanted <= 0) return { fallback: 'grew past a whole read' };
      const read = readSync(fd, target, length, wanted, length);
      length += read;
      if (read < wanted) break;
      if (length > wholeMax) return { fallback: 'grew past a whole read' };
      const grown = Buffer.allocUnsafe(Math.min(target.length * 2, wholeMax + 1));
      target.copy(grown, 0, 0, length);
      target = grown;
    }
    if (length > wholeMax) return { fallback: 'grew past a whole read' };
    return { length, buffer: target, chunked: false };
  } catch (error) {
    return { fallback: `read: ${(error as Error).message}` };
  } finally {
    try {
      closeSync(fd);
    } catch {
      // A close failure after a complete read loses nothing.
    }
  }
}

/**
 * Reads the open file `fd` to its end in chunks of LOCAL_CHUNK_BYTES (short reads are filled up,
 * so only the last chunk is shorter) into `buffer` (grown once if it is smaller), handing each to
 * `update`; a file that grows past `maxBytes` meanwhile is a fallback. Read errors throw (the
 * caller falls back).
 */
function readChunks(
  fd: number,
  buffer: Buffer,
  maxBytes: number,
  update: (chunk: Uint8Array) => void,
): LocalReadOutcome {
  const target = buffer.length >= LOCAL_CHUNK_BYTES ? buffer : Buffer.allocUnsafe(LOCAL_CHUNK_BYTES);
  let length = 0;
  for (;;) {
    let filled = 0;
    while (filled < LOCAL_CHUNK_BYTES) {
      const read = readSync(fd, target, filled, LOCAL_CHUNK_BYTES - filled, length + filled);
      if (read === 0) break;
      filled += read;
    }
    if (filled > 0) update(target.subarray(0, filled));
    length += filled;
    if (length > maxBytes) return { fallback: 'grew past what a worker reads' };
    if (filled < LOCAL_CHUNK_BYTES) return { length, buffer: target, chunked: true };
  }
}
