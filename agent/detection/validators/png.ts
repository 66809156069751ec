/**
 * PNG: the signature, then chunks walked one after another — each with a length under 2^31, a
 * type of four ASCII letters and a CRC-32 over type and data that must match. IHDR comes first
 * (with a legal size, bit depth, colour type and methods), IDAT chunks are consecutive and their
 * data is one zlib stream that must inflate, end with a matching Adler-32 and yield at least the
 * bytes IHDR implies (libpng's "Not enough image data" is an error; extra data only a warning),
 * and IEND comes last.
 *
 * Bytes after IEND are accepted, as every decoder ignores them. None of the 5,400 PNGs on the
 * development machine has any, but a file that gained some (a transfer tool's padding, data
 * hidden after the image) still displays, so calling it damaged would be a false alarm; and damage
 * cannot hide there, since it could only forge an IEND with a matching CRC by chance.
 *
 * Caps: past the decode budget the chunk walk and CRC checks go on to the end, but the image data
 * is no longer inflated; `checkedBytes` is where inflating stopped. Apple's CgBI variant (raw
 * deflate, premultiplied BGRA) is `unsupported`.
 */
import { crc32 } from 'node:zlib';
import type { StructureValidator, StructureVerdict, ValidatorDefinition, ValidatorLimits } from '../validator.js';
import { DecodeBudget, StreamInflater } from './inflate-check.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_CHUNK_LENGTH = 2 ** 31 - 1;
const IHDR_LENGTH = 13;
/** Bits per pixel for each legal colour type and bit depth (PNG spec table 11.1). */
function bitsPerPixel(colorType: number, depth: number): number | null {
  const channels: Record<number, { n: number; depths: number[] }> = {
    0: { n: 1, depths: [1, 2, 4, 8, 16] },
    2: { n: 3, depths: [8, 16] },
    3: { n: 1, depths: [1, 2, 4, 8] },
    4: { n: 2, depths: [8, 16] },
    6: { n: 4, depths: [8, 16] },
  };
  const kind = channels[colorType];
  return kind && kind.depths.includes(depth) ? kind.n * depth : null;
}

/** Bytes of filtered scanlines (filter byte + packed pixels) the image data must inflate to. */
export function expectedImageBytes(width: number, height: number, bpp: number, interlaced: boolean): number {
  const rows = (w: number, h: number): number => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bpp) / 8)) : 0);
  if (!interlaced) return rows(width, height);
  // Adam7 passes: [x start, x step, y start, y step].
  const passes = [
    [0, 8, 0, 8],
    [4, 8, 0, 8],
    [0, 4, 4, 8],
    [2, 4, 0, 4],
    [0, 2, 2, 4],
    [1, 2, 0, 2],
    [0, 1, 1, 2],
  ] as const;
  let total = 0;
  for (const [x0, dx, y0, dy] of passes) total += rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy));
  return total;
}

const isLetter = (byte: number): boolean => (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);

type Phase = 'signature' | 'header' | 'data' | 'crc' | 'trailing' | 'decided';

class PngValidator implements StructureValidator {
  private phase: Phase = 'signature';
  /** Offset of the first byte of the data the current step is given. */
  private offset = 0;
  private small: number[] = [];
  private chunks = 0;
  private chunkStart = 0;
  private chunkType = '';
  private chunkLeft = 0;
  private crc = 0;
  /** IHDR data, gathered for its checks. */
  private ihdr: number[] = [];
  private expectedBytes = 0;
  private idatState: 'before' | 'inside' | 'after' = 'before';
  private inflater: StreamInflater | null = null;
  private idatStart = 0;
  private uncheckedFrom: number | null = null;
  private verdict: StructureVerdict | null = null;
  private readonly budget: DecodeBudget;

  constructor(limits: ValidatorLimits) {
    this.budget = new DecodeBudget(limits);
  }

  update(chunk: Uint8Array): void {
    if (this.verdict) return;
    try {
      let data = chunk;
      while (data.length > 0 && !this.verdict) {
        const rest = this.step(data);
        this.offset += data.length - rest.length;
        data = rest;
      }
    } catch (error) {
      this.invalid(`validator error: ${(error as Error).message}`, this.offset);
    }
  }

  finish(): StructureVerdict {
    if (this.verdict) return this.verdict;
    if (this.phase !== 'trailing') {
      const where = this.phase === 'signature' ? 'inside the signature' : this.chunks === 0 ? 'before IHDR' : `inside chunk ${this.chunks + 1}${this.chunkType ? ` (${this.chunkType})` : ''}`;
      return this.invalid(`PNG ends ${where}, before IEND`, this.offset);
    }
    return { status: 'valid', checkedBytes: this.uncheckedFrom ?? this.offset, parts: this.chunks };
  }

  private invalid(detail: string, offset: number): StructureVerdict {
    this.verdict = { status: 'invalid', detail, offset, checkedBytes: offset, parts: this.chunks };
    this.phase = 'decided';
    return this.verdict;
  }

  private unsupported(detail: string): void {
    this.verdict = { status: 'unsupported', detail, checkedBytes: this.offset, parts: this.chunks };
    this.phase = 'decided';
  }

  /** Moves bytes into `small` until it holds `count`; returns the rest. */
  private gather(data: Uint8Array, count: number): Uint8Array {
    const take = Math.min(count - this.small.length, data.length);
    for (let i = 0; i < take; i++) this.small.push(data[i]!);
    return data.subarray(take);
  }

  private step(data: Uint8Array): Uint8Array {
    switch (this.phase) {
      case 'signature': {
        const rest = this.gather(data, SIGNATURE.length);
        if (this.small.length < SIGNATURE.length) return rest;
        if (this.small.some((byte, i) => byte !== SIGNATURE[i])) {
          this.invalid('PNG signature is damaged', 0);
          return rest;
        }
        this.small = [];
        this.phase = 'header';
        return rest;
      }
      case 'header': {
        if (this.small.length === 0) this.chunkStart = this.offset;
        const rest = this.gather(data, 8);
        if (this.small.length === 8) this.startChunk();
        return rest;
      }
      case 'data':
        return this.chunkData(data);
      case 'crc': {
        const rest = this.gather(data, 4);
        if (this.small.length === 4) this.endChunk();
        return rest;
      }
      case 'trailing':
        return data.subarray(data.length);
      case 'decided':
        return data.subarray(data.length);
    }
  }

  private startChunk(): void {
    const s = this.small;
    const length = ((s[0]! << 24) | (s[1]! << 16) | (s[2]! << 8) | s[3]!) >>> 0;
    const typeBytes = s.slice(4, 8);
    this.small = [];
    if (length > MAX_CHUNK_LENGTH) return void this.invalid(`PNG chunk ${this.chunks + 1} length is over 2^31`, this.chunkStart);
    if (!typeBytes.every(isLetter)) return void this.invalid(`PNG chunk ${this.chunks + 1} type is not four letters`, this.chunkStart + 4);
    const type = String.fromCharCode(...typeBytes);
    this.chunkType = type;
    if (this.chunks === 0 && type !== 'IHDR') {
      if (type === 'CgBI') return this.unsupported('Apple CgBI PNG (raw deflate, not standard PNG)');
      return void this.invalid('PNG does not start with IHDR', this.chunkStart);
    }
    if (type === 'IHDR' && (this.chunks > 0 || length !== IHDR_LENGTH)) return void this.invalid(this.chunks > 0 ? 'second IHDR chunk' : 'IHDR chunk has a wrong length', this.chunkStart);
    if (type === 'IDAT') {
      if (this.idatState === 'after') return void this.invalid('IDAT chunks are not consecutive', this.chunkStart);
      if (this.idatState === 'before') {
        this.idatState = 'inside';
        this.idatStart = this.chunkStart + 8;
        if (this.budget.remaining > 0) this.inflater = new StreamInflater({ wrapper: 'zlib', verifyAdler: true, budget: this.budget });
        else this.uncheckedFrom ??= this.idatStart;
      }
    } else if (this.idatState === 'inside' && !this.endImageData()) {
      return;
    }
    if (type === 'IEND' && length !== 0) return void this.invalid('IEND chunk has data', this.chunkStart);
    this.crc = crc32(Buffer.from(typeBytes));
    this.chunkLeft = length;
    this.phase = length > 0 ? 'data' : 'crc';
  }

  private chunkData(data: Uint8Array): Uint8Array {
    const take = Math.min(this.chunkLeft, data.length);
    const piece = data.subarray(0, take);
    this.crc = crc32(piece, this.crc);
    this.chunkLeft -= take;
    if (this.chunkType === 'IHDR') for (const byte of piece) this.ihdr.push(byte);
    else if (this.chunkType === 'IDAT' && this.inflater) this.inflate(piece);
    if (this.chunkLeft === 0) this.phase = 'crc';
    return data.subarray(take);
  }

  /** Feeds image data; bytes after the end of the zlib stream are ignored (libpng only warns about them). */
  private inflate(piece: Uint8Array): void {
    const inflater = this.inflater!;
    if (inflater.state === 'running') inflater.push(piece);
  }

  /**
   * Judges the image data so far; called once a chunk's CRC held, so that a damaged chunk is
   * reported as a CRC mismatch however the file was chunked.
   */
  private settleInflater(): boolean {
    const inflater = this.inflater!;
    if (inflater.state === 'failed') {
      this.invalid(inflater.truncated ? 'image data ends before its zlib stream does' : `image data: ${inflater.failure}`, this.idatStart);
      return false;
    }
    if (inflater.state === 'capped') this.uncheckedFrom ??= this.chunkStart;
    return true;
  }

  /** The IDAT run is over: the zlib stream must have ended (unless capped) with all the image's bytes. */
  private endImageData(): boolean {
    this.idatState = 'after';
    const inflater = this.inflater;
    if (!inflater) return true;
    if (inflater.state === 'running') inflater.end();
    if (!this.settleInflater()) return false;
    if (inflater.state === 'ended' && inflater.outputBytes < this.expectedBytes) {
      this.invalid(`image data inflates to ${inflater.outputBytes} bytes, IHDR needs ${this.expectedBytes}`, this.idatStart);
      return false;
    }
    return true;
  }

  private endChunk(): void {
    const s = this.small;
    const stored = ((s[0]! << 24) | (s[1]! << 16) | (s[2]! << 8) | s[3]!) >>> 0;
    this.small = [];
    if (stored !== this.crc >>> 0) return void this.invalid(`CRC-32 mismatch in chunk ${this.chunkType}`, this.chunkStart);
    if (this.chunkType === 'IDAT' && this.inflater) {
      this.inflater.flush();
      if (!this.settleInflater()) return;
    }
    this.chunks++;
    if (this.chunkType === 'IHDR' && !this.checkHeader()) return;
    if (this.chunkType === 'IEND') {
      if (this.idatState === 'before') return void this.invalid('PNG has no image data', this.chunkStart);
      this.phase = 'trailing';
      return;
    }
    this.phase = 'header';
  }

  private checkHeader(): boolean {
    const h = this.ihdr;
    const width = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
    const height = ((h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!) >>> 0;
    const [depth, colorType, compression, filter, interlace] = h.slice(8) as [number, number, number, number, number];
    const bpp = bitsPerPixel(colorType, depth);
    if (width === 0 || height === 0 || width > MAX_CHUNK_LENGTH || height > MAX_CHUNK_LENGTH || bpp === null || compression !== 0 || filter !== 0 || interlace > 1) {
      this.invalid('IHDR has illegal values', this.chunkStart + 8);
      return false;
    }
    this.expectedBytes = expectedImageBytes(width, height, bpp, interlace === 1);
    return true;
  }
}

/** PNG: the 8-byte signature followed by an IHDR (or CgBI) chunk header. */
export const pngValidator: ValidatorDefinition = {
  type: 'png',
  matches(head: Uint8Array): boolean {
    return head.length >= 16 && SIGNATURE.every((byte, i) => head[i] === byte);
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return new PngValidator(limits);
  },
};
