/**
 * zstd frame structure (RFC 8878), walked once for both readers of zstd data: the tar.zst
 * decompressor (decompress.ts) and the detection validator (detection/validators/zstd.ts). Both
 * decode with fzstd, which neither bounds the window it allocates nor checks content checksums,
 * so each walks the frames itself, and this is that walk: frame and skippable-frame magics,
 * frame headers (window, dictionary, content size, checksum flag), block headers (type, size
 * within the block maximum) and the content checksum, each handed to a `ZstdFrameSink`.
 *
 * It also holds the limits both put on fzstd: the largest window, and the work budget for the
 * window fzstd shifts after every block.
 */

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames have magics 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MASK = 0xfffffff0;
/** No block may be larger, whatever the window (RFC 8878 3.1.1.2.3). */
const MAX_BLOCK = 128 * 1024;
const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const;
/** Magic, descriptor, window, dictionary id and content size: the longest frame header. */
const MAX_HEADER = 18;

/** Largest zstd window accepted (as `zstd -d` without `--memory`): 128 MiB. */
export const ZSTD_MAX_WINDOW = 128 * 1024 * 1024;

/**
 * Window bytes fzstd may shift per byte of output (plus a fixed allowance). Real streams emit
 * 128 KiB blocks, so even a 128 MiB window needs 1024; a stream of 1-byte blocks needs 2^27.
 */
export const ZSTD_WORK_FACTOR = 2048;
const ZSTD_WORK_ALLOWANCE = 2 * 1024 ** 3;

/** Whether shifting `work` window bytes for `produced` bytes of output is over fzstd's work budget. */
export function zstdWorkExceeded(work: number, produced: number): boolean {
  return work > produced * ZSTD_WORK_FACTOR + ZSTD_WORK_ALLOWANCE;
}

/** Whether the XXH64 `digest` of a frame's content (big-endian, as hash-wasm gives it) matches the `stored` checksum (its low 32 bits, little-endian). */
export function zstdChecksumMatches(digest: Uint8Array, stored: Uint8Array): boolean {
  return (
    digest[7] === stored[0] && digest[6] === stored[1] && digest[5] === stored[2] && digest[4] === stored[3]
  );
}

/** A frame header, parsed. */
export interface ZstdFrameHeader {
  /** The header's bytes, magic included (a view, valid during the call only). */
  bytes: Uint8Array;
  window: number;
  /** Dictionary id, 0 for none. */
  dictionary: number;
  /** Declared content size, or null when the header leaves it out. */
  contentSize: number | null;
  /** A content checksum follows the last block. */
  checksummed: boolean;
  /** Raw and RLE blocks decode to their size, so it must fit the window too: min(window, 128 KiB). */
  blockMaximum: number;
}

/** A block header, parsed. */
export interface ZstdBlockHeader {
  /** The header's 3 bytes (a view, valid during the call only). */
  bytes: Uint8Array;
  last: boolean;
  type: 'raw' | 'rle' | 'compressed';
  /** Block_Size: what a raw or RLE block decodes to, a compressed block's length. */
  size: number;
  /** Bytes of block content after the header (1 for RLE). */
  contentBytes: number;
}

/** What a walk hands on, in stream order. Offsets are from the start of the zstd data. */
export interface ZstdFrameSink {
  /** A frame header is complete, at `at`; its blocks follow. */
  frameHeader(header: ZstdFrameHeader, at: number): void;
  /** A block header is complete, at `at`; `contentBytes` of content follow. */
  blockHeader(block: ZstdBlockHeader, at: number): void;
  /** Content bytes of the current block (a view of the chunk fed; every block's content comes whole, over one or more calls). */
  blockContent(bytes: Uint8Array): void;
  /** The current block's content is complete. */
  blockEnd(): void;
  /** The frame is over: after its last block, or after its content checksum (`checksum`, a view valid during the call only). */
  frameEnd(checksum: Uint8Array | null): void;
  /** The error to throw when the structure is broken at `offset` (unknown magic, reserved bits, an oversized block). */
  damaged(message: string, offset: number): Error;
}

type Phase =
  'magic' | 'frame-header' | 'block-header' | 'block-body' | 'checksum' | 'skip-size' | 'skip-body';

/** Walks zstd frames fed in chunks of any size, handing each part to its sink. */
export class ZstdFrameWalker {
  /** Bytes walked so far. */
  position = 0;
  /** zstd frames completed. */
  frames = 0;
  /** Skippable frames met (counted from their size field on). */
  skippableFrames = 0;

  private phase: Phase = 'magic';
  private readonly field = new Uint8Array(MAX_HEADER);
  private fieldLength = 0;
  private fieldNeed = 4;
  private fieldStart = 0;
  private remaining = 0;
  private lastBlock = false;
  private checksummed = false;
  private blockMaximum = MAX_BLOCK;

  constructor(private readonly sink: ZstdFrameSink) {}

  /** True between frames: the data may end here. */
  get betweenFrames(): boolean {
    return this.phase === 'magic' && this.fieldLength === 0;
  }

  /** Walks all of `chunk`. */
  feed(chunk: Uint8Array): void {
    for (let at = 0; at < chunk.length;) at = this.step(chunk, at);
  }

  /**
   * Walks one piece of `chunk` from `at` (a header field, or block content up to the block's
   * end); returns where the next piece starts. A caller that passes output on can do so between
   * steps, so no more than one block's output is ever held.
   */
  step(chunk: Uint8Array, at: number): number {
    if (this.phase === 'block-body' || this.phase === 'skip-body') {
      const take = Math.min(this.remaining, chunk.length - at);
      if (this.phase === 'block-body') this.sink.blockContent(chunk.subarray(at, at + take));
      this.position += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        if (this.phase === 'skip-body') this.expect('magic', 4);
        else this.blockDone();
      }
      return at + take;
    }
    const take = Math.min(this.fieldNeed - this.fieldLength, chunk.length - at);
    if (this.fieldLength === 0) this.fieldStart = this.position;
    this.field.set(chunk.subarray(at, at + take), this.fieldLength);
    this.fieldLength += take;
    this.position += take;
    if (this.fieldLength === this.fieldNeed) this.fieldDone();
    return at + take;
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
        const magic = readLE(field, 0, 4);
        if (magic === ZSTD_MAGIC) {
          // The header goes on gathering after the magic: fzstd is handed all of it.
          this.phase = 'frame-header';
          this.fieldNeed = 5;
        } else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
          this.expect('skip-size', 4);
        } else {
          throw this.sink.damaged(
            `unknown frame magic 0x${magic.toString(16)} after ${this.frames + this.skippableFrames} frame(s)`,
            this.fieldStart,
          );
        }
        return;
      }
      case 'frame-header': {
        const length = frameHeaderLength(field[4]!);
        if (this.fieldNeed < length) {
          this.fieldNeed = length;
          return;
        }
        return this.startFrame();
      }
      case 'block-header':
        return this.blockHeader();
      case 'checksum':
        return this.endFrame(field.subarray(0, 4));
      case 'skip-size':
        this.phase = 'skip-body';
        this.remaining = readLE(field, 0, 4);
        this.skippableFrames += 1;
        if (this.remaining === 0) this.expect('magic', 4);
        return;
      case 'block-body':
      case 'skip-body':
        throw new Error(`zstd walker: no field is gathered in phase ${this.phase}`);
    }
  }

  private startFrame(): void {
    const field = this.field;
    const frameStart = this.fieldStart;
    const descriptor = field[4]!;
    if (descriptor & 8) throw this.sink.damaged('reserved frame header bit is set', frameStart + 4);
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
    const dictionary = readLE(field, at, dictionaryBytes);
    at += dictionaryBytes;
    const sizeBytes = CONTENT_SIZE_BYTES[descriptor >> 6]! || singleSegment;
    const contentSize = sizeBytes ? readLE(field, at, sizeBytes) + (sizeBytes === 2 ? 256 : 0) : null;
    // A single-segment frame's window is its content.
    if (singleSegment) window = contentSize!;
    this.checksummed = (descriptor & 4) !== 0;
    this.blockMaximum = Math.min(MAX_BLOCK, window);
    this.sink.frameHeader(
      {
        bytes: field.subarray(0, this.fieldNeed),
        window,
        dictionary,
        contentSize,
        checksummed: this.checksummed,
        blockMaximum: this.blockMaximum,
      },
      frameStart,
    );
    this.expect('block-header', 3);
  }

  private blockHeader(): void {
    const field = this.field;
    const at = this.fieldStart;
    const header = field[0]! | (field[1]! << 8) | (field[2]! << 16);
    const typeCode = (header >> 1) & 3;
    const size = header >>> 3;
    if (typeCode === 3) throw this.sink.damaged('reserved block type', at);
    const type = typeCode === 0 ? 'raw' : typeCode === 1 ? 'rle' : 'compressed';
    const maximum = type === 'compressed' ? MAX_BLOCK : this.blockMaximum;
    if (size > maximum)
      throw this.sink.damaged(`block of ${size} bytes is over the ${maximum}-byte block maximum`, at);
    this.lastBlock = (header & 1) === 1;
    this.remaining = type === 'rle' ? 1 : size;
    this.sink.blockHeader(
      { bytes: field.subarray(0, 3), last: this.lastBlock, type, size, contentBytes: this.remaining },
      at,
    );
    this.phase = 'block-body';
    if (this.remaining === 0) this.blockDone();
  }

  private blockDone(): void {
    this.sink.blockEnd();
    if (!this.lastBlock) this.expect('block-header', 3);
    else if (this.checksummed) this.expect('checksum', 4);
    else this.endFrame(null);
  }

  private endFrame(checksum: Uint8Array | null): void {
    this.sink.frameEnd(checksum);
    this.frames += 1;
    this.expect('magic', 4);
  }
}

/** Length of a frame header, magic included, from its descriptor byte. */
function frameHeaderLength(descriptor: number): number {
  const singleSegment = (descriptor >> 5) & 1;
  return (
    5 +
    (singleSegment ? 0 : 1) +
    DICTIONARY_ID_BYTES[descriptor & 3]! +
    (CONTENT_SIZE_BYTES[descriptor >> 6]! || singleSegment)
  );
}

/** A little-endian unsigned integer of `bytes` bytes (0 to 8) at `at`; 8-byte values rounded to the nearest Number. */
function readLE(b: Uint8Array, at: number, bytes: number): number {
  if (bytes === 8) return Number(Buffer.from(b.buffer, b.byteOffset + at, 8).readBigUInt64LE(0));
  let value = 0;
  for (let i = bytes - 1; i >= 0; i--) value = value * 256 + b[at + i]!;
  return value;
}

/**
 * Whether `head` (an entry's first bytes) starts like zstd data: skippable frames (pzstd writes
 * one first), then a zstd frame whose reserved descriptor bit is clear, within the head.
 */
export function startsLikeZstd(head: Uint8Array): boolean {
  let at = 0;
  while (at + 4 <= head.length) {
    const magic = readLE(head, at, 4);
    if (magic === ZSTD_MAGIC) return at + 5 > head.length || (head[at + 4]! & 8) === 0;
    if ((magic & SKIPPABLE_MASK) >>> 0 !== SKIPPABLE_MAGIC || at + 8 > head.length) return false;
    at += 8 + readLE(head, at + 4, 4);
  }
  return false;
}
