/**
 * What every entry reader shares while it reads one archive or snapshot: the caps, the name
 * guard, the visitor calls and the entry bodies. Readers only turn their format into
 * `EntryHeader`s and byte streams; the rules live here once.
 */
import { Readable } from 'node:stream';
import { describeError } from '../errors.js';
import type {
  ArchiveEntry,
  ArchiveLimits,
  ArchiveProblem,
  EntryVisitor,
  ReadSummary,
} from './entry-reader.js';
import type { EntryType } from '../model/manifest.js';
import type { LocalFile } from '../fs/local-file.js';
import { entryLabel, EntryNameGuard, normaliseEntryName } from './safe-path.js';

/** Output past which the ratio cap applies: small members legitimately compress very well. */
export const RATIO_GRACE_BYTES = 1024 * 1024;

/** An entry's header as the format stores it, before any checks. */
export interface EntryHeader {
  rawName: string;
  type: EntryType;
  /** Declared data size: what the caps count; becomes `ArchiveEntry.size` for files (0 otherwise). */
  size: number;
  mode?: number;
  mtime?: Date;
  linkTarget?: string;
  /** The body will be the stored, encrypted bytes (see `ArchiveEntry.encrypted`). */
  encrypted?: boolean;
  /** Store identity of a plain object (see `ArchiveEntry.etag`). */
  etag?: string;
  versionId?: string;
}

/** What to do with an entry whose declared size is over `maxEntryBytes`. */
export type OversizeAction =
  /** Report it and go on (random-access formats skip it for free). */
  | 'skip'
  /** Report it and stop: a sequential format would have to read it to get past it. */
  | 'stop';

/** The part of a readable stream (Node's or streamx's, as tar-stream uses) an entry body needs. */
export interface ByteSource {
  on(event: 'data', listener: (chunk: unknown) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(error?: Error): unknown;
}

/** One entry's bytes, and how the reader wants them handled. */
export interface EntrySource {
  stream: ByteSource;
  /**
   * When the visitor stops reading early: `destroy` the source (it is the entry's own stream)
   * or `drain` it to its end (it is a window on a shared sequential stream).
   */
  abandon: 'destroy' | 'drain';
  /**
   * Source errors: `report` them as a read-error for the entry (the reader carries on), or leave
   * them to the reader because they mean the whole `archive` failed and it will say so.
   */
  sourceErrors: 'report' | 'archive';
  /** Turns a source error into the detail's wording. */
  explain?: (error: Error) => string;
}

/** A problem with a whole archive or one entry. */
export function problem(kind: ArchiveProblem['kind'], path: string, detail: string): ArchiveProblem {
  return { kind, path, detail };
}

/** The state of one read. Not reusable: one session per `read()` call. */
export class ReadSession {
  private readonly guard: EntryNameGuard;
  private readonly summary: ReadSummary = { entries: 0, bytes: 0, complete: true };
  private headers = 0;
  private declaredBytes = 0;
  private stopProblem: ArchiveProblem | null = null;
  /** Bytes that local reads in flight may still deliver (kept under the total cap before they start). */
  private reservedBytes = 0;

  constructor(
    private readonly visitor: EntryVisitor,
    readonly limits: ArchiveLimits,
    private readonly oversize: OversizeAction,
  ) {
    this.guard = new EntryNameGuard(limits);
  }

  /** True once the read had to stop; the summary will say `complete: false`. */
  get stopped(): boolean {
    return this.stopProblem !== null;
  }

  /** Reports a problem to the visitor. */
  report(found: ArchiveProblem): void {
    this.visitor.problem(found);
  }

  /** Stops the read: reports `found` (only the first stop is reported) and marks it incomplete. */
  stop(found: ArchiveProblem): void {
    if (this.stopProblem) return;
    this.stopProblem = found;
    this.summary.complete = false;
    this.report(found);
  }

  /** True when `output` bytes from `input` compressed bytes are over the ratio cap. */
  ratioExceeded(output: number, input: number): boolean {
    return output > RATIO_GRACE_BYTES && output > Math.max(input, 1) * this.limits.maxRatio;
  }

  /**
   * Applies the entry-count and size caps and the name guard to a header. Returns the entry to
   * visit, or null when it must not be visited (the problem is reported; check `stopped`).
   */
  admit(header: EntryHeader): ArchiveEntry | null {
    const { limits } = this;
    this.headers += 1;
    if (this.headers > limits.maxEntries) {
      this.stop(
        problem(
          'read-error',
          '',
          `archive has more than ${limits.maxEntries} entries (the limit); stopped before ${entryLabel(header.rawName)}`,
        ),
      );
      return null;
    }
    // Size caps come before the name guard: a refused entry's data is still read past in a tar.
    if (header.size > limits.maxEntryBytes) {
      const path = this.pathFor(header.rawName);
      const found = problem(
        'read-error',
        path,
        `${entryLabel(path)} declares ${header.size} bytes, over the ${limits.maxEntryBytes}-byte entry limit${this.oversize === 'stop' ? '; stopped reading the archive' : '; not read'}`,
      );
      if (this.oversize === 'stop') this.stop(found);
      else this.report(found);
      return null;
    }
    this.declaredBytes += header.size;
    if (this.declaredBytes > limits.maxTotalBytes) {
      const path = this.pathFor(header.rawName);
      this.stop(
        problem(
          'read-error',
          path,
          `archive declares more than ${limits.maxTotalBytes} bytes in total (the limit); stopped at ${entryLabel(path)}`,
        ),
      );
      return null;
    }
    const admission = this.guard.admit(header.rawName, header.type, header.linkTarget);
    if (!admission.ok) {
      if (admission.problem) this.report(admission.problem);
      return null;
    }
    const entry: ArchiveEntry = {
      rawName: header.rawName,
      path: admission.path,
      type: header.type,
      size: header.type === 'file' ? header.size : 0,
    };
    if (header.mode !== undefined) entry.mode = header.mode;
    if (header.mtime !== undefined && !Number.isNaN(header.mtime.getTime())) entry.mtime = header.mtime;
    if (header.linkTarget !== undefined && (header.type === 'symlink' || header.type === 'hardlink'))
      entry.linkTarget = header.linkTarget;
    if (header.encrypted && header.type === 'file') entry.encrypted = true;
    if (header.etag !== undefined) entry.etag = header.etag;
    if (header.versionId !== undefined) entry.versionId = header.versionId;
    return entry;
  }

  /**
   * Passes an admitted entry to the visitor, with `source` as the body of a file, and settles
   * once the visitor is done and the source is finished with. A visitor rejection or a source
   * error becomes a read-error problem for the entry, never an exception.
   */
  async visit(entry: ArchiveEntry, source?: EntrySource): Promise<void> {
    this.summary.entries += 1;
    const body = source ? new EntryBody(source.stream, source.abandon, this.meter(entry)) : null;
    let rejection: { error: unknown } | null = null;
    try {
      await this.visitor.entry(entry, body ? body.stream : null);
    } catch (error) {
      rejection = { error };
    }
    if (body) {
      body.release();
      await body.finished;
      if (body.capProblem) {
        // The cap was already reported when it tripped.
      } else if (body.sourceError) {
        if (source?.sourceErrors === 'report') {
          const detail = source.explain ? source.explain(body.sourceError) : describeError(body.sourceError);
          this.report(problem('read-error', entry.path, `${entryLabel(entry.path)}: ${detail}`));
        }
        return;
      }
    }
    if (rejection && !body?.capProblem) {
      this.report(
        problem('read-error', entry.path, `${entryLabel(entry.path)}: ${describeError(rejection.error)}`),
      );
    }
  }

  /**
   * Offers an admitted file entry to the visitor as a local-file recipe (`EntryVisitor.localEntry`).
   * True when the entry was visited that way; false when the caller must open it and `visit()`
   * it: the visitor takes no recipes, could not read this one cleanly, or the read might cross a
   * size cap (a body read meters caps chunk by chunk, a worker's read cannot).
   */
  async visitLocal(entry: ArchiveEntry, file: LocalFile): Promise<boolean> {
    if (!this.visitor.localEntry) return false;
    if (
      file.maxBytes > this.limits.maxEntryBytes ||
      this.summary.bytes + this.reservedBytes + file.maxBytes > this.limits.maxTotalBytes
    )
      return false;
    this.reservedBytes += file.maxBytes;
    let bytes: number | null;
    try {
      bytes = await this.visitor.localEntry(entry, file);
    } catch (error) {
      this.summary.entries += 1;
      this.report(problem('read-error', entry.path, `${entryLabel(entry.path)}: ${describeError(error)}`));
      return true;
    } finally {
      this.reservedBytes -= file.maxBytes;
    }
    if (bytes === null) return false;
    this.summary.entries += 1;
    this.summary.bytes += bytes;
    return true;
  }

  /** Summary so far (final once the reader has returned). */
  finish(): ReadSummary {
    return { ...this.summary };
  }

  /** The normalised path for a message about a name the guard has not seen yet, else the raw name. */
  private pathFor(rawName: string): string {
    const name = normaliseEntryName(rawName, this.limits);
    return name.ok ? name.path : rawName;
  }

  /** Counts delivered bytes; returns the cap problem if a chunk takes the entry or the read over one. */
  private meter(entry: ArchiveEntry): (bytes: number) => ArchiveProblem | null {
    let delivered = 0;
    return (bytes) => {
      delivered += bytes;
      this.summary.bytes += bytes;
      if (delivered > this.limits.maxEntryBytes) {
        const found = problem(
          'read-error',
          entry.path,
          `${entryLabel(entry.path)} is larger than the ${this.limits.maxEntryBytes}-byte entry limit; not read to the end`,
        );
        this.report(found);
        return found;
      }
      if (this.summary.bytes > this.limits.maxTotalBytes) {
        const found = problem(
          'read-error',
          entry.path,
          `archive holds more than ${this.limits.maxTotalBytes} bytes (the limit); stopped inside ${entryLabel(entry.path)}`,
        );
        this.stop(found);
        return found;
      }
      return null;
    };
  }
}

/**
 * Adapts one entry's source (a Node or streamx readable) into the body the visitor reads:
 * counts and caps bytes, respects backpressure, and never lets the visitor destroy a source
 * that other entries share.
 */
class EntryBody {
  readonly stream: Readable;
  readonly finished: Promise<void>;
  sourceError: Error | null = null;
  capProblem: ArchiveProblem | null = null;
  private ended = false;
  private abandoned = false;

  constructor(
    private readonly source: ByteSource,
    private readonly abandonBy: 'destroy' | 'drain',
    meter: (bytes: number) => ArchiveProblem | null,
  ) {
    let settle!: () => void;
    this.finished = new Promise<void>((resolve) => (settle = resolve));
    this.stream = new Readable({
      highWaterMark: 64 * 1024,
      read: () => {
        if (!this.abandoned) source.resume();
      },
      destroy: (error, callback) => {
        this.abandon();
        callback(error);
      },
    });
    // A source error (a CRC or size found wrong at the end, a truncation) is kept in sourceError
    // and reported by the session as a read-error for the entry; a visitor that already stopped
    // reading must not turn it into an unhandled 'error' event that ends the process.
    this.stream.on('error', () => {});
    source.on('data', (data: unknown) => {
      if (this.abandoned) return;
      const chunk = data as Buffer;
      const cap = meter(chunk.length);
      if (cap) {
        this.capProblem = cap;
        this.stream.destroy(new Error(cap.detail));
        return;
      }
      if (!this.stream.push(chunk)) source.pause();
    });
    source.on('end', () => {
      this.ended = true;
      if (!this.abandoned) this.stream.push(null);
      settle();
    });
    source.on('error', (error: Error) => {
      if (!this.abandoned || this.abandonBy === 'drain') this.sourceError ??= error;
      this.stream.destroy(error);
      settle();
    });
    source.on('close', () => {
      if (!this.ended && !this.sourceError && !this.abandoned) {
        this.sourceError = new Error('entry stream closed before its end');
        this.stream.destroy(this.sourceError);
      }
      settle();
    });
  }

  /** Called once the visitor has settled: whatever it left unread is discarded. */
  release(): void {
    if (!this.stream.destroyed) this.stream.destroy();
  }

  private abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    if (this.ended) return;
    if (this.abandonBy === 'destroy') this.source.destroy();
    else this.source.resume();
  }
}
