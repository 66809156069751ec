/**
 * Everything vouch computes from one entry's bytes in its single streaming pass: the digest in
 * the set's algorithm, any extra digests a checksum list needs, detection's content
 * measurements (content-probe.ts) — and, for a restore drill, the copy of the bytes into the
 * restored file, so restoring and verifying are one pass too.
 * Synchronous once created, so the same code runs on the main thread (small entries) and in the
 * analysis workers (large ones); requests and results are plain data that cross a thread boundary
 * unchanged.
 */
import { closeSync, constants, futimesSync, openSync, writeSync } from 'node:fs';
import type { DigestAlgorithm } from '../model/manifest.js';
import { type ContentProbe, type ContentFeatures } from '../detection/content-probe.js';
import type { ContentType } from '../detection/content-type.js';
import { prepareValidators, probeFor } from '../detection/registry.js';
import { describeError } from '../errors.js';
import { createDigester, type Digester } from '../integrity/digest.js';

/** What to compute for one entry. Plain data: it is posted to workers. */
export interface AnalysisRequest {
  /** The digest the manifest records. */
  algorithm: DigestAlgorithm;
  /** More digests of the same bytes (a `B3SUMS` beside a SHA-256 set, say). */
  extraAlgorithms: DigestAlgorithm[];
  /** Also write every byte to this file, which the caller created empty (restore drills). */
  copyTo?: CopyTarget;
  /**
   * Measure the content for detection; `size` is the declared size (plans the sampling), `claim`
   * the type the entry's name claims (it selects validators of magic-less formats).
   * `keepIfDigest`: bytes with this digest were already judged (scan/carry-over.ts) — when the
   * digest matches, the result is `unchanged` and carries no measurements.
   */
  detect?: { size: number; claim?: ContentType | null; keepIfDigest?: string };
}

/** Options of EntryAnalysis.start. */
export interface StartOptions {
  /**
   * The caller can read the bytes again: with `detect.keepIfDigest`, a streamed analysis only
   * digests, and when the digest does not match, its result is `remeasure` — read the entry
   * again with an analysis without `keepIfDigest`. (A whole entry is measured at once instead.)
   */
  rereadable?: boolean;
}

/**
 * Where a restore writes an entry. The file is opened here, by whichever thread analyses the
 * entry, so no file descriptor is ever shared between threads. It must be a regular file the
 * caller just created: it is opened without following links and written from offset 0.
 */
export interface CopyTarget {
  path: string;
  /** Modification time to set once written (ms since the epoch). */
  mtimeMs?: number;
}

/** Writes all of `chunk` to `fd` (writeSync may write less than asked). */
function writeAll(fd: number, chunk: Uint8Array): void {
  for (let offset = 0; offset < chunk.length;) offset += writeSync(fd, chunk, offset, chunk.length - offset);
}

/** What one entry's bytes gave. Plain data. */
export interface AnalysisResult {
  /** Lower-case hex digest in the request's algorithm. */
  digest: string;
  /** Extra digests by algorithm. */
  extra: Partial<Record<DigestAlgorithm, string>>;
  /** Bytes seen. */
  bytes: number;
  /** Detection's measurements, when requested (and neither `unchanged` nor `remeasure`). */
  content?: ContentFeatures;
  /** The digest is the request's `detect.keepIfDigest`: detection keeps its earlier judgement. */
  unchanged?: true;
  /** Detection's measurements were deferred and the digest did not match (StartOptions.rereadable). */
  remeasure?: true;
}

/** One entry's analysis in progress. */
export class EntryAnalysis {
  private bytes = 0;
  private copyFd: number | null = null;
  private copyError: unknown = null;

  private constructor(
    private readonly main: Digester,
    private readonly extras: [DigestAlgorithm, Digester][],
    private readonly copyTo: CopyTarget | undefined,
    private probe: ContentProbe | null,
    private readonly detect: AnalysisRequest['detect'],
    /** The probe was left out until the digest is known (StartOptions.rereadable). */
    private deferred: boolean,
  ) {
    if (copyTo) this.copyFd = openSync(copyTo.path, constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0));
  }

  /** Starts an analysis for `request`; throws when the copy target cannot be opened. */
  static async start(request: AnalysisRequest, options: StartOptions = {}): Promise<EntryAnalysis> {
    const extras: [DigestAlgorithm, Digester][] = [];
    for (const algorithm of new Set(request.extraAlgorithms)) {
      if (algorithm !== request.algorithm) extras.push([algorithm, await createDigester(algorithm)]);
    }
    let probe: ContentProbe | null = null;
    const deferred =
      options.rereadable === true &&
      request.detect?.keepIfDigest !== undefined &&
      request.copyTo === undefined;
    if (request.detect) {
      await prepareValidators();
      if (!deferred) probe = probeFor(request.detect.size, request.detect.claim ?? null);
    }
    return new EntryAnalysis(
      await createDigester(request.algorithm),
      extras,
      request.copyTo,
      probe,
      request.detect,
      deferred,
    );
  }

  /** Feeds the next chunk. Never throws: a failed copy is reported by `finish()`. */
  update(chunk: Uint8Array): void {
    this.main.update(chunk);
    for (const [, digester] of this.extras) digester.update(chunk);
    this.probe?.update(chunk);
    this.bytes += chunk.length;
    if (this.copyFd !== null && this.copyError === null) {
      try {
        writeAll(this.copyFd, chunk);
      } catch (error) {
        this.copyError = error;
      }
    }
  }

  /**
   * The result for an entry given whole in `data` (nothing fed before, nothing after): what
   * `update(data)` then `finish()` give, with the content probe told the entry is whole (see
   * ContentProbe.whole). Throws when the copy could not be written.
   */
  whole(data: Uint8Array): AnalysisResult {
    const detect = this.detect;
    if (!detect || this.bytes > 0) {
      this.update(data);
      return this.finish();
    }
    const probe = this.probe;
    this.probe = null;
    this.deferred = false;
    this.update(data);
    const result = this.finish();
    if (result.unchanged) return result;
    return { ...result, content: (probe ?? probeFor(detect.size, detect.claim ?? null)).whole(data) };
  }

  /** The result; call once, after the last chunk. Throws when the copy could not be written. */
  finish(): AnalysisResult {
    this.closeCopy(true);
    if (this.copyError !== null)
      throw new Error(`writing the restored file failed: ${describeError(this.copyError)}`, {
        cause: this.copyError,
      });
    const main = this.main.hex();
    const extra: AnalysisResult['extra'] = {};
    for (const [algorithm, digester] of this.extras) extra[algorithm] = digester.hex();
    const result: AnalysisResult = { digest: main, extra, bytes: this.bytes };
    if (this.detect?.keepIfDigest === main) return { ...result, unchanged: true };
    if (this.probe) return { ...result, content: this.probe.finish() };
    if (this.deferred) return { ...result, remeasure: true };
    return result;
  }

  /** Abandons the analysis: closes the copy (the caller discards the partial file). */
  cancel(): void {
    this.closeCopy(false);
  }

  private closeCopy(complete: boolean): void {
    if (this.copyFd === null) return;
    const fd = this.copyFd;
    this.copyFd = null;
    try {
      if (complete && this.copyError === null && this.copyTo?.mtimeMs !== undefined) {
        const seconds = this.copyTo.mtimeMs / 1000;
        futimesSync(fd, seconds, seconds);
      }
    } catch (error) {
      this.copyError ??= error;
    } finally {
      try {
        closeSync(fd);
      } catch (error) {
        this.copyError ??= error;
      }
    }
  }
}
