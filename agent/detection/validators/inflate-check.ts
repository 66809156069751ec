/**
 * Streaming, synchronous inflate for the validators whose formats carry deflate data (gzip
 * members, zip members, PNG's IDAT stream, PDF Flate streams), with the decode caps of
 * `ValidatorLimits` applied in one place.
 *
 * The validators only need what the output amounts to — its length, its CRC-32 or Adler-32 —
 * never the output itself, so deflate-decoder.ts decodes into a reused buffer and this module
 * keeps running sums of what passes through. Decoding is synchronous, which the validators'
 * `update(chunk)` contract needs (node:zlib's streaming inflaters are asynchronous), and it says
 * where a deflate stream ends, which every caller needs: the gzip trailer, a zip data
 * descriptor, the Adler-32 of a zlib stream and a PDF's `endstream` all follow the last deflate
 * block.
 *
 * Input is handed to the decoder in the pieces fflate's streaming `Inflate` was handed before
 * (the decoder follows fflate's decoding rules, and where a damaged stream fails can depend on
 * where a piece ends): tiny pushes (a validator fed 1-byte chunks) are staged until
 * `STAGE_BYTES` have gathered, and large chunks go in as pieces of at most `PIECE_BYTES`, which
 * bounds what one push can output (deflate expands at most ~1032:1) so the output cap stops a
 * bomb early.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import type { ValidatorLimits } from '../validator.js';
import { concatBytes, u32be } from './bytes.js';
import { DeflateDecoder } from './deflate-decoder.js';

/** Small pushes are gathered to this size before the decoder sees them. */
const STAGE_BYTES = 8 * 1024;
/** Largest piece of input handed to the decoder at once. */
const PIECE_BYTES = 32 * 1024;
/** A stream's first decode of at least this many bytes is tried with node:zlib (below it, setting zlib up costs what it saves). */
const NATIVE_MIN_INPUT = 1024;
/** Output node:zlib may produce (held whole) before the attempt is abandoned for the streaming decoder. */
const NATIVE_MAX_OUTPUT = 8 * 2 ** 20;
/** Smallest output buffer asked of node:zlib. */
const MIN_CHUNK_BYTES = 1024;
/** Largest output buffer asked of node:zlib when the output size is not declared (more output takes more buffers). */
const GUESS_MAX_CHUNK_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * The compressed bytes all decompressions of one entry may consume together
 * (`maxDecodeBytes`), and the output cap each one of them has (`maxOutputBytes`). JPEG's
 * Huffman scan decoding draws on it too.
 */
export class DecodeBudget {
  private used = 0;
  constructor(readonly limits: ValidatorLimits) {}

  /** Compressed bytes still allowed. */
  get remaining(): number {
    return Math.max(0, this.limits.maxDecodeBytes - this.used);
  }

  /** Takes up to `wanted` bytes of the budget; returns how many were granted. */
  take(wanted: number): number {
    const granted = Math.min(wanted, this.remaining);
    this.used += granted;
    return granted;
  }

  /** Returns bytes that were granted but not decoded (they followed the end of a stream). */
  refund(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** How the deflate data is wrapped. */
export type DeflateWrapper = 'raw' | 'zlib';

/** Options of one stream. */
export interface StreamInflaterOptions {
  /** `raw` (RFC 1951: gzip, zip) or `zlib` (RFC 1950: 2-byte header, Adler-32 trailer: PNG, PDF). */
  wrapper: DeflateWrapper;
  /**
   * zlib only: check the Adler-32 trailer (PNG: libpng rejects a wrong one). When false the stream
   * ends right after the deflate data and the trailer is the caller's (PDF: readers ignore it, so
   * real files carry wrong or missing ones).
   */
  verifyAdler?: boolean;
  /** Keep the CRC-32 of the output (`crc`), for gzip and zip. */
  crc32?: boolean;
  budget: DecodeBudget;
  /** Try node:zlib on a stream that arrives whole (the default); false decodes in JavaScript only (tests compare the two). */
  native?: boolean;
  /**
   * The output size the container declares (a zip member's uncompressed size), when it does:
   * only sizes node:zlib's output buffer, so a small member does not allocate 64 KiB. A wrong
   * value costs a second buffer, never a different verdict.
   */
  expectedOutput?: number;
}

/**
 * - `running`: every byte given so far was taken; the stream goes on.
 * - `ended`: the stream ended (after its Adler-32 when verified); `push` returned what follows.
 * - `capped`: a cap stopped decoding; `push` returned the bytes not taken.
 * - `failed`: the data does not inflate (`failure` says why; `truncated` when it simply stopped).
 */
export type InflateState = 'running' | 'ended' | 'capped' | 'failed';

/** Adler-32 (RFC 1950) of `data`, continuing from `adler`. */
export function adler32(data: Uint8Array, adler = 1): number {
  let a = adler & 0xffff;
  let b = adler >>> 16;
  let i = 0;
  while (i < data.length) {
    // 5552 is the most bytes before `b` could exceed 2^32 (zlib's NMAX); numbers stay small integers.
    const end = Math.min(i + 5552, data.length);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Whether a zlib header (RFC 1950) announces deflate without a preset dictionary; null when it is fine. */
function zlibHeaderProblem(cmf: number, flg: number): string | null {
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7) return 'zlib header names no deflate method';
  if (((cmf << 8) | flg) % 31 !== 0) return 'zlib header check bits are wrong';
  if (flg & 0x20) return 'zlib stream needs a preset dictionary';
  return null;
}

/**
 * One deflate stream, fed in order by `push`. Every byte given is either taken or handed back
 * (what follows the stream's end, or what a cap left undecoded), so a caller walking a container
 * always knows where it is. Never throws: damaged data puts it in `failed`.
 */
export class StreamInflater {
  state: InflateState = 'running';
  /** For `failed`: what went wrong. */
  failure = '';
  /** For `failed`: the input stopped before the stream ended. */
  truncated = false;
  /** For `capped`: which cap. */
  cappedBy: 'decode' | 'output' | null = null;
  /** Compressed bytes that belong to the stream so far (when `ended`, its exact length). */
  inputBytes = 0;
  /** Bytes the stream decoded to. */
  outputBytes = 0;
  /** CRC-32 of the output, when asked for. */
  crc = 0;

  private phase: 'header' | 'deflate' | 'adler' = 'deflate';
  /** zlib header or Adler-32 bytes gathered so far. */
  private small: number[] = [];
  private adler = 1;
  /** Staged input: grown to what small pushes need (a short member never needs STAGE_BYTES). */
  private stage: Uint8Array = EMPTY;
  private staged = 0;
  private decoder: DeflateDecoder | null = null;
  private readonly maxOutput: number;
  private readonly wantCrc: boolean;
  private readonly wantAdler: boolean;
  // Sums over the output of the piece being decoded, kept only once the piece decodes (a piece
  // that fails adds nothing, as with fflate).
  private pieceBytes = 0;
  private pieceCrc = 0;
  private pieceAdler = 1;
  private nativeTried: boolean;

  constructor(private readonly options: StreamInflaterOptions) {
    if (options.wrapper === 'zlib') this.phase = 'header';
    this.maxOutput = options.budget.limits.maxOutputBytes;
    this.wantCrc = options.crc32 === true;
    this.wantAdler = options.wrapper === 'zlib' && options.verifyAdler === true;
    this.nativeTried = options.native === false;
  }

  /**
   * Feeds the next bytes. Returns the bytes the stream did not take: what follows its end
   * (`ended`), what was left undecoded (`capped`), or (`failed`) the input from the piece where
   * decoding failed on; empty while `running`.
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.state !== 'running') return chunk;
    let data = chunk;
    if (this.phase === 'header') {
      data = this.gather(data, 2);
      if (this.small.length < 2) return EMPTY;
      const problem = zlibHeaderProblem(this.small[0]!, this.small[1]!);
      if (problem) {
        this.inputBytes -= 2;
        return this.fail(problem, concatBytes(Uint8Array.from(this.small), data));
      }
      this.small = [];
      this.phase = 'deflate';
    }
    if (this.phase === 'deflate') {
      if (data.length === 0) return EMPTY;
      if (this.staged + data.length < STAGE_BYTES) {
        if (this.staged + data.length > this.stage.length) {
          const grown = new Uint8Array(
            Math.min(STAGE_BYTES, Math.max(2 * this.stage.length, 64, this.staged + data.length)),
          );
          grown.set(this.stage.subarray(0, this.staged));
          this.stage = grown;
        }
        this.stage.set(data, this.staged);
        this.staged += data.length;
        this.inputBytes += data.length;
        return EMPTY;
      }
      const input = this.staged > 0 ? concatBytes(this.stage.subarray(0, this.staged), data) : data;
      this.inputBytes += data.length;
      this.staged = 0;
      return this.afterDecode(this.decode(input));
    }
    return this.phase === 'adler' ? this.checkAdler(data) : data;
  }

  /** After decoding: the Adler-32 trailer follows the deflate end when it is verified. */
  private afterDecode(rest: Uint8Array): Uint8Array {
    return this.state === 'running' && this.phase === 'adler' ? this.checkAdler(rest) : rest;
  }

  /**
   * Decodes what is staged now rather than when more arrives, so that damage is found at the
   * same point whatever the chunking (PNG checks each IDAT chunk's CRC before its image data).
   * Returns what follows the stream's end, as `push` does.
   */
  flush(): Uint8Array {
    if (this.state !== 'running' || this.phase !== 'deflate' || this.staged === 0) return EMPTY;
    const input = this.stage.slice(0, this.staged);
    this.staged = 0;
    return this.afterDecode(this.decode(input));
  }

  /**
   * The input is over: decodes what is staged and settles the state (a stream still running is
   * `failed` and `truncated`). Returns the bytes after the stream's end, as `push` does.
   */
  end(): Uint8Array {
    let rest: Uint8Array = EMPTY;
    if (this.state === 'running' && this.phase === 'deflate' && this.staged > 0) {
      const input = this.stage.slice(0, this.staged);
      this.staged = 0;
      rest = this.decode(input);
    }
    if (this.state === 'running' && this.phase === 'adler') rest = this.checkAdler(rest);
    if (this.state === 'running') {
      this.truncated = true;
      this.fail(
        this.phase === 'header'
          ? 'zlib header is cut short'
          : this.phase === 'adler'
            ? 'Adler-32 trailer is cut short'
            : 'deflate data ends early',
        EMPTY,
      );
    }
    return rest;
  }

  /** Decodes `input` piece by piece; returns what follows the stream's end or what a cap left. */
  private decode(input: Uint8Array): Uint8Array {
    const whole = this.decodeWhole(input);
    if (whole !== null) return whole;
    const budget = this.options.budget;
    for (let at = 0; at < input.length;) {
      const wanted = Math.min(PIECE_BYTES, input.length - at);
      const granted = budget.take(wanted);
      if (granted === 0) return this.cap('decode', input.subarray(at));
      const piece = input.subarray(at, at + granted);
      try {
        this.decodePiece(piece);
      } catch (error) {
        // Where in the piece decoding failed is unknown: the whole piece and what follows go back.
        const rest = input.subarray(at);
        this.inputBytes -= rest.length;
        return this.fail(`deflate data is damaged (${(error as Error).message})`, rest);
      }
      at += granted;
      const after = this.decoder!.ended();
      if (after !== null) {
        // The decoder's unread bytes and the rest of the input follow the stream; the unread ones
        // are the end of this piece unless the stream ended within input it kept from before.
        const rest =
          after.length <= granted
            ? input.subarray(at - after.length)
            : concatBytes(after.slice(), input.subarray(at));
        budget.refund(after.length);
        this.releaseDecoder();
        return this.deflateEnded(rest);
      }
      if (this.outputBytes > this.maxOutput) return this.cap('output', input.subarray(at));
      if (granted < wanted) return this.cap('decode', input.subarray(at));
    }
    return EMPTY;
  }

  /** The deflate data ended; `rest` follows it: the Adler-32 trailer when verified, else whatever the caller has after the stream. */
  private deflateEnded(rest: Uint8Array): Uint8Array {
    this.inputBytes -= rest.length;
    if (this.options.wrapper === 'zlib' && this.options.verifyAdler) {
      this.phase = 'adler';
      return rest;
    }
    this.state = 'ended';
    return rest;
  }

  /**
   * The stream's first decode, when `input` holds the whole deflate stream: node:zlib decodes it,
   * several times faster than JavaScript can. It is taken only where it agrees with the streaming
   * decoder by construction: zlib accepts a subset of what fflate's rules accept and decodes it to
   * the same bytes, ending at the same byte; and the stream fits the decode budget and the output
   * cap, so piece by piece no cap would have stopped it either. Anything else — zlib rejects the
   * data, the input ends first, a cap would apply — returns null, and the streaming decoder decodes
   * `input` as if zlib had not been asked. Returns what follows the stream.
   */
  private decodeWhole(input: Uint8Array): Uint8Array | null {
    if (this.nativeTried || this.decoder || input.length < NATIVE_MIN_INPUT) return null;
    this.nativeTried = true;
    const budget = this.options.budget;
    let output: Buffer;
    let consumed: number;
    try {
      const limit = Math.min(NATIVE_MAX_OUTPUT, this.maxOutput);
      // One output buffer of about the output's size: a fixed 64 KiB per small stream (zip
      // members, gzip'd docs) was most of the cost, in allocation and in the GC the external
      // memory triggers. The slack lets zlib see the stream's end without a second buffer.
      // Without a declared size, `input` may run far past the stream (a zip member followed by
      // the rest of the archive): a guess from it is capped.
      const expected = this.options.expectedOutput ?? Math.min(GUESS_MAX_CHUNK_BYTES, input.length * 4);
      const result = inflateRawSync(input, {
        info: true,
        maxOutputLength: Math.max(1, limit),
        chunkSize: Math.max(MIN_CHUNK_BYTES, Math.min(limit, expected + 64)),
      }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      output = result.buffer;
      consumed = result.engine.bytesWritten;
    } catch {
      return null;
    }
    if (consumed > budget.remaining || output.length > this.maxOutput) return null;
    budget.take(consumed);
    this.outputBytes += output.length;
    if (this.wantCrc) this.crc = crc32(output, this.crc);
    if (this.wantAdler) this.adler = adler32(output, this.adler);
    return this.deflateEnded(input.subarray(consumed));
  }

  /** Decodes one piece; its output counts once it decoded. Throws when the data does not decode. */
  private decodePiece(piece: Uint8Array): void {
    this.decoder ??= new DeflateDecoder((output) => {
      this.pieceBytes += output.length;
      if (this.wantCrc) this.pieceCrc = crc32(output, this.pieceCrc);
      if (this.wantAdler) this.pieceAdler = adler32(output, this.pieceAdler);
    });
    this.pieceBytes = 0;
    this.pieceCrc = this.crc;
    this.pieceAdler = this.adler;
    this.decoder.push(piece);
    this.outputBytes += this.pieceBytes;
    this.crc = this.pieceCrc;
    this.adler = this.pieceAdler;
  }

  /** The stream is done with its decoder (ended, capped or failed): its memory serves the next stream. */
  private releaseDecoder(): void {
    this.decoder?.release();
    this.decoder = null;
  }

  private checkAdler(data: Uint8Array): Uint8Array {
    const rest = this.gather(data, 4);
    if (this.small.length < 4) return EMPTY;
    const stored = u32be(this.small, 0);
    if (stored !== this.adler) return this.fail('Adler-32 of the inflated data does not match', rest);
    this.state = 'ended';
    return rest;
  }

  /** Moves bytes from `data` into `small` until it holds `count`; returns the rest of `data`. */
  private gather(data: Uint8Array, count: number): Uint8Array {
    const take = Math.min(count - this.small.length, data.length);
    for (let i = 0; i < take; i++) this.small.push(data[i]!);
    this.inputBytes += take;
    return data.subarray(take);
  }

  private cap(by: 'decode' | 'output', rest: Uint8Array): Uint8Array {
    this.releaseDecoder();
    this.state = 'capped';
    this.cappedBy = by;
    this.inputBytes -= rest.length;
    return rest;
  }

  private fail(failure: string, rest: Uint8Array): Uint8Array {
    this.releaseDecoder();
    this.state = 'failed';
    this.failure = failure;
    return rest;
  }
}
