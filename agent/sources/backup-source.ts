/**
 * BackupSource: where a backup set's bytes live (a local/offline directory, an S3 bucket prefix).
 * Keys are relative to the set's root, `/`-separated, never starting with `/`.
 */
import type { Readable } from 'node:stream';
import type { LocalFile } from '../fs/local-file.js';
import type { Unlisted } from '../archives/plain-reader.js';

/** One object (file) in a source. */
export interface SourceObject {
  /** Key relative to the set root, `/`-separated. */
  key: string;
  size: number;
  mtime: Date;
  /** S3 ETag without quotes. */
  etag?: string;
  /** S3 version id when the listing or a read reported one. */
  versionId?: string;
  /** `symlink` and `other` only occur on filesystem sources; they are never followed or read. */
  kind: 'file' | 'symlink' | 'other';
  linkTarget?: string;
  /**
   * Opaque token naming this version of the object (S3: its ETag; filesystem: device, inode,
   * size and modification time). Passed back as `ifMatch`, it pins a read to this version.
   */
  validator?: string;
  /**
   * Reads of this object name `versionId` (an earlier version asked for as `ID@VERSION`) instead
   * of pinning whatever version is current by `validator` (see `readConditions`).
   */
  pinnedVersion?: boolean;
  /**
   * Filesystem sources: a name the listing could not list like the others (kind `other`, size 0,
   * never read) — a name that is not valid UTF-8 (`unsafe-entry`, the key shows it escaped) or a
   * directory or name it could not read (`read-error`). Readers report it as that problem.
   */
  unlisted?: Unlisted;
}

/**
 * The conditions every read of `object` carries: its `versionId` when the object is an earlier
 * version read on purpose (`pinnedVersion`), otherwise `ifMatch` its validator (never mixing the
 * bytes of two versions), otherwise none.
 */
export function readConditions(object: SourceObject): OpenOptions {
  if (object.pinnedVersion && object.versionId !== undefined) return { versionId: object.versionId };
  return object.validator !== undefined ? { ifMatch: object.validator } : {};
}

/** One snapshot of a backup tool's repository (a restic snapshot, a borg archive). */
export interface RepositorySnapshot {
  /** vouch's id for it: restic's short id, the borg archive's name. */
  id: string;
  time: Date;
  /**
   * What `open()` takes (`key`) and the snapshot's identity: `etag` is the tool's own id (restic's
   * snapshot id, a hash over its tree; borg's archive id), `size` 0 (unknown until read).
   */
  object: SourceObject;
  /** Backed-up paths, host and tags, as the tool reports them (for reports). */
  paths?: string[];
  host?: string;
  tags?: string[];
}

/** A byte range [start, end) of an object. */
export interface ByteRange {
  start: number;
  end: number;
}

/** An opened object body plus the identity the store reported for what it sent. */
export interface ObjectBody {
  stream: Readable;
  etag?: string;
  versionId?: string;
  /** The served version's validator (see SourceObject.validator), for pinning later reads. */
  validator?: string;
  /** The whole object's size as the store reported it (not the range's), when it did. */
  size?: number;
  /**
   * Transient failures the source already retried itself before this body arrived (the S3
   * SDK's own attempts), one line each, so they can be reported.
   */
  retried?: string[];
  /**
   * The stream's bytes are already in memory (a small local file read whole by `open()`): it
   * cannot stall or fail part-way, so there is nothing to resume.
   */
  buffered?: boolean;
}

/** Conditions on a read. */
export interface OpenOptions {
  /**
   * Serve the object only while it is still this version (a `validator` from the listing or an
   * earlier read); otherwise fail with ObjectChangedError. Bytes of two versions are never mixed.
   */
  ifMatch?: string;
  /**
   * Serve this version of the object (an S3 VersionId), whatever version is current. Only
   * sources with `headVersion` understand it; others fail with a permanent SourceError.
   */
  versionId?: string;
}

/** How to list. */
export interface ListOptions {
  /**
   * Folders directly under the set root (names from `folders()`) whose contents a listing of the
   * whole set (`prefix` `''`) leaves out; ignored for any other prefix.
   */
  skipFolders?: ReadonlySet<string>;
}

/** A store of backup objects. Implementations must be safe to use concurrently. */
export interface BackupSource {
  /** Printable location, e.g. `s3://backups/orders/` or `/mnt/offline/orders`. */
  readonly location: string;
  /**
   * Every object under `prefix` (relative to the set root; `''` for all), recursively, in key
   * order. Paged internally; never buffers the whole listing. Sources with `folders()` honour
   * `options.skipFolders`.
   */
  list(prefix?: string, options?: ListOptions): AsyncIterable<SourceObject>;
  /**
   * The folders directly under the set root that `list('')` would descend into and list at
   * least one object under, by name (no `/`), e.g. to list some of them later on their own
   * (`list('name/')`) and skip them now (`ListOptions.skipFolders`). A folder whose name the
   * source cannot give back exactly (not valid UTF-8) is left out: the full listing reports it.
   * Sources that cannot list one level (or skip folders) have no such method.
   */
  folders?(): Promise<string[]>;
  /**
   * Opens an object, or a range of it. The stream errors (never hangs) if the store stalls
   * longer than the source's idle timeout. Throws SourceError; `permanent` says whether a retry
   * could help; ObjectChangedError when `options.ifMatch` no longer names the stored version.
   * Must be idempotent: opening the same key and range twice yields the same bytes.
   */
  open(key: string, range?: ByteRange, options?: OpenOptions): Promise<ObjectBody>;
  /**
   * Sources whose objects are files on this machine: the absolute path of `key`, checked as
   * `open()` checks it (a regular file under the root, not reached through a symlink, still the
   * version `ifMatch` names), for host tools that need the file itself (7-Zip).
   */
  localPath?(key: string, options?: OpenOptions): Promise<string>;
  /**
   * Sources whose objects are files on this machine: a plain-data recipe for reading the file
   * `key` (listed at `size` bytes) in a worker thread, with `open()`'s checks
   * (local-file.ts); undefined when it must be read through `open()`. Touches no disk. A reader
   * that cannot follow the recipe cleanly falls back to `open()`, which retries and words errors.
   */
  localFile?(key: string, size: number, options?: OpenOptions): LocalFile | undefined;
  /**
   * Sources that are a backup tool's repository (restic, borg) know their snapshots: they list
   * them here, oldest first, and `open(snapshot.object.key)` streams one snapshot as a tar.
   * Object stores and directories have no such method: their snapshots are discovered from
   * `list()` by the policy's layout.
   */
  snapshots?(): Promise<RepositorySnapshot[]>;
  /**
   * Stores that keep object versions (S3): the object `key` as version `versionId` (size, ETag,
   * mtime, that versionId; `pinnedVersion` set, so reads of it name the version). Throws
   * VersionNotFoundError when the store holds no such version of the key, a SourceError for
   * anything else. Sources without versions (directories, restic, borg) have no such method.
   */
  headVersion?(key: string, versionId: string): Promise<SourceObject>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * A listing that may also be consumed in the batches its source lists in: the same objects, in
 * the same order, with the same errors, one asynchronous step per batch instead of per object (a
 * reader of many small files). The batch view belongs to the iterable one `list()` call returned,
 * so it always matches that listing: a wrapper that passes `list()` through keeps it, one that
 * re-implements `list()` drops it and its readers iterate object by object.
 */
export interface BatchedListing<T> extends AsyncIterable<T> {
  readonly batches: AsyncIterable<T[]>;
}

/** A listing over `batches`, iterable object by object or (`batches`) batch by batch. */
export function batchedListing<T>(batches: AsyncIterable<T[]>): BatchedListing<T> {
  return {
    batches,
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches) yield* batch;
    },
  };
}

/** `listing`'s batches when it has them, else the listing itself (one object per step). */
export function batchesOf<T>(listing: AsyncIterable<T>): AsyncIterable<T | T[]> {
  return (listing as Partial<BatchedListing<T>>).batches ?? listing;
}
