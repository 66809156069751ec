/**
 * Streaming decompressors for the tar family, as async generators (pipeline stages): they
 * yield output in bounded pieces, so a ratio cap downstream stops a bomb before much of it is
 * buffered. Both verify what the format lets them verify and fail with `DecompressError`, so a
 * reader can tell corrupt or truncated compressed data from a failure to read the object.
 *
 * gzip: members are framed here and inflated by zlib's raw inflate, so every byte of output is
 * yielded *before* the member's CRC-32 and length are checked. (zlib's own gunzip drops the
 * last output chunk when the trailer is wrong, which would hide the last entries of an archive
 * whose only damage is the checksum.) Concatenated members are read in turn; bytes after the
 * last member that do not start a new one are ignored, as gzip and zlib do.
 *
 * zstd: decoded by fzstd (pure JS), which neither checks content checksums nor bounds the window
 * it allocates, so frames are walked here first: window sizes are capped (`ZSTD_MAX_WINDOW`, the
 * zstd CLI's default), checksums are verified with XXH64, and blocks go in one at a time so
 * output comes out in pieces of at most 128 KiB. fzstd also shifts its whole window after every
 * block, so a stream of tiny blocks under a large window costs far more time than its size
 * suggests: that work is budgeted (`ZSTD_WORK_FACTOR`).
 */
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';
import { Decompress } from 'fzstd';
import type { IHasher } from 'hash-wasm';
import { VouchError } from '../errors.js';

/** Compressions the tar family uses. */
export type Compression = 'gzip' | 'zstd';

/** Largest zstd window accepted (as `zstd -d` without `--memory`): 128 MiB. */
export const ZSTD_MAX_WINDOW = 128 * 1024 * 1024;

/**
 * Window bytes fzstd may shift per byte of output (plus a fixed allowance). Real streams emit
 * 128 KiB blocks, so even a 128 MiB window needs 1024; a stream of 1-byte blocks needs 2^27.
 */
export const ZSTD_WORK_FACTOR = 2048;
const ZSTD_WORK_ALLOWANCE = 2 * 1024 ** 3;

/** Corrupt or truncated compressed data. */
export class DecompressError extends VouchError {
  override name = 'DecompressError';
  constructor(
    message: string,
    /** True when the data simply stops early (a cut object), false when it is damaged. */
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

/** The decompressing pipeline stage for `compression`. */
export function decompressor(compression: Compression): (chunks: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return compression === 'gzip' ? gunzipDecompress : zstdDecompress;
}

/** Decompresses a gzip stream (one or more members). */
export async function* gunzipDecompress(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const members = new GzipMembers();
  try {
    for await (const chunk of chunks) yield* members.feed(chunk);
    yield* members.end();
  } finally {
    members.close();
  }
}

/** Compressed bytes handed to zlib at a time: bounds the output of one step to ~66 MiB (deflate tops out near 1032:1). */
const GZIP_STEP = 64 * 1024;
/** A gzip header with a longer name or comment than this is treated as corrupt. */
const GZIP_MAX_HEADER = 64 * 1024;

/** Reads gzip members (RFC 1952) one after another. */
class GzipMembers {
  private phase: 'header' | 'deflate' | 'trailer' | 'between' | 'trailing' = 'header';
  private pending: Buffer = Buffer.alloc(0);
  private members = 0;
  private inflater: InflateRaw | null = null;
  private written = 0;
  private output: Buffer[] = [];
  private crc = 0;
  private size = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  async *feed(chunk: Buffer): AsyncGenerator<Buffer> {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      switch (this.phase) {
        case 'header': {
          const length = gzipHeaderLength(data);
          if (length === null) {
            if (data.length > GZIP_MAX_HEADER) throw new DecompressError(`gzip data is corrupt: member ${this.members + 1} header is over ${GZIP_MAX_HEADER} bytes`, false);
            this.pending = data;
            return;
          }
          data = data.subarray(length);
          this.startMember();
          break;
        }
        case 'deflate': {
          const piece = data.subarray(0, GZIP_STEP);
          data = data.subarray(piece.length);
          const unused = await this.inflate(piece);
          yield* this.drain();
          if (unused !== null) {
            data = data.length ? Buffer.concat([piece.subarray(piece.length - unused), data]) : piece.subarray(piece.length - unused);
            this.phase = 'trailer';
          }
          break;
        }
        case 'trailer':
          if (data.length < 8) {
            this.pending = data;
            return;
          }
          this.checkTrailer(data);
          data = data.subarray(8);
          this.phase = 'between';
          break;
        case 'between':
          if (data[0] !== 0x1f || (data.length > 1 && data[1] !== 0x8b)) {
            this.phase = 'trailing';
          } else if (data.length < 2) {
            this.pending = data;
            return;
          } else {
            this.phase = 'header';
          }
          break;
        case 'trailing':
          return;
      }
    }
  }

  async *end(): AsyncGenerator<Buffer> {
    switch (this.phase) {
      case 'header':
        if (this.members === 0 && this.pending.length === 0) throw new DecompressError('gzip data is empty', true);
        throw new DecompressError(`gzip data ends inside the header of member ${this.members + 1}`, true);
      case 'deflate': {
        const unused = await this.finishInflate();
        yield* this.drain();
        if (unused === null) throw new DecompressError('gzip data is truncated: the compressed stream ends early', true);
        throw new DecompressError(`gzip data ends before the trailer of member ${this.members + 1}`, true);
      }
      case 'trailer':
        throw new DecompressError(`gzip data ends inside the trailer of member ${this.members + 1}`, true);
      default:
        return;
    }
  }

  /** Releases zlib's native state, also when the read stopped mid-member. */
  close(): void {
    this.inflater?.destroy();
    this.inflater = null;
  }

  private *drain(): Generator<Buffer> {
    while (this.output.length > 0) yield this.output.shift()!;
  }

  private startMember(): void {
    // 256 KiB output chunks: the 16 KiB default costs a callback per 16 KiB and halved throughput.
    const inflater = createInflateRaw({ chunkSize: 256 * 1024 });
    inflater.on('data', (chunk: Buffer) => {
      this.crc = crc32(chunk, this.crc);
      this.size += chunk.length;
      this.output.push(chunk);
    });
    inflater.on('end', () => (this.ended = true));
    inflater.on('error', (error: Error) => {
      this.failure ??= error;
      this.wake?.();
    });
    this.inflater = inflater;
    this.written = 0;
    this.crc = 0;
    this.size = 0;
    this.ended = false;
    this.failure = null;
    this.phase = 'deflate';
  }

  /** Inflates `piece`; returns how many of its bytes follow the deflate stream, or null if it goes on. */
  private async inflate(piece: Buffer): Promise<number | null> {
    const inflater = this.inflater!;
    this.written += piece.length;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      inflater.write(piece, () => resolve());
    });
    this.wake = null;
    this.throwIfFailed();
    // zlib stops consuming at the end of the deflate stream: what it left is the trailer and beyond.
    const unused = this.written - inflater.bytesWritten;
    return this.ended || unused > 0 ? unused : null;
  }

  private async finishInflate(): Promise<number | null> {
    const inflater = this.inflater!;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      inflater.once('close', () => resolve());
      inflater.end();
    });
    this.wake = null;
    if (this.failure && (this.failure as { code?: string }).code === 'Z_BUF_ERROR') return null;
    this.throwIfFailed();
    return this.ended ? 0 : null;
  }

  private throwIfFailed(): void {
    if (!this.failure) return;
    const code = (this.failure as { code?: string }).code;
    throw new DecompressError(`gzip data is corrupt in member ${this.members + 1}: ${this.failure.message}`, code === 'Z_BUF_ERROR');
  }

  private checkTrailer(data: Buffer): void {
    this.close();
    this.members += 1;
    const crc = data.readUInt32LE(0);
    const size = data.readUInt32LE(4);
    if (crc !== this.crc >>> 0) {
      throw new DecompressError(`gzip data is corrupt: CRC-32 mismatch in member ${this.members} (stored ${hex(crc)}, computed ${hex(this.crc >>> 0)})`, false);
    }
    if (size !== this.size % 2 ** 32) {
      throw new DecompressError(`gzip data is corrupt: length mismatch in member ${this.members} (stored ${size}, inflated ${this.size} bytes)`, false);
    }
  }
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/** Length of the gzip member header at the start of `data`, or null if more bytes are needed. */
function gzipHeaderLength(data: Buffer): number | null {
  if (data.length < 10) return null;
  if (data[0] !== 0x1f || data[1] !== 0x8b) throw new DecompressError('gzip data is corrupt: bad magic bytes', false);
  if (data[2] !== 8) throw new DecompressError(`gzip data is corrupt: unknown compression method ${data[2]}`, false);
  const flags = data[3]!;
  if (flags & 0xe0) throw new DecompressError('gzip data is corrupt: reserved header flags are set', false);
  let at = 10;
  if (flags & FEXTRA) {
    if (data.length < at + 2) return null;
    at += 2 + data.readUInt16LE(at);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const nul = data.indexOf(0, at);
    if (nul === -1) return null;
    at = nul + 1;
  }
  if (flags & FHCRC) at += 2;
  return data.length >= at ? at : null;
}

/** Decompresses a zstd stream (any number of frames, skippable frames ignored). */
export async function* zstdDecompress(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const frames = new ZstdFrames(await (await import('hash-wasm')).createXXHash64());
  for await (const chunk of chunks) yield* frames.feed(chunk);
  frames.end();
}

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK = 128 * 1024;
const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const;

type Phase = 'magic' | 'frame-header' | 'block-header' | 'block-body' | 'checksum' | 'skip-size' | 'skip-body';

/** Walks zstd frame structure (RFC 8878) and drives one fzstd decoder per frame. */
class ZstdFrames {
  private phase: Phase = 'magic';
  private readonly field = Buffer.alloc(18);
  private fieldLength = 0;
  private fieldNeed = 4;
  private remaining = 0;
  private lastBlock = false;
  private checksummed = false;
  private frames = 0;
  private window = 0;
  private work = 0;
  private produced = 0;
  private decoder: Decompress | null = null;
  private output: Buffer[] = [];

  constructor(private readonly hasher: IHasher) {}

  *feed(chunk: Buffer): Generator<Buffer> {
    let at = 0;
    while (at < chunk.length) {
      if (this.phase === 'block-body' || this.phase === 'skip-body') {
        const take = Math.min(this.remaining, chunk.length - at);
        if (this.phase === 'block-body') this.push(chunk.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.phase === 'skip-body') this.expect('magic', 4);
          else this.blockDone();
        }
      } else {
        const take = Math.min(this.fieldNeed - this.fieldLength, chunk.length - at);
        chunk.copy(this.field, this.fieldLength, at, at + take);
        this.fieldLength += take;
        at += take;
        if (this.fieldLength === this.fieldNeed) this.fieldDone();
      }
      yield* this.drain();
    }
  }

  end(): void {
    if (this.phase === 'magic' && this.fieldLength === 0 && this.frames > 0) return;
    throw new DecompressError(this.frames === 0 && this.fieldLength === 0 ? 'zstd data is empty' : 'zstd data ends inside a frame', true);
  }

  private *drain(): Generator<Buffer> {
    while (this.output.length > 0) yield this.output.shift()!;
  }

  private expect(phase: Phase, bytes: number): void {
    this.phase = phase;
    this.fieldLength = 0;
    this.fieldNeed = bytes;
  }

  private fieldDone(): void {
    const field = this.field;
    switch (this.phase) {
      case 'magic': {
        const magic = field.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) {
          this.phase = 'frame-header';
          this.fieldNeed = 5;
        } else if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
          this.expect('skip-size', 4);
        } else {
          throw new DecompressError(`zstd data is corrupt: unknown frame magic 0x${magic.toString(16)} after ${this.frames} frame(s)`, false);
        }
        return;
      }
      case 'frame-header': {
        const descriptor = field[4]!;
        const singleSegment = (descriptor >> 5) & 1;
        const headerLength = 5 + (singleSegment ? 0 : 1) + DICTIONARY_ID_BYTES[descriptor & 3]! + (CONTENT_SIZE_BYTES[descriptor >> 6]! || singleSegment);
        if (this.fieldNeed < headerLength) {
          this.fieldNeed = headerLength;
          return;
        }
        this.startFrame(descriptor);
        return;
      }
      case 'block-header': {
        const header = field[0]! | (field[1]! << 8) | (field[2]! << 16);
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw new DecompressError('zstd data is corrupt: reserved block type', false);
        if (size > MAX_BLOCK) throw new DecompressError(`zstd data is corrupt: block of ${size} bytes is over 128 KiB`, false);
        this.push(Buffer.from(field.subarray(0, 3)));
        this.lastBlock = (header & 1) === 1;
        this.phase = 'block-body';
        this.remaining = type === 1 ? 1 : size;
        if (this.remaining === 0) this.blockDone();
        return;
      }
      case 'checksum':
        this.endFrame(Buffer.from(field.subarray(0, 4)));
        return;
      case 'skip-size':
        this.phase = 'skip-body';
        this.remaining = field.readUInt32LE(0);
        if (this.remaining === 0) this.expect('magic', 4);
        return;
      default:
        throw new Error(`zstd walker: unexpected phase ${this.phase}`);
    }
  }

  private startFrame(descriptor: number): void {
    const field = this.field;
    if (descriptor & 8) throw new DecompressError('zstd data is corrupt: reserved frame header bit is set', false);
    const singleSegment = (descriptor >> 5) & 1;
    let at = 5;
    let window = 0;
    if (!singleSegment) {
      const exponent = field[at]! >> 3;
      const base = 2 ** (10 + exponent);
      window = base + (base / 8) * (field[at]! & 7);
      at += 1;
    }
    const dictionaryBytes = DICTIONARY_ID_BYTES[descriptor & 3]!;
    const dictionary = dictionaryBytes ? field.readUIntLE(at, dictionaryBytes) : 0;
    at += dictionaryBytes;
    if (dictionary !== 0) throw new DecompressError(`zstd frame needs dictionary ${dictionary}, which vouch does not have`, false);
    if (singleSegment) {
      const sizeBytes = CONTENT_SIZE_BYTES[descriptor >> 6]! || 1;
      window = sizeBytes === 8 ? Number(field.readBigUInt64LE(at)) : field.readUIntLE(at, sizeBytes) + (sizeBytes === 2 ? 256 : 0);
    }
    if (window > ZSTD_MAX_WINDOW) {
      throw new DecompressError(`zstd frame needs a ${window}-byte window, over the ${ZSTD_MAX_WINDOW}-byte limit`, false);
    }
    this.checksummed = (descriptor & 4) !== 0;
    this.window = window;
    this.hasher.init();
    this.decoder = new Decompress((data) => {
      if (data.length === 0) return;
      this.produced += data.length;
      this.hasher.update(data);
      this.output.push(Buffer.from(data));
    });
    this.push(Buffer.from(field.subarray(0, this.fieldNeed)));
    this.expect('block-header', 3);
  }

  private blockDone(): void {
    this.work += this.window;
    if (this.work > this.produced * ZSTD_WORK_FACTOR + ZSTD_WORK_ALLOWANCE) {
      throw new DecompressError(`zstd data is hostile: its blocks are too small for its ${this.window}-byte window (decoding would shift ${this.work} bytes for ${this.produced} bytes of output)`, false);
    }
    if (!this.lastBlock) this.expect('block-header', 3);
    else if (this.checksummed) this.expect('checksum', 4);
    else this.endFrame(null);
  }

  private endFrame(checksum: Buffer | null): void {
    this.push(checksum ?? Buffer.alloc(0), true);
    this.decoder = null;
    this.frames += 1;
    if (checksum) {
      const digest = this.hasher.digest('binary');
      // The frame stores the low 32 bits of XXH64, little-endian; hash-wasm gives it big-endian.
      const expected = Buffer.from([digest[7]!, digest[6]!, digest[5]!, digest[4]!]);
      if (!expected.equals(checksum)) {
        throw new DecompressError(`zstd data is corrupt: content checksum mismatch in frame ${this.frames}`, false);
      }
    }
    this.expect('magic', 4);
  }

  private push(bytes: Buffer, final = false): void {
    try {
      this.decoder!.push(bytes, final);
    } catch (error) {
      throw new DecompressError(`zstd data is corrupt: ${error instanceof Error ? error.message : String(error)}`, false);
    }
  }
}
