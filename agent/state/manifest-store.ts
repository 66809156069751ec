/**
 * Baseline manifests on disk: `manifests/SET/SNAPSHOT.ndjson.gz`, a header line then one line
 * per entry. Written through a temp file and renamed only when complete, so a crash never leaves
 * a partial baseline; once written a manifest is never changed.
 *
 * Format 2 (written now) keeps entries sorted by path (`comparePaths`) in block gzip
 * (block-gzip.ts): every few hundred entries start a new gzip member whose header names its
 * first path. It is still one ordinary `.ndjson.gz` to any gzip tool, and it lets vouch stream a
 * manifest in path order (merge-joins against a scan, constant memory) or look one path up by
 * inflating a single block. Format 1 manifests (unsorted, one member) are still read: they are
 * loaded into memory and sorted, as before.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { ManifestEntry, ManifestHeader } from '../model/manifest.js';
import { comparePaths } from '../integrity/path-order.js';
import { syncDirectory } from '../fs/atomic-write.js';
import { ownerIsDead } from '../fs/lock-file.js';
import { encodeBlock, listBlocks, readBlocks, readBlockSync, type BlockInfo } from '../fs/block-gzip.js';

/**
 * Entries per block: small, so a lookup that misses the cache inflates a few KiB (an archive's
 * order can jump all over the sorted manifest), large enough to compress well.
 */
const BLOCK_ENTRIES = 64;
/** …or this many bytes of lines, whichever comes first. */
const BLOCK_BYTES = 32 * 1024;
/**
 * Blocks kept parsed per open manifest unless told (a lookup's working set: ~16k entries), for
 * lookups whose order can jump (an archive's members).
 */
const CACHED_BLOCKS = 256;
/**
 * Blocks kept parsed for lookups made in about path order (a directory's walk, which lists in the
 * manifest's order): the one being looked in and a few behind it for entries that finish late.
 * ~16 MB less heap than CACHED_BLOCKS with detection's measurements.
 */
export const IN_ORDER_CACHED_BLOCKS = 8;

/** How an open manifest will be used. */
export interface OpenManifestOptions {
  /** Blocks kept parsed for `get()` (CACHED_BLOCKS unless told; IN_ORDER_CACHED_BLOCKS for in-order lookups). */
  cachedBlocks?: number;
}
/** Manifest file names end so; a writer's temp file adds `.PID.tmp` (`tempPath`). */
const MANIFEST_SUFFIX = '.ndjson.gz';
/** A writer's temp file: the manifest's name, the writing process's id, `.tmp`. */
const TEMP_NAME = /\.(\d+)\.tmp$/;

/** File-name-safe form of a snapshot id (ids may contain `/` on nested prefixes). */
export function snapshotFileName(snapshot: string): string {
  return encodeURIComponent(snapshot);
}

/** The folder holding a set's manifests. */
function manifestFolder(stateDir: string, set: string): string {
  return path.join(stateDir, 'manifests', set);
}

/** Where a set's snapshot manifest lives. */
export function manifestPath(stateDir: string, set: string, snapshot: string): string {
  return path.join(manifestFolder(stateDir, set), `${snapshotFileName(snapshot)}${MANIFEST_SUFFIX}`);
}

/** Where this process writes `target` before renaming it into place. */
function tempPath(target: string): string {
  return `${target}.${process.pid}.tmp`;
}

/**
 * The snapshots of `set` that have a committed manifest (snapshot ids, not file names); empty when
 * the set has none or its folder cannot be read. A manifest still being written is not listed.
 */
export async function listManifests(stateDir: string, set: string): Promise<Set<string>> {
  const folder = manifestFolder(stateDir, set);
  const ids = new Set<string>();
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    if (!name.endsWith(MANIFEST_SUFFIX)) continue;
    const stem = name.slice(0, -MANIFEST_SUFFIX.length);
    let id: string;
    try {
      id = decodeURIComponent(stem);
    } catch {
      continue; // not a name snapshotFileName gives
    }
    if (snapshotFileName(id) === stem) ids.add(id);
  }
  return ids;
}

/**
 * Removes the temp files of manifest writers that died (a process on this host that no longer
 * exists); this process's own and other live processes' are kept. Unreadable folders are skipped.
 */
export async function removeDeadManifestTemps(stateDir: string): Promise<void> {
  for (const set of await readdir(path.join(stateDir, 'manifests')).catch(() => [] as string[])) {
    const folder = manifestFolder(stateDir, set);
    for (const name of await readdir(folder).catch(() => [] as string[])) {
      const match = TEMP_NAME.exec(name);
      if (
        match &&
        Number(match[1]) !== process.pid &&
        ownerIsDead({ pid: Number(match[1]), host: hostname(), since: '' })
      ) {
        await rm(path.join(folder, name), { force: true });
      }
    }
  }
}

/** Streams a manifest to disk; nothing is visible until `commit()`. */
export interface ManifestWriter {
  /** Adds the next entry; entries must come in path order (`comparePaths`), each path once. */
  add(entry: ManifestEntry): Promise<void>;
  /** Finishes, fsyncs and renames into place; returns the file's SHA-256 and entry count. */
  commit(): Promise<{ file: string; sha256: string; entries: number }>;
  /** Throws the partial file away. */
  abort(): Promise<void>;
}

/** The header as a manifest of this version records it. */
export type ManifestHeaderInput = Omit<ManifestHeader, 'version'> & { version?: ManifestHeader['version'] };

/** Starts writing a (format 2) manifest for `header.set`/`header.snapshot`. */
export async function createManifestWriter(
  stateDir: string,
  header: ManifestHeaderInput,
): Promise<ManifestWriter> {
  const target = manifestPath(stateDir, header.set, header.snapshot);
  await mkdir(path.dirname(target), { recursive: true });
  const temp = tempPath(target);
  const out = await open(temp, 'w', 0o644);
  const fileHash = createHash('sha256');
  let entries = 0;
  let lines: string[] = [];
  let lineBytes = 0;
  let firstPath: string | null = null;
  let lastPath: string | null = null;
  let closed = false;

  const writeMember = async (member: Buffer) => {
    fileHash.update(member);
    for (let offset = 0; offset < member.length;) offset += (await out.write(member, offset)).bytesWritten;
  };
  const flush = async () => {
    if (lines.length === 0) return;
    const block = Buffer.from(lines.join(''), 'utf8');
    const label = firstPath;
    lines = [];
    lineBytes = 0;
    firstPath = null;
    await writeMember(await encodeBlock(block, label));
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    await out.close();
  };
  try {
    await writeMember(
      await encodeBlock(Buffer.from(`${JSON.stringify({ ...header, version: 2 })}\n`, 'utf8'), null),
    );
  } catch (error) {
    await close();
    await rm(temp, { force: true });
    throw error;
  }

  return {
    async add(entry) {
      if (lastPath !== null && comparePaths(lastPath, entry.path) >= 0) {
        throw new Error(
          `manifest entries must come in path order, each once: '${entry.path}' after '${lastPath}'`,
        );
      }
      lastPath = entry.path;
      entries++;
      const line = `${JSON.stringify(entry)}\n`;
      firstPath ??= entry.path;
      lines.push(line);
      lineBytes += line.length;
      if (lines.length >= BLOCK_ENTRIES || lineBytes >= BLOCK_BYTES) await flush();
    },
    async commit() {
      await flush();
      await out.sync();
      await close();
      await rename(temp, target);
      await syncDirectory(path.dirname(target));
      return { file: target, sha256: fileHash.digest('hex'), entries };
    },
    async abort() {
      await close().catch(() => undefined);
      await rm(temp, { force: true });
    },
  };
}

/** A stored manifest opened for reading. */
export interface ManifestReader {
  header: ManifestHeader;
  /** Every entry in path order, streamed (format 2: one block in memory at a time). */
  entries(): AsyncIterable<ManifestEntry>;
  /** `entries()` in batches (format 2: a block's entries each), none empty. */
  entryBatches(): AsyncIterable<ManifestEntry[]>;
  /**
   * The entry at `path`, if any (format 2: reads and inflates at most one block, synchronously —
   * a few KiB; recent blocks are cached). Synchronous so that a read's per-entry lookups cost no
   * promise each. Throws when that block is corrupt.
   */
  get(path: string): ManifestEntry | undefined;
  close(): Promise<void>;
}

/** Parses one block's lines. */
function parseLines(file: string, text: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const line of text.split('\n')) if (line) out.push(parseManifestLine<ManifestEntry>(file, line));
  return out;
}

/** The index of the last block whose first path is ≤ `target` (blocks[0] is the header). */
function blockFor(blocks: readonly BlockInfo[], target: string): number {
  let low = 1;
  let high = blocks.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (comparePaths(blocks[middle]!.label ?? '', target) <= 0) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** Binary search of a sorted entry array. */
function findEntry(entries: readonly ManifestEntry[], target: string): ManifestEntry | undefined {
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const order = comparePaths(entries[middle]!.path, target);
    if (order === 0) return entries[middle];
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

/** One manifest line as JSON; a line that is not names the manifest file. */
function parseManifestLine<T>(file: string, line: string): T {
  try {
    return JSON.parse(line) as T;
  } catch (error) {
    throw new Error(
      `baseline manifest ${file} is corrupt: a line is not JSON (run \`vouch evidence verify\`: the ledger binds each manifest's digest)`,
      { cause: error },
    );
  }
}

/** A block of `file` that cannot be read back, as an error naming the manifest (parse errors already do). */
function corrupt(file: string, error: unknown): Error {
  if (error instanceof Error && error.message.startsWith(`baseline manifest ${file}`)) return error;
  return new Error(
    `baseline manifest ${file} is corrupt: ${(error as Error).message} (run \`vouch evidence verify\`: the ledger binds each manifest's digest)`,
    { cause: error },
  );
}

async function openBlocked(file: string, handle: FileHandle, cachedBlocks: number): Promise<ManifestReader> {
  const blocks = await listBlocks(handle);
  if (blocks.length === 0) throw new Error(`${file}: empty manifest`);
  const header = parseManifestLine<ManifestHeader>(
    file,
    readBlockSync(handle.fd, blocks[0]!).toString('utf8').trim(),
  );
  if (header.format !== 'vouch-manifest') throw new Error(`${file}: not a vouch manifest`);
  const cache = new Map<number, ManifestEntry[]>();
  const load = (index: number): ManifestEntry[] => {
    const hit = cache.get(index);
    if (hit) {
      cache.delete(index); // re-insert: Map order is the LRU order
      cache.set(index, hit);
      return hit;
    }
    let parsed: ManifestEntry[];
    try {
      parsed = parseLines(file, readBlockSync(handle.fd, blocks[index]!).toString('utf8'));
    } catch (error) {
      throw corrupt(file, error);
    }
    cache.set(index, parsed);
    if (cache.size > cachedBlocks) cache.delete(cache.keys().next().value!);
    return parsed;
  };
  const entryBatches = async function* (): AsyncGenerator<ManifestEntry[]> {
    try {
      for await (const data of readBlocks(handle, blocks.slice(1))) {
        const parsed = parseLines(file, data.toString('utf8'));
        if (parsed.length > 0) yield parsed;
      }
    } catch (error) {
      throw corrupt(file, error);
    }
  };
  return {
    header,
    async *entries() {
      for await (const batch of entryBatches()) yield* batch;
    },
    entryBatches,
    get(target) {
      const index = blockFor(blocks, target);
      return index < 0 ? undefined : findEntry(load(index), target);
    },
    close: () => handle.close(),
  };
}

/** Reads a format 1 manifest (one gzip member, entries in read order) whole, sorted. */
async function openLegacy(file: string): Promise<ManifestReader> {
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  let header: ManifestHeader | null = null;
  const byPath = new Map<string, ManifestEntry>();
  for await (const line of lines) {
    if (!line) continue;
    if (!header) header = parseManifestLine<ManifestHeader>(file, line);
    else {
      const entry = parseManifestLine<ManifestEntry>(file, line);
      byPath.set(entry.path, entry);
    }
  }
  if (!header || header.format !== 'vouch-manifest') throw new Error(`${file}: not a vouch manifest`);
  const sorted = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
  return {
    header,
    async *entries() {
      yield* sorted;
    },
    async *entryBatches() {
      if (sorted.length > 0) yield sorted;
    },
    get: (target) => byPath.get(target),
    close: async () => undefined,
  };
}

/** Opens a snapshot's manifest, or returns null when the snapshot has none yet. */
export async function openManifest(
  stateDir: string,
  set: string,
  snapshot: string,
  options: OpenManifestOptions = {},
): Promise<ManifestReader | null> {
  const file = manifestPath(stateDir, set, snapshot);
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const magic = Buffer.alloc(16);
    await handle.read(magic, 0, 16, 0);
    const blocked =
      magic[0] === 0x1f &&
      magic[1] === 0x8b &&
      (magic[3]! & 4) !== 0 &&
      magic.toString('latin1', 12, 14) === 'VB';
    if (blocked) return await openBlocked(file, handle, Math.max(1, options.cachedBlocks ?? CACHED_BLOCKS));
    await handle.close();
    return await openLegacy(file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw new Error(`manifest ${file} is unreadable: ${(error as Error).message}`, { cause: error });
  }
}

/** A manifest read back whole: header plus entries by path. */
export interface LoadedManifest {
  header: ManifestHeader;
  entries: Map<string, ManifestEntry>;
  sha256: string;
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The SHA-256 of a snapshot's manifest file, or null when it has none. */
export async function manifestSha256(
  stateDir: string,
  set: string,
  snapshot: string,
): Promise<string | null> {
  try {
    return await fileSha256(manifestPath(stateDir, set, snapshot));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Loads a whole baseline manifest into memory, or null when the snapshot has none yet. For
 * drills and small tools; scans stream manifests with `openManifest` instead.
 */
export async function loadManifest(
  stateDir: string,
  set: string,
  snapshot: string,
): Promise<LoadedManifest | null> {
  const reader = await openManifest(stateDir, set, snapshot);
  if (!reader) return null;
  try {
    const entries = new Map<string, ManifestEntry>();
    for await (const entry of reader.entries()) entries.set(entry.path, entry);
    return {
      header: reader.header,
      entries,
      sha256: await fileSha256(manifestPath(stateDir, set, snapshot)),
    };
  } finally {
    await reader.close();
  }
}
