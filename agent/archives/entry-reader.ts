/**
 * The contract every entry reader (plain files, tar family, zip) implements. Readers never
 * throw for bad archive content: they report problems to the visitor and carry on when they
 * can, or stop and say the read was incomplete.
 */
import type { Readable } from 'node:stream';
import type { EntryType } from '../model/manifest.js';
import type { LocalFile } from '../fs/local-file.js';

/** Archive formats vouch reads; `plain` means loose files (directory snapshots). */
export type ArchiveFormat =
  'plain' | 'tar' | 'tar.gz' | 'tar.zst' | 'tar.xz' | 'tar.bz2' | 'tar.lz4' | 'zip' | '7z';

/** One entry's header, after the safe-path module has looked at its name. */
export interface ArchiveEntry {
  /** The name exactly as stored (lossily decoded), for messages only. */
  rawName: string;
  /** Normalised relative path (`a/b/c`, NFC, no `.`/`..`/empty parts). */
  path: string;
  type: EntryType;
  /** Declared size in bytes; 0 for anything but files. */
  size: number;
  /** Permission bits as stored (informational: restores mask them). */
  mode?: number;
  mtime?: Date;
  /** Link target as stored, for symlinks and hardlinks (recorded, never followed). */
  linkTarget?: string;
  /**
   * Set on members stored encrypted (zip traditional or AES encryption). vouch cannot decrypt
   * them, so `body` streams the stored (still encrypted) bytes and `size` counts those: digests
   * cover the stored bytes, and content checks must not take them for ransomware.
   */
  encrypted?: boolean;
  /** Plain objects of a directory snapshot: the store's ETag and VersionId, recorded in the manifest. */
  etag?: string;
  versionId?: string;
}

/** A problem with one entry or with the archive as a whole (then `path` is `''`). */
export interface ArchiveProblem {
  /** `unsafe-entry`: hostile or unsafe name/type; `read-error`: corrupt, truncated or over a cap. */
  kind: 'unsafe-entry' | 'read-error';
  /** Normalised path when there is one, else the raw name, else `''` for the whole archive. */
  path: string;
  detail: string;
}

/** Receives entries in archive order. */
export interface EntryVisitor {
  /**
   * Called once per admitted entry. For `file` entries `body` streams exactly the entry's bytes
   * and the visitor must consume it to the end (or destroy it) before its promise settles; the
   * reader does not move on until it does. `body` is null for every other type.
   * If the body stream errors (truncation, CRC, cap), the visitor's promise may reject; the
   * reader turns that into a `read-error` problem, never an exception.
   */
  entry(entry: ArchiveEntry, body: Readable | null): Promise<void>;
  /**
   * Optional, for directory snapshots on local disk: a `file` entry offered as a recipe
   * (local-file.ts) instead of a body, for the visitor to have read and analysed off this thread.
   * Resolves with the bytes read, or null when the file could not be read cleanly that way — the
   * reader then opens it as usual and calls `entry()` with its body (so the entry is visited once
   * either way). A rejection is a `read-error` for the entry, as with `entry()`.
   */
  localEntry?(entry: ArchiveEntry, file: LocalFile): Promise<number | null>;
  /**
   * Called for every problem. An entry refused for its problem is not passed to `entry()`, with
   * two exceptions: a symlink whose target is absolute or escapes the root is still passed (links
   * are recorded, never followed), and a `read-error` about a body that failed mid-read follows
   * the `entry()` call for that entry.
   */
  problem(problem: ArchiveProblem): void;
}

/** Where a reader gets its bytes. Sources provide it; names are for messages. */
export interface ArchiveInput {
  /** Human-readable name of the object (e.g. `s3://bucket/key` or a file path). */
  name: string;
  /** Object size in bytes. */
  size: number;
  /** A fresh stream of the whole object from the start (tar family). */
  open(): Promise<Readable>;
  /** A fresh stream of bytes [start, end) (zip central directory and members). */
  openRange(start: number, end: number): Promise<Readable>;
  /**
   * The object as a regular file on this machine (checked as `open()` checks it), for readers
   * that hand the archive to a host tool needing random access (7-Zip); null or absent: the
   * reader copies `open()` into `scratchDir` first.
   */
  localFile?(): Promise<string | null>;
  /** Where a reader may put a temporary copy of the object (default: the OS temp directory). */
  scratchDir?: string;
  /** A file whose first line is the password of encrypted archives (7z); never the password itself. */
  passwordFile?: string;
  /** Once aborted, a reader stops the host tools it runs (streams from `open()` are stopped by the input itself). */
  signal?: AbortSignal;
}

/** Caps that keep a hostile archive from exhausting memory, disk or time. */
export interface ArchiveLimits {
  maxEntries: number;
  /** Sum of entry sizes (declared and actual). */
  maxTotalBytes: number;
  maxEntryBytes: number;
  /** Decompressed bytes per compressed byte, checked once past 1 MiB of output. */
  maxRatio: number;
  /** Characters in a normalised path. */
  maxPathLength: number;
  /** Path components. */
  maxDepth: number;
}

/** Defaults sized for real backups: large but finite. */
export const DEFAULT_LIMITS: ArchiveLimits = {
  maxEntries: 5_000_000,
  maxTotalBytes: 16 * 2 ** 40,
  maxEntryBytes: 2 ** 40,
  maxRatio: 1000,
  maxPathLength: 4096,
  maxDepth: 128,
};

/** Outcome of reading one archive. */
export interface ReadSummary {
  /** Entries passed to the visitor. */
  entries: number;
  /** Content bytes passed to the visitor. */
  bytes: number;
  /** False when the reader had to stop early (truncation, corruption, a cap): the scan is incomplete. */
  complete: boolean;
}

/** Reads one archive format. One implementation per file, registered in `registry.ts`. */
export interface EntryReader {
  readonly format: Exclude<ArchiveFormat, 'plain'>;
  read(input: ArchiveInput, visitor: EntryVisitor, limits: ArchiveLimits): Promise<ReadSummary>;
}
