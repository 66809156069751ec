/**
 * The read phase of a snapshot scan: streams an archive object through its format's reader, or a
 * directory snapshot's members through the plain reader, handing every entry to the judge's
 * visitor. The archive is digested whole in the same pass (random-access formats are read again
 * end to end only when an object checksum list wants the digest); the directory's listing is
 * fingerprinted as it streams. A read that fails becomes a critical read-error finding, never an
 * exception — except a stop request, which throws ScanAbortedError.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ArchiveInput, EntryVisitor, ReadSummary } from '../archives/entry-reader.js';
import { readPlainEntries, type PlainObject } from '../archives/plain-reader.js';
import { readerFor } from '../archives/registry.js';
import type { SetPolicy } from '../config/resolve-policy.js';
import { describeError, ObjectChangedError } from '../errors.js';
import { createDigester, digestStream, type ChunkSink } from '../integrity/digest.js';
import type { DigestAlgorithm } from '../model/manifest.js';
import { abortableInput, archiveInputFor, type ServedIdentity } from '../sources/archive-input.js';
import { batchesOf, readConditions, type BackupSource, type SourceObject } from '../sources/backup-source.js';
import {
  addToFingerprint,
  problemPath,
  type ArchiveSnapshot,
  type DirectorySnapshot,
  type ListingSummary,
  type Snapshot,
} from '../sources/snapshot-discovery.js';
import type { FindingsCollector } from './findings-collector.js';

/** Thrown out of a read that a stop request ended. */
export class ScanAbortedError extends Error {
  override name = 'ScanAbortedError';
}

/** What the read phase needs of the scan (a SnapshotScanContext provides it). */
export interface ReadContext {
  set: SetPolicy;
  source: BackupSource;
  /** Where readers may copy an archive they cannot read in place (a remote 7z). */
  tempDir: string;
  progress?: (bytes: number) => void;
  signal?: AbortSignal;
  /**
   * A directory snapshot's members as discovery listed them (listing-spool.ts), or undefined
   * when they were not kept: the read then lists the store again.
   */
  recordedListing?: (prefix: string) => AsyncIterable<SourceObject[]> | undefined;
}

/** How the archive object itself is digested. */
export interface ObjectDigestPlan {
  /** The algorithm of the whole-object digest (an object checksum list's, else the scan's). */
  algorithm: DigestAlgorithm;
  /** Read a random-access archive again end to end for its digest (an object checksum list needs it). */
  wholeObject: boolean;
}

/** What a read saw besides the entries it handed to the visitor. */
export interface SnapshotRead {
  /** The reader's summary; `complete` is false when the read failed. */
  summary: ReadSummary;
  /** Archive layout: what the store said it served (ETag, VersionId); empty for a directory. */
  served: ServedIdentity;
  /** Archive layout: the store no longer held the listed version partway through the read. */
  changed: ObjectChangedError | null;
  /** Archive layout: the object's bytes that went through the whole-object digest, and that digest. */
  object: { bytes: number; digest: string } | null;
  /** Directory layout: the listing as this read streamed it (discovery's, when the read streamed discovery's recorded members). */
  listed: ListingSummary | null;
}

const NOTHING_READ: ReadSummary = { entries: 0, bytes: 0, complete: false };

/**
 * Reads `snapshot`, handing every entry to `visitor`; read failures go to `collector` as
 * critical read-error findings. Throws ScanAbortedError when `ctx.signal` stopped the read.
 */
export async function readSnapshot(
  ctx: ReadContext,
  snapshot: Snapshot,
  visitor: EntryVisitor,
  digestPlan: ObjectDigestPlan,
  collector: FindingsCollector,
): Promise<SnapshotRead> {
  const read =
    snapshot.layout === 'archive'
      ? await readArchive(ctx, snapshot, visitor, digestPlan, collector)
      : await readDirectory(ctx, snapshot, visitor, collector);
  if (ctx.signal?.aborted)
    throw new ScanAbortedError(
      `scan of ${snapshot.id} stopped: ${describeError(ctx.signal.reason ?? 'aborted')}`,
    );
  return read;
}

/** Records a failed read (not a stopped one) as a critical finding; the read is incomplete. */
function failedRead(
  ctx: ReadContext,
  snapshot: Snapshot,
  summary: ReadSummary,
  error: unknown,
  collector: FindingsCollector,
): ReadSummary {
  if (!ctx.signal?.aborted)
    collector.add({
      kind: 'read-error',
      path: problemPath(snapshot),
      severity: 'critical',
      detail: describeError(error),
    });
  return { ...summary, complete: false };
}

async function readArchive(
  ctx: ReadContext,
  snapshot: ArchiveSnapshot,
  visitor: EntryVisitor,
  digestPlan: ObjectDigestPlan,
  collector: FindingsCollector,
): Promise<SnapshotRead> {
  const { source, set, signal } = ctx;
  const object = snapshot.object;
  const digester = await createDigester(digestPlan.algorithm);
  let objectBytes = 0;
  const served: ServedIdentity = {};
  const watch: { changed: ObjectChangedError | null } = { changed: null };
  let summary = NOTHING_READ;
  try {
    const tap: ChunkSink = {
      update(chunk) {
        digester.update(chunk);
        objectBytes += chunk.length;
        ctx.progress?.(chunk.length);
      },
    };
    const pinned = archiveInputFor(source, object, tap, served, {
      scratchDir: ctx.tempDir,
      ...(set.archivePasswordFile ? { passwordFile: set.archivePasswordFile } : {}),
    });
    const noteChange = (error: unknown) => {
      if (error instanceof ObjectChangedError) watch.changed ??= error;
      return error;
    };
    const watched: ArchiveInput = {
      ...pinned,
      open: () => pinned.open().catch((error: unknown) => Promise.reject(noteChange(error))),
      openRange: (start, end) =>
        pinned.openRange(start, end).catch((error: unknown) => Promise.reject(noteChange(error))),
    };
    summary = await readerFor(snapshot.format).read(abortableInput(watched, signal), visitor, set.limits);
    // Random-access formats (zip, a local 7z) are not read as one stream: no object digest came with them.
    if (objectBytes < object.size && !signal?.aborted) {
      ctx.progress?.(object.size - objectBytes);
      if (digestPlan.wholeObject && summary.complete) {
        const body = await source.open(object.key, undefined, readConditions(object));
        objectBytes = (await digestStream(body.stream, digestPlan.algorithm, [digester])).bytes;
      }
    }
  } catch (error) {
    summary = failedRead(ctx, snapshot, summary, error, collector);
  }
  return {
    summary,
    served,
    changed: watch.changed,
    object: { bytes: objectBytes, digest: digester.hex() },
    listed: null,
  };
}

async function readDirectory(
  ctx: ReadContext,
  snapshot: DirectorySnapshot,
  visitor: EntryVisitor,
  collector: FindingsCollector,
): Promise<SnapshotRead> {
  const { source, set, signal } = ctx;
  const prefix = snapshot.prefix;
  // Members discovery recorded are the listing its summary was made of: not fingerprinted again.
  const recorded = ctx.recordedListing?.(prefix);
  const listing = recorded ? null : { objects: 0, bytes: 0, hash: createHash('sha256') };
  let summary = NOTHING_READ;
  try {
    summary = await readPlainEntries(
      streamMembers(recorded ?? batchesOf(source.list(prefix)), prefix, signal, listing),
      async (key, member) => {
        signal?.throwIfAborted();
        return (await source.open(prefix + key, undefined, readConditions(member))).stream;
      },
      visitor,
      set.limits,
      set.readConcurrency,
      source.localFile
        ? (key, member) =>
            source.localFile!(
              prefix + key,
              member.size,
              member.validator !== undefined ? { ifMatch: member.validator } : {},
            )
        : undefined,
    );
    // Discovery found something to list in the folder, or it would not be a snapshot: a read that
    // lists nothing there read a folder emptied or swapped for a link since, never a clean snapshot.
    if (snapshot.listing === null && listing?.objects === 0 && summary.complete)
      throw new Error(
        `${snapshot.prefix} held files when the scan began and lists none now (emptied, or no longer a folder)`,
      );
  } catch (error) {
    summary = failedRead(ctx, snapshot, summary, error, collector);
  }
  return {
    summary,
    served: {},
    changed: null,
    object: null,
    listed: listing
      ? { objects: listing.objects, bytes: listing.bytes, fingerprint: listing.hash.digest('hex') }
      : snapshot.listing,
  };
}

/**
 * Streams a directory snapshot's members (keys relative to it) in the batches the listing comes
 * in, fingerprinting them into `listing` when given.
 */
function streamMembers(
  members: AsyncIterable<SourceObject | SourceObject[]>,
  prefix: string,
  signal: AbortSignal | undefined,
  listing: { objects: number; bytes: number; hash: Hash } | null,
): AsyncIterable<PlainObject[]> {
  return (async function* () {
    for await (const item of members) {
      if (signal?.aborted) return;
      const batch = Array.isArray(item) ? item : [item];
      const relative = new Array<PlainObject>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const member = batch[i]!;
        if (listing) {
          listing.objects++;
          listing.bytes += member.size;
          addToFingerprint(listing.hash, member);
        }
        relative[i] = { ...member, key: member.key.slice(prefix.length) };
      }
      yield relative;
    }
  })();
}
