/**
 * Worker side of a filesystem source's listing (fs-list.ts): walks directories with synchronous
 * calls — one readdir per directory, one lstat per name, one readlink per symlink — and answers
 * each `more` request with the next batch of listed objects in key order, so the main thread
 * gets one message per batch instead of a thread-pool round trip per file.
 *
 * The walk is exactly fs-source.ts's former one: names sorted in UTF-8 byte order with `/`
 * appended to directories (so children sort in place), lstat decides what is descended into,
 * symlinks are reported with their target and never followed, a name that vanished between the
 * readdir and its lstat (or readlink) is skipped, and a directory that vanished mid-walk lists
 * as empty.
 *
 * Nothing under the top directory is ever skipped silently (bugs B3, B4): names are read as bytes,
 * and one that is not valid UTF-8 (Node would decode it with U+FFFD, and the lstat of that text
 * would miss) is listed as an `unlisted` `unsafe-entry` whose key shows it escaped (`dir\xfe`)
 * and whose subtree is not walked; a directory below the top that cannot be read, or a name that
 * cannot be stat'ed or whose link cannot be read (EACCES, ENAMETOOLONG, EIO…), is listed as an
 * `unlisted` `read-error` and the walk goes on with its siblings. Only a failure to read the top
 * directory ends the listing, with an `error` message naming the key and the action; the main
 * thread words it as the async walk did.
 */
import { isUtf8 } from 'node:buffer';
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { fileValidator } from '../fs/local-file.js';
import type { Unlisted } from '../archives/plain-reader.js';
import type { ListedEntry, ListRequest, ListResponse } from './fs-list-protocol.js';

const port = parentPort!;

interface DirectoryEntry {
  /** The name as its key shows it: the name itself, or escaped (escapeName) when not valid UTF-8. */
  name: string;
  /** The name as it sorts: with `/` appended for a directory. */
  order: string;
  /** A name that is not valid UTF-8: its bytes as they sort (with `/` for a directory). */
  invalid?: { bytes: Buffer; isDirectory: boolean };
}

/** UTF-16 surrogates: without any, JavaScript's string order is code-point order, i.e. UTF-8 byte order. */
const SURROGATE = /[\uD800-\uDFFF]/;
const SLASH = Buffer.from('/');

/** Sorts names in UTF-8 byte order of `order`: as strings when that is the same, else as bytes. */
function sortByUtf8(entries: DirectoryEntry[]): DirectoryEntry[] {
  if (!entries.some((entry) => entry.invalid !== undefined || SURROGATE.test(entry.order)))
    return entries.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  const keyed = entries.map((entry) => ({ entry, bytes: entry.invalid?.bytes ?? Buffer.from(entry.order) }));
  keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return keyed.map(({ entry }) => entry);
}

/**
 * A name's bytes as printable, unambiguous text: printable ASCII as itself, every other byte
 * (and the backslash) as `\xNN`. Pure.
 */
function escapeName(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes)
    text +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  return text;
}

/** A failure to report: the key it concerns, what was being done, and the error. */
class WalkError extends Error {
  constructor(
    readonly key: string,
    readonly action: string,
    readonly error: unknown,
  ) {
    super(action);
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A name the walk reports instead of listing (see the module comment). */
function unlistedEntry(key: string, mtimeMs: number, unlisted: Unlisted): ListedEntry {
  return { key, size: 0, mtimeMs, kind: 'other', unlisted };
}

function readDirectory(directory: string, dirKey: string, namePrefix: string): DirectoryEntry[] | undefined {
  const entries: DirectoryEntry[] = [];
  const prefixBytes = Buffer.from(namePrefix);
  try {
    for (const dirent of readdirSync(directory, { withFileTypes: true, encoding: 'buffer' })) {
      const bytes = dirent.name;
      const valid = isUtf8(bytes);
      const name = valid ? bytes.toString('utf8') : escapeName(bytes);
      if (valid ? !name.startsWith(namePrefix) : !bytes.subarray(0, prefixBytes.length).equals(prefixBytes))
        continue;
      let isDirectory = dirent.isDirectory();
      const known =
        isDirectory ||
        dirent.isFile() ||
        dirent.isSymbolicLink() ||
        dirent.isFIFO() ||
        dirent.isSocket() ||
        dirent.isBlockDevice() ||
        dirent.isCharacterDevice();
      if (!known) {
        let stats: Stats | undefined;
        try {
          stats = lstatSync(Buffer.concat([Buffer.from(directory + path.sep), bytes]));
        } catch {
          stats = undefined;
        }
        isDirectory = stats?.isDirectory() ?? false;
      }
      const order = isDirectory ? `${name}/` : name;
      entries.push(
        valid
          ? { name, order }
          : {
              name,
              order,
              invalid: { bytes: isDirectory ? Buffer.concat([bytes, SLASH]) : bytes, isDirectory },
            },
      );
    }
  } catch (error) {
    if (dirKey !== '' && (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR')) return undefined;
    throw new WalkError(dirKey === '' ? '.' : `${dirKey}/`, 'cannot list directory', error);
  }
  return sortByUtf8(entries);
}

/** A directory being walked: the prefix of its children's paths and keys, its sorted names, the next one. */
interface Frame {
  pathPrefix: string;
  keyPrefix: string;
  entries: DirectoryEntry[];
  next: number;
}

/**
 * One listing's walk, depth first in key order, with an explicit stack of directories (a
 * recursive generator resumed every frame of the path for every name: a third of the listing
 * thread's time on the /usr sample, issue 13).
 */
class Walk {
  private readonly stack: Frame[] = [];
  /** The top directory, until the first `next()` reads it (its failure is that call's). */
  private start: [directory: string, dirKey: string, namePrefix: string] | null;
  /** Folders directly under the root not descended into (a walk from the root only). */
  private readonly skip: ReadonlySet<string> | null;

  constructor(directory: string, dirKey: string, namePrefix: string, skip?: readonly string[]) {
    this.start = [directory, dirKey, namePrefix];
    this.skip = dirKey === '' && skip?.length ? new Set(skip) : null;
  }

  /** The next listed object, or undefined once the walk is over; throws WalkError. */
  next(): ListedEntry | undefined {
    if (this.start) {
      const [directory, dirKey, namePrefix] = this.start;
      this.start = null;
      this.enter(directory, dirKey, namePrefix);
    }
    for (;;) {
      const frame = this.stack[this.stack.length - 1];
      if (!frame) return undefined;
      if (frame.next === frame.entries.length) {
        this.stack.pop();
        continue;
      }
      const { name, invalid } = frame.entries[frame.next++]!;
      const absolute = frame.pathPrefix + name;
      const key = frame.keyPrefix + name;
      if (invalid)
        return unlistedEntry(key, 0, {
          kind: 'unsafe-entry',
          detail: `name '${key}' is not valid UTF-8 (bytes shown as \\xNN); not read${invalid.isDirectory ? ", and the directory's contents were not listed" : ''}`,
        });
      let stats: Stats;
      try {
        stats = lstatSync(absolute);
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue; // deleted since the directory was read
        return unlistedEntry(key, 0, {
          kind: 'read-error',
          detail: `'${key}': cannot stat: ${errorMessage(error)}; not read`,
        });
      }
      if (stats.isDirectory()) {
        if (this.skip !== null && frame.keyPrefix === '' && this.skip.has(name)) continue;
        try {
          this.enter(absolute, key, '');
        } catch (error) {
          if (!(error instanceof WalkError)) throw error;
          return unlistedEntry(`${key}/`, stats.mtimeMs, {
            kind: 'read-error',
            detail: `directory '${key}/': ${error.action}: ${errorMessage(error.error)}; its contents were not read`,
          });
        }
        continue;
      }
      const base = { key, size: stats.size, mtimeMs: stats.mtimeMs };
      if (stats.isFile()) return { ...base, kind: 'file', validator: fileValidator(stats) };
      if (stats.isSymbolicLink()) {
        let linkTarget: string;
        try {
          linkTarget = readlinkSync(absolute);
        } catch (error) {
          if (errorCode(error) === 'ENOENT') continue;
          return unlistedEntry(key, stats.mtimeMs, {
            kind: 'read-error',
            detail: `symlink '${key}': cannot read symlink: ${errorMessage(error)}; not read`,
          });
        }
        return { ...base, kind: 'symlink', linkTarget };
      }
      return { ...base, kind: 'other' };
    }
  }

  /** Reads `directory` and walks its names next (a directory that vanished lists as empty). */
  private enter(directory: string, dirKey: string, namePrefix: string): void {
    const entries = readDirectory(directory, dirKey, namePrefix);
    if (!entries) return;
    this.stack.push({
      pathPrefix: directory.endsWith(path.sep) ? directory : directory + path.sep,
      keyPrefix: dirKey === '' ? '' : `${dirKey}/`,
      entries,
      next: 0,
    });
  }
}

/** Listings in progress, by id. */
const walks = new Map<number, Walk>();

port.on('message', (request: ListRequest) => {
  if (request.type === 'start') {
    walks.set(request.id, new Walk(request.directory, request.dirKey, request.namePrefix, request.skip));
    return;
  }
  const walking = walks.get(request.id);
  if (!walking) return;
  if (request.type === 'stop') {
    walks.delete(request.id);
    return;
  }
  const entries: ListedEntry[] = [];
  let response: ListResponse;
  try {
    let done = false;
    while (entries.length < request.max) {
      const next = walking.next();
      if (!next) {
        done = true;
        break;
      }
      entries.push(next);
    }
    if (done) walks.delete(request.id);
    response = { type: 'entries', id: request.id, entries, done };
  } catch (error) {
    walks.delete(request.id);
    const cause = error instanceof WalkError ? error.error : error;
    response = {
      type: 'error',
      id: request.id,
      entries,
      key: error instanceof WalkError ? error.key : '.',
      action: error instanceof WalkError ? error.action : 'cannot list',
      message: cause instanceof Error ? cause.message : String(cause),
      ...(errorCode(cause) !== undefined ? { code: errorCode(cause)! } : {}),
    };
  }
  port.postMessage(response);
});
