/**
 * Keeps what a set's discovery listed of each directory snapshot, so that reading the snapshot
 * streams its members from a file instead of listing the store a second time.
 *
 * Discovery has to list every member to find the snapshots: their times, their listing
 * fingerprints for the cheap pass. Before this spool, a deep read then listed its snapshot's
 * prefix again. On a local tree that is a second lstat of every file and readdir of every
 * directory (a tenth of a steady-state scan of many small files, issue 13); on S3 it is a second
 * round of LIST requests.
 *
 * The listing is recorded as it streams by (`record`), as frames of serialised members in one
 * file of the scan's private temporary folder, one contiguous segment per snapshot directory.
 * Memory is one batch of members. Three bounds keep the old behaviour where the spool would not
 * serve:
 * - at most `maxBytes` on disk, and never more than a quarter of the space free on its volume
 *   when it starts (the scan's manifests and entry spool need the rest); once over, recording
 *   stops (the snapshot in progress and the later ones are listed again when read);
 * - a segment serves a read only within `maxAgeMs` of when its listing ended, so a file that
 *   changes or goes after discovery is judged as before (the read lists what is there now) unless
 *   the read follows its listing closely; within that window a member changed or removed since
 *   it was listed is the read error it already was when it changed between its listing and its
 *   read;
 * - a write failure (disk full) stops recording and never fails the scan.
 */
import { randomUUID } from 'node:crypto';
import { open, rm, statfs, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { SourceObject } from '../sources/backup-source.js';

/** Members per frame. */
const FRAME_OBJECTS = 512;
/** Bytes read from the spool at once when a segment is streamed back. */
const READ_CHUNK = 1 << 20;

/** Default bound on the spool file (about 1.5 million local members, fewer S3 ones with ETags). */
export const SPOOL_MAX_BYTES = 256 * 2 ** 20;
/** Default time after its listing ended within which a snapshot's recorded listing is used. */
export const SPOOL_MAX_AGE_MS = 15 * 60_000;

/** Where one snapshot directory's members lie in the spool file. */
interface Segment {
  start: number;
  end: number;
  /** When its listing ended (`clock()`). */
  listedAt: number;
}

/** How a spool is bounded; the clock is injectable for tests. */
export interface ListingSpoolOptions {
  maxBytes?: number;
  maxAgeMs?: number;
  /** Milliseconds, monotonic; defaults to performance.now(). */
  clock?: () => number;
  /** Bytes free to this process on the spool's volume; defaults to statfs (unknown: no further bound). */
  freeBytes?: (directory: string) => Promise<number>;
}

/** Bytes free to unprivileged writers on `directory`'s volume, or Infinity when statfs cannot tell. */
async function volumeFreeBytes(directory: string): Promise<number> {
  try {
    const stats = await statfs(directory);
    return stats.bavail * stats.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * One set scan's recorded listing. `record()` wraps the discovery listing; `members(prefix)`
 * streams a recorded snapshot back; `close()` deletes the file. Not shared between scans.
 */
export class ListingSpool {
  private readonly file: string;
  private readonly directory: string;
  private maxBytes: number;
  private readonly freeBytes: (directory: string) => Promise<number>;
  private readonly maxAgeMs: number;
  private readonly clock: () => number;
  private readonly segments = new Map<string, Segment>();
  private handle: FileHandle | null = null;
  private size = 0;
  private recording = true;
  /** The directory being recorded: its prefix and where its segment starts. */
  private current: { prefix: string; start: number } | null = null;
  private batch: SourceObject[] = [];

  constructor(directory: string, options: ListingSpoolOptions = {}) {
    this.directory = directory;
    this.file = path.join(directory, `listing-${randomUUID()}.spool`);
    this.maxBytes = options.maxBytes ?? SPOOL_MAX_BYTES;
    this.freeBytes = options.freeBytes ?? volumeFreeBytes;
    this.maxAgeMs = options.maxAgeMs ?? SPOOL_MAX_AGE_MS;
    this.clock = options.clock ?? (() => performance.now());
  }

  /**
   * Passes `objects` (a set's listing, in key order) through unchanged, recording the members of
   * each top-level directory (`dir/…` keys) as that directory's segment. A directory's segment
   * is complete when the next directory starts or the listing ends; a listing that fails or is
   * abandoned keeps only the directories completed before.
   */
  async *record(objects: AsyncIterable<SourceObject>): AsyncGenerator<SourceObject> {
    for await (const object of objects) {
      if (this.recording) {
        const writing = this.add(object);
        if (writing) await writing;
      }
      yield object;
    }
    if (this.recording) await this.closeDirectory();
  }

  /**
   * The members recorded for the directory `prefix` (`dir/`), with keys as the store lists them,
   * in listing order, in the batches they were recorded in (one asynchronous step per batch, not
   * per member); undefined when none were recorded, or when the listing ended more than
   * `maxAgeMs` ago (the caller lists the store).
   */
  members(prefix: string): AsyncIterable<SourceObject[]> | undefined {
    const segment = this.segments.get(prefix);
    if (!segment || this.handle === null) return undefined;
    if (this.clock() - segment.listedAt > this.maxAgeMs) return undefined;
    return this.stream(this.handle, segment);
  }

  /** Deletes the spool file. */
  async close(): Promise<void> {
    this.recording = false;
    this.segments.clear();
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => undefined);
    await rm(this.file, { force: true }).catch(() => undefined);
  }

  /** Records one listed object; a promise only when a frame is written (most calls return at once). */
  private add(object: SourceObject): Promise<void> | undefined {
    const slash = object.key.indexOf('/');
    const current = this.current;
    if (current !== null && slash === current.prefix.length - 1 && object.key.startsWith(current.prefix)) {
      this.batch.push(object);
      return this.batch.length >= FRAME_OBJECTS ? this.flush() : undefined;
    }
    return this.startDirectory(object, slash < 0 ? null : object.key.slice(0, slash + 1));
  }

  /** Ends the directory being recorded and starts recording `prefix`'s (none for a loose file). */
  private async startDirectory(object: SourceObject, prefix: string | null): Promise<void> {
    await this.closeDirectory();
    if (!this.recording || prefix === null) return;
    this.current = { prefix, start: this.size };
    this.batch.push(object);
  }

  /** Ends the directory being recorded: its last frame is written and its segment kept. */
  private async closeDirectory(): Promise<void> {
    const current = this.current;
    if (!current) return;
    await this.flush();
    this.current = null;
    if (!this.recording) return;
    this.segments.set(current.prefix, {
      start: current.start,
      end: this.size,
      listedAt: this.clock(),
    });
  }

  /** Writes the batch as one frame (a 4-byte length, then the serialised members); a failure or the bound stops recording. */
  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const body = serialize(this.batch);
    this.batch = [];
    if (!this.recording) return;
    if (this.handle === null)
      this.maxBytes = Math.min(this.maxBytes, Math.floor((await this.freeBytes(this.directory)) / 4));
    if (this.size + 4 + body.length > this.maxBytes) return this.stop();
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32LE(body.length, 0);
    body.copy(frame, 4);
    try {
      this.handle ??= await open(this.file, 'w+');
      let written = 0;
      while (written < frame.length)
        written += (await this.handle.write(frame, written, frame.length - written, this.size + written))
          .bytesWritten;
      this.size += frame.length;
    } catch {
      this.stop();
    }
  }

  /** Stops recording: the directory in progress is dropped; those completed stay usable. */
  private stop(): void {
    this.recording = false;
    this.current = null;
    this.batch = [];
  }

  private async *stream(handle: FileHandle, segment: Segment): AsyncGenerator<SourceObject[]> {
    let position = segment.start;
    let pending = Buffer.alloc(0);
    while (position < segment.end || pending.length > 0) {
      if (pending.length >= 4) {
        const length = pending.readUInt32LE(0);
        if (pending.length >= 4 + length) {
          const members = deserialize(pending.subarray(4, 4 + length)) as SourceObject[];
          pending = pending.subarray(4 + length);
          if (members.length > 0) yield members;
          continue;
        }
      }
      if (position >= segment.end)
        throw new Error(`listing spool ${this.file}: segment ends inside a frame at ${position}`);
      const wanted = Math.min(READ_CHUNK, segment.end - position);
      const chunk = Buffer.allocUnsafe(wanted);
      const { bytesRead } = await handle.read(chunk, 0, wanted, position);
      if (bytesRead === 0) throw new Error(`listing spool ${this.file}: ends early at ${position}`);
      position += bytesRead;
      pending =
        pending.length === 0
          ? chunk.subarray(0, bytesRead)
          : Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
    }
  }
}
