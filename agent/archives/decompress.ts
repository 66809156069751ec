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
 * it allocates, so frames are walked first (zstd-frame.ts, the walk the detection validator uses
 * too): window sizes are capped (`ZSTD_MAX_WINDOW`, the zstd CLI's default), checksums are
 * verified with XXH64, and blocks go in one at a time so output comes out in pieces of at most
 * 128 KiB. fzstd also shifts its whole window after every block, so a stream of tiny blocks under
 * a large window costs far more time than its size suggests: that work is budgeted
 * (`ZSTD_WORK_FACTOR`).
 */
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';
import { Decompress } from 'fzstd';
import type { IHasher } from 'hash-wasm';
import { toolDecompressor, type ToolCompression } from './tool-decompress.js';
import {
  ZSTD_MAX_WINDOW,
  ZstdFrameWalker,
  zstdChecksumMatches,
  zstdWorkExceeded,
  type ZstdBlockHeader,
  type ZstdFrameHeader,
  type ZstdFrameSink,
} from './zstd-frame.js';
import { DecompressError } from './decompress-error.js';
import { loadHashWasm } from '../tools/hash-wasm.js';

/** Compressions the tar family uses (xz, bzip2 and lz4 through the host's tools: tool-decompress.ts). */
export type Compression = 'gzip' | 'zstd' | ToolCompression;

/** The decompressing pipeline stage for `compression`. */
export function decompressor(
  compression: Compression,
): (chunks: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  if (compression === 'gzip') return gunzipDecompress;
  if (compression === 'zstd') return zstdDecompress;
  return toolDecompressor(compression);
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
            if (data.length > GZIP_MAX_HEADER)
              throw new DecompressError(
                `gzip data is corrupt: member ${this.members + 1} header is over ${GZIP_MAX_HEADER} bytes`,
                false,
              );
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
            data = data.length
              ? Buffer.concat([piece.subarray(piece.length - unused), data])
              : piece.subarray(piece.length - unused);
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
        if (this.members === 0 && this.pending.length === 0)
          throw new DecompressError('gzip data is empty', true);
        throw new DecompressError(`gzip data ends inside the header of member ${this.members + 1}`, true);
      case 'deflate': {
        const unused = await this.finishInflate();
        yield* this.drain();
        if (unused === null)
          throw new DecompressError('gzip data is truncated: the compressed stream ends early', true);
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
    throw new DecompressError(
      `gzip data is corrupt in member ${this.members + 1}: ${this.failure.message}`,
      code === 'Z_BUF_ERROR',
    );
  }

  private checkTrailer(data: Buffer): void {
    this.close();
    this.members += 1;
    const crc = data.readUInt32LE(0);
    const size = data.readUInt32LE(4);
    if (crc !== this.crc >>> 0) {
      throw new DecompressError(
        `gzip data is corrupt: CRC-32 mismatch in member ${this.members} (stored ${hex(crc)}, computed ${hex(this.crc >>> 0)})`,
        false,
      );
    }
    if (size !== this.size % 2 ** 32) {
      throw new DecompressError(
        `gzip data is corrupt: length mismatch in member ${this.members} (stored ${size}, inflated ${this.size} bytes)`,
        false,
      );
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
  if (data[0] !== 0x1f || data[1] !== 0x8b)
    throw new DecompressError('gzip data is corrupt: bad magic bytes', false);
  if (data[2] !== 8)
    throw new DecompressError(`gzip data is corrupt: unknown compression method ${data[2]}`, false);
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
  const frames = new ZstdFrames(await (await loadHashWasm()).createXXHash64());
  for await (const chunk of chunks) yield* frames.feed(chunk);
  frames.end();
}

/** Drives one fzstd decoder per frame over the walk of zstd-frame.ts, checking windows, work and checksums. */
class ZstdFrames implements ZstdFrameSink {
  private readonly walker = new ZstdFrameWalker(this);
  private window = 0;
  private work = 0;
  private produced = 0;
  private decoder: Decompress | null = null;
  private output: Buffer[] = [];

  constructor(private readonly hasher: IHasher) {}

  *feed(chunk: Buffer): Generator<Buffer> {
    // A step at a time, passing output on after each: a block's output at most is ever held.
    for (let at = 0; at < chunk.length;) {
      at = this.walker.step(chunk, at);
      while (this.output.length > 0) yield this.output.shift()!;
    }
  }

  end(): void {
    const walker = this.walker;
    if (walker.betweenFrames && walker.frames > 0) return;
    throw new DecompressError(
      walker.betweenFrames ? 'zstd data is empty' : 'zstd data ends inside a frame',
      true,
    );
  }

  frameHeader(header: ZstdFrameHeader): void {
    if (header.dictionary !== 0)
      throw new DecompressError(
        `zstd frame needs dictionary ${header.dictionary}, which vouch does not have`,
        false,
      );
    if (header.window > ZSTD_MAX_WINDOW) {
      throw new DecompressError(
        `zstd frame needs a ${header.window}-byte window, over the ${ZSTD_MAX_WINDOW}-byte limit`,
        false,
      );
    }
    this.window = header.window;
    this.hasher.init();
    this.decoder = new Decompress((data) => {
      if (data.length === 0) return;
      this.produced += data.length;
      this.hasher.update(data);
      this.output.push(Buffer.from(data));
    });
    // fzstd may keep what it is given until a block is complete: the walker's views are copied.
    this.push(Buffer.from(header.bytes));
  }

  blockHeader(block: ZstdBlockHeader): void {
    this.push(Buffer.from(block.bytes));
  }

  blockContent(bytes: Uint8Array): void {
    this.push(bytes);
  }

  blockEnd(): void {
    this.work += this.window;
    if (zstdWorkExceeded(this.work, this.produced)) {
      throw new DecompressError(
        `zstd data is hostile: its blocks are too small for its ${this.window}-byte window (decoding would shift ${this.work} bytes for ${this.produced} bytes of output)`,
        false,
      );
    }
  }

  frameEnd(checksum: Uint8Array | null): void {
    this.push(checksum ? Buffer.from(checksum) : Buffer.alloc(0), true);
    this.decoder = null;
    if (checksum && !zstdChecksumMatches(this.hasher.digest('binary'), checksum)) {
      throw new DecompressError(
        `zstd data is corrupt: content checksum mismatch in frame ${this.walker.frames + 1}`,
        false,
      );
    }
  }

  damaged(message: string): Error {
    return new DecompressError(`zstd data is corrupt: ${message}`, false);
  }

  private push(bytes: Uint8Array, final = false): void {
    try {
      this.decoder!.push(bytes, final);
    } catch (error) {
      throw new DecompressError(
        `zstd data is corrupt: ${error instanceof Error ? error.message : String(error)}`,
        false,
        { cause: error },
      );
    }
  }
}
