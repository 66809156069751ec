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
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { u32be } from './bytes.js';
import { DecodeBudget, StreamInflater } from './inflate-check.js';
import {
  Damage,
  guardedValidator,
  StepWalk,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_CHUNK_LENGTH = 2 ** 31 - 1;
const IHDR_LENGTH = 13;
/** Image data held to be inflated in one go (see PngValidator.pending). */
const MAX_PENDING_BYTES = 4 * 2 ** 20;
/** Most bytes one byte of deflate data can inflate to. */
const MAX_DEFLATE_RATIO = 1032;
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
  for (const [x0, dx, y0, dy] of passes)
    total += rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy));
  return total;
}

const isLetter = (byte: number): boolean => (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);

type Phase = 'signature' | 'header' | 'data' | 'crc' | 'trailing';

/** Chunks with a bad CRC beyond which damage is no longer bit rot. */
const MAX_LOCALIZED_MISMATCHES = 2;

class PngValidator extends StepWalk implements FormatWalk {
  private phase: Phase = 'signature';
  private small: number[] = [];
  private chunks = 0;
  private chunkStart = 0;
  private chunkType = '';
  private chunkLeft = 0;
  private chunkLength = 0;
  private crc = 0;
  /** IHDR data, gathered for its checks. */
  private ihdr: number[] = [];
  private expectedBytes = 0;
  private idatState: 'before' | 'inside' | 'after' = 'before';
  private inflater: StreamInflater | null = null;
  /**
   * Image data of the IDAT chunks whose CRC held, not yet given to the inflater: the run is
   * inflated in one go when it ends, so a stream split over many chunks (libpng writes 8 KiB
   * ones) still decodes natively in one call instead of piece by piece in JavaScript. At most
   * MAX_PENDING_BYTES are held; past that they are inflated as they come, as before.
   */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** The current IDAT chunk's data, until its CRC is checked. */
  private current: Uint8Array[] = [];
  private idatStart = 0;
  private uncheckedFrom: number | null = null;
  /** Chunks whose CRC-32 failed while the chunk framing held (bit rot), and their bytes. */
  private mismatches: { type: string; start: number }[] = [];
  private mismatchedBytes = 0;

  constructor(private readonly budget: DecodeBudget) {
    super();
  }

  update(chunk: Uint8Array): void {
    this.walkSteps(chunk);
  }

  finish(): StructureVerdict {
    if (this.phase !== 'trailing') {
      const where =
        this.phase === 'signature'
          ? 'inside the signature'
          : this.chunks === 0
            ? 'before IHDR'
            : `inside chunk ${this.chunks + 1}${this.chunkType ? ` (${this.chunkType})` : ''}`;
      throw new Damage(`PNG ends ${where}, before IEND`, this.offset);
    }
    const first = this.mismatches[0];
    if (first) {
      const more =
        this.mismatches.length > 1
          ? ` (and ${this.mismatches.length - 1} more chunk${this.mismatches.length > 2 ? 's' : ''})`
          : '';
      throw new Damage(
        `CRC-32 mismatch in chunk ${first.type}${more}; every chunk's framing holds to IEND`,
        first.start,
        { localized: { damagedBytes: this.mismatchedBytes } },
      );
    }
    return { status: 'valid', checkedBytes: this.uncheckedFrom ?? this.offset, parts: this.chunks };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.offset, { parts: this.chunks });
  }

  /** Moves bytes into `small` until it holds `count`; returns the rest. */
  private gather(data: Uint8Array, count: number): Uint8Array {
    const take = Math.min(count - this.small.length, data.length);
    for (let i = 0; i < take; i++) this.small.push(data[i]!);
    return data.subarray(take);
  }

  protected step(data: Uint8Array): Uint8Array {
    switch (this.phase) {
      case 'signature': {
        const rest = this.gather(data, SIGNATURE.length);
        if (this.small.length < SIGNATURE.length) return rest;
        if (this.small.some((byte, i) => byte !== SIGNATURE[i]))
          throw new Damage('PNG signature is damaged', 0);
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
    }
  }

  private startChunk(): void {
    const s = this.small;
    const length = u32be(s, 0);
    const typeBytes = s.slice(4, 8);
    this.small = [];
    if (length > MAX_CHUNK_LENGTH)
      throw new Damage(`PNG chunk ${this.chunks + 1} length is over 2^31`, this.chunkStart);
    if (!typeBytes.every(isLetter))
      throw new Damage(`PNG chunk ${this.chunks + 1} type is not four letters`, this.chunkStart + 4);
    const type = String.fromCharCode(...typeBytes);
    this.chunkType = type;
    if (this.chunks === 0 && type !== 'IHDR') {
      if (type === 'CgBI') throw new Unsupported('Apple CgBI PNG (raw deflate, not standard PNG)');
      throw new Damage('PNG does not start with IHDR', this.chunkStart);
    }
    if (type === 'IHDR' && (this.chunks > 0 || length !== IHDR_LENGTH))
      throw new Damage(
        this.chunks > 0 ? 'second IHDR chunk' : 'IHDR chunk has a wrong length',
        this.chunkStart,
      );
    if (type === 'IDAT') {
      if (this.idatState === 'after') throw new Damage('IDAT chunks are not consecutive', this.chunkStart);
      if (this.idatState === 'before') {
        this.idatState = 'inside';
        this.idatStart = this.chunkStart + 8;
        if (this.budget.remaining > 0)
          this.inflater = new StreamInflater({ wrapper: 'zlib', verifyAdler: true, budget: this.budget });
        else this.uncheckedFrom ??= this.idatStart;
      }
    } else if (this.idatState === 'inside') {
      this.endImageData();
    }
    if (type === 'IEND' && length !== 0) throw new Damage('IEND chunk has data', this.chunkStart);
    this.crc = crc32(Buffer.from(typeBytes));
    this.chunkLeft = length;
    this.chunkLength = length;
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

  /** Holds image data until its chunk's CRC is checked (the caller may reuse `piece`'s memory). */
  private inflate(piece: Uint8Array): void {
    if (piece.length > 0) this.current.push(piece.slice());
  }

  /**
   * Image data that may be held: no more than the caps could let through, so that a cap stops
   * inflating in the same chunk as when every chunk was inflated at its end (deflate expands at
   * most 1032:1).
   */
  private pendingLimit(): number {
    const output = this.budget.limits.maxOutputBytes - (this.inflater?.outputBytes ?? 0);
    return Math.min(MAX_PENDING_BYTES, this.budget.remaining, Math.floor(output / MAX_DEFLATE_RATIO));
  }

  /**
   * Gives the held image data of CRC-checked chunks to the inflater and judges it; bytes after
   * the end of the zlib stream are ignored (libpng only warns about them).
   */
  private drainPending(): void {
    const inflater = this.inflater!;
    const pending = this.pending;
    this.pending = [];
    const length = this.pendingBytes;
    this.pendingBytes = 0;
    if (pending.length === 0 || inflater.state !== 'running') return;
    if (pending.length === 1) inflater.push(pending[0]!);
    else {
      const whole = new Uint8Array(length);
      let at = 0;
      for (const part of pending) {
        whole.set(part, at);
        at += part.length;
      }
      inflater.push(whole);
    }
    inflater.flush();
    this.settleInflater();
  }

  /**
   * Judges the image data so far; called once a chunk's CRC held, so that a damaged chunk is
   * reported as a CRC mismatch however the file was chunked.
   */
  private settleInflater(): void {
    const inflater = this.inflater!;
    if (inflater.state === 'failed')
      throw new Damage(
        inflater.truncated
          ? 'image data ends before its zlib stream does'
          : `image data: ${inflater.failure}`,
        this.idatStart,
      );
    if (inflater.state === 'capped') this.uncheckedFrom ??= this.chunkStart;
  }

  /** The IDAT run is over: the zlib stream must have ended (unless capped) with all the image's bytes. */
  private endImageData(): void {
    this.idatState = 'after';
    const inflater = this.inflater;
    if (!inflater) return;
    this.drainPending();
    if (inflater.state === 'running') inflater.end();
    this.settleInflater();
    if (inflater.state === 'ended' && inflater.outputBytes < this.expectedBytes) {
      throw new Damage(
        `image data inflates to ${inflater.outputBytes} bytes, IHDR needs ${this.expectedBytes}`,
        this.idatStart,
      );
    }
  }

  private endChunk(): void {
    const stored = u32be(this.small, 0);
    this.small = [];
    if (stored !== this.crc >>> 0) {
      // Encryption breaks the framing of the chunks after it; bit rot leaves it whole. Walk on
      // to tell the two apart, without judging the damaged bytes (nor image data after them).
      if (this.mismatches.length >= MAX_LOCALIZED_MISMATCHES || this.chunkType === 'IHDR')
        throw new Damage(
          `CRC-32 mismatch in chunk ${this.chunkType}`,
          this.mismatches[0]?.start ?? this.chunkStart,
        );
      this.mismatches.push({ type: this.chunkType, start: this.chunkStart });
      this.mismatchedBytes += 12 + this.chunkLength;
      if (this.chunkType === 'IDAT' && this.inflater) {
        // The image data before this chunk is judged as it would have been chunk by chunk.
        this.current = [];
        this.drainPending();
        this.inflater = null;
        this.uncheckedFrom ??= this.chunkStart;
      }
    }
    if (this.chunkType === 'IDAT' && this.inflater) {
      for (const part of this.current) {
        this.pending.push(part);
        this.pendingBytes += part.length;
      }
      this.current = [];
      if (this.pendingBytes > this.pendingLimit()) this.drainPending();
    }
    this.chunks++;
    if (this.chunkType === 'IHDR') this.checkHeader();
    if (this.chunkType === 'IEND') {
      if (this.idatState === 'before') throw new Damage('PNG has no image data', this.chunkStart);
      this.phase = 'trailing';
      return;
    }
    this.phase = 'header';
  }

  private checkHeader(): void {
    const h = this.ihdr;
    const width = u32be(h, 0);
    const height = u32be(h, 4);
    const [depth, colorType, compression, filter, interlace] = h.slice(8) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const bpp = bitsPerPixel(colorType, depth);
    if (
      width === 0 ||
      height === 0 ||
      width > MAX_CHUNK_LENGTH ||
      height > MAX_CHUNK_LENGTH ||
      bpp === null ||
      compression !== 0 ||
      filter !== 0 ||
      interlace > 1
    ) {
      throw new Damage('IHDR has illegal values', this.chunkStart + 8);
    }
    this.expectedBytes = expectedImageBytes(width, height, bpp, interlace === 1);
  }
}

/** PNG: the 8-byte signature followed by an IHDR (or CgBI) chunk header. */
export const pngValidator: ValidatorDefinition = {
  type: 'png',
  matches(head: Uint8Array): boolean {
    return head.length >= 16 && SIGNATURE.every((byte, i) => head[i] === byte);
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new PngValidator(new DecodeBudget(limits)));
  },
};
