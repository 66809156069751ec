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
 * one the listing saw. The real-path check is needed although the validator pins an inode: the
 * listing lstats names by their full path, so a parent folder swapped for a symlink while it is
 * walked pins the outside file's own inode (an adversarial review showed it, issue 13). After the
 * read, exactly the size the file had when opened must have been read and its validator must be
 * unchanged (`changedWhileRead`): a file truncated, served short (FUSE, NFS) or rewritten while it
 * was read is no clean read. Anything short of a clean read — any refusal, any error, a file grown
 * past `maxBytes`, a platform without /proc — is a `fallback`: the caller then reads the file
 * through the source's ordinary `open()`, which applies the same checks again, retries transient
 * faults and words the error, so findings and fault tallies are the same whichever thread read it.
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
 * new one when the file needs more room); a larger one in chunks of LOCAL_CHUNK_BYTES read into
 * that buffer and handed to `update`, each valid only during its call (`chunked`). Either way
 * exactly the size fstat gave at open is read, and the file's validator is checked again after
 * the read; a short read or a change is `{ fallback: 'changed while it was read' }`. Never
 * throws; after a `fallback` the bytes `update` saw are to be discarded.
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
    const chunked = stats.size > LOCAL_CHUNK_BYTES;
    const target = chunked
      ? buffer.length >= LOCAL_CHUNK_BYTES
        ? buffer
        : Buffer.allocUnsafe(LOCAL_CHUNK_BYTES)
      : buffer.length >= stats.size
        ? buffer
        : Buffer.allocUnsafe(stats.size);
    const length = chunked ? readChunks(fd, target, stats.size, update) : readUpTo(fd, target, 0, stats.size);
    // A short read (truncated, or served short by FUSE/NFS) or a file changed meanwhile is never
    // a clean read: its bytes are no version the file ever had whole.
    if (changedWhileRead(length, stats.size, fileValidator(stats), fstatSync(fd)) !== undefined)
      return { fallback: 'changed while it was read' };
    return { length, buffer: target, chunked };
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
 * Reads up to `count` bytes of the open file `fd` from `position` into the start of `target`,
 * continuing after short reads; returns the bytes read (fewer only at the end of the file).
 */
function readUpTo(fd: number, target: Buffer, position: number, count: number): number {
  let filled = 0;
  while (filled < count) {
    const read = readSync(fd, target, filled, count - filled, position + filled);
    if (read === 0) break;
    filled += read;
  }
  return filled;
}

/**
 * Reads the first `size` bytes of the open file `fd` in chunks of LOCAL_CHUNK_BYTES (short reads
 * are filled up, so only the last chunk is shorter) into `target`, handing each to `update`;
 * returns the bytes read (fewer than `size` when the file ended early). Read errors throw (the
 * caller falls back).
 */
function readChunks(fd: number, target: Buffer, size: number, update: (chunk: Uint8Array) => void): number {
  let length = 0;
  while (length < size) {
    const wanted = Math.min(LOCAL_CHUNK_BYTES, size - length);
    const filled = readUpTo(fd, target, length, wanted);
    if (filled > 0) update(target.subarray(0, filled));
    length += filled;
    if (filled < wanted) break;
  }
  return length;
}

/**
 * Why a read of a file is not a read of one version of it, or undefined when it is. A clean read
 * delivered exactly the `expected` bytes (the size it had when opened, or the part of it a range
 * asked for) and left the file with the validator it had when opened (`openedValidator`, see
 * `fileValidator`); `after` is the open descriptor's stat once the read ended. Pure.
 */
export function changedWhileRead(
  bytesRead: number,
  expected: number,
  openedValidator: string,
  after: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>,
): string | undefined {
  if (bytesRead !== expected)
    return `${bytesRead} bytes read where it had ${expected} when opened (truncated or served short)`;
  if (fileValidator(after) !== openedValidator)
    return 'its inode, size or modification time changed during the read';
  return undefined;
}
