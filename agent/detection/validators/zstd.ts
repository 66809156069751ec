/**
 * zstd (RFC 8878): frames and skippable frames must chain from the first byte to the last; each
 * frame header must be well formed (reserved bit clear, window within bounds), each block
 * header must have a defined type and a size within the block maximum, and the last block must
 * be followed by the content checksum when the frame declares one. Within the decode caps every
 * block is decoded (fzstd, which throws on malformed sequences), the output length is held
 * against the frame's declared content size, and the content checksum (low 32 bits of XXH64)
 * is verified — so any changed byte in a checksummed frame is found. Past a cap, block headers
 * are still walked to the end.
 *
 * Dictionary frames cannot be decoded without their dictionary, and frames whose window is over
 * `ZSTD_MAX_WINDOW` are not decoded (memory): both are walked, not decoded.
 */
import { Decompress } from 'fzstd';
import type { IHasher } from 'hash-wasm';
import { ZSTD_MAX_WINDOW, ZSTD_WORK_FACTOR } from '../../archives/decompress.js';
import type { StructureValidator, StructureVerdict, ValidatorDefinition, ValidatorLimits } from '../validator.js';

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK = 128 * 1024;
const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const;
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const;
/** Window bytes fzstd may shift before the work budget (see decompress.ts) starts counting output. */
const WORK_ALLOWANCE = 2 * 1024 ** 3;

/**
 * One XXH64 instance serves every validator on a thread: hash-wasm creates hashers
 * asynchronously, validators are created synchronously. Whoever hashes next takes the hasher
 * over, saving the previous holder's state — cheap, and safe because updates are synchronous.
 */
class SharedHasher {
  private holder: object | null = null;
  private readonly saved = new WeakMap<object, Uint8Array>();

  constructor(private readonly hasher: IHasher) {}

  /** Starts a fresh hash for `owner`. */
  reset(owner: object): void {
    this.saved.delete(owner);
    if (this.holder === owner) this.hasher.init();
  }

  update(owner: object, data: Uint8Array): void {
    this.take(owner).update(data);
  }

  /** The low 32 bits of the digest, as a frame stores them (little-endian). */
  low32(owner: object): number {
    const digest = this.take(owner).digest('binary');
    // A finished hasher cannot be saved: nobody holds it until the next init().
    this.release(owner);
    return (digest[4]! << 24) | (digest[5]! << 16) | (digest[6]! << 8) | digest[7]!;
  }

  release(owner: object): void {
    this.saved.delete(owner);
    if (this.holder === owner) this.holder = null;
  }

  private take(owner: object): IHasher {
    if (this.holder !== owner) {
      if (this.holder) this.saved.set(this.holder, this.hasher.save());
      const state = this.saved.get(owner);
      if (state) this.hasher.load(state);
      else this.hasher.init();
      this.holder = owner;
    }
    return this.hasher;
  }
}

let sharedHasher: SharedHasher | null = null;

/** A failed check, thrown inside the validator and turned into the verdict. */
class Damage extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

type Phase = 'magic' | 'frame-header' | 'block-header' | 'block-body' | 'checksum' | 'skip-size' | 'skip-body';

class ZstdValidator implements StructureValidator {
  private phase: Phase = 'magic';
  private readonly field = new Uint8Array(18);
  private fieldLength = 0;
  private fieldNeed = 4;
  private position = 0;
  private fieldStart = 0;
  private remaining = 0;
  private frames = 0;
  private failure: Damage | null = null;

  // The frame being walked.
  private checksummed = false;
  private blockMaximum = MAX_BLOCK;
  private contentSize: number | null = null;
  private lastBlock = false;
  private blockType = 0;
  private rawContent = 0;

  // Decoding.
  private decoding = true;
  /** Where decoding stopped for good (a cap, a dictionary, a huge window), or null while it goes on. */
  private decodeStoppedAt: number | null = null;
  private decoder: Decompress | null = null;
  private frameHeader: Uint8Array | null = null;
  private block: Uint8Array = new Uint8Array(0);
  private blockFill = 0;
  private decodedInput = 0;
  private produced = 0;
  private frameProduced = 0;
  private window = 0;
  private work = 0;

  constructor(private readonly limits: ValidatorLimits) {}

  update(chunk: Uint8Array): void {
    if (this.failure) return;
    try {
      this.consume(chunk);
    } catch (error) {
      this.failure = error instanceof Damage ? error : new Damage(`zstd check failed: ${String(error)}`, this.position);
      sharedHasher?.release(this);
    }
  }

  finish(): StructureVerdict {
    sharedHasher?.release(this);
    const checkedBytes = this.decodeStoppedAt ?? this.position;
    if (this.failure) return { status: 'invalid', detail: this.failure.message, offset: this.failure.offset, checkedBytes: Math.min(checkedBytes, this.failure.offset), parts: this.frames };
    if (this.phase !== 'magic' || this.fieldLength !== 0) {
      return { status: 'invalid', detail: `data ends inside frame ${this.frames + 1}`, offset: this.position, checkedBytes, parts: this.frames };
    }
    if (this.frames === 0) return { status: 'invalid', detail: 'no zstd frame', offset: 0, checkedBytes, parts: 0 };
    return { status: 'valid', checkedBytes, parts: this.frames };
  }

  private consume(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.phase === 'block-body' || this.phase === 'skip-body') {
        const take = Math.min(this.remaining, chunk.length - at);
        if (this.phase === 'block-body' && this.decoder) {
          this.block.set(chunk.subarray(at, at + take), this.blockFill);
          this.blockFill += take;
        }
        at += take;
        this.position += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          if (this.phase === 'skip-body') this.expect('magic', 4);
          else this.blockDone();
        }
        continue;
      }
      const take = Math.min(this.fieldNeed - this.fieldLength, chunk.length - at);
      if (this.fieldLength === 0) this.fieldStart = this.position;
      this.field.set(chunk.subarray(at, at + take), this.fieldLength);
      this.fieldLength += take;
      at += take;
      this.position += take;
      if (this.fieldLength === this.fieldNeed) this.fieldDone();
    }
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
        const magic = (field[0]! | (field[1]! << 8) | (field[2]! << 16) | (field[3]! << 24)) >>> 0;
        if (magic === ZSTD_MAGIC) {
          this.phase = 'frame-header';
          this.fieldNeed = 5;
        } else if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
          this.expect('skip-size', 4);
        } else {
          throw new Damage(`unknown frame magic 0x${magic.toString(16)} after ${this.frames} frame(s)`, this.fieldStart);
        }
        return;
      }
      case 'frame-header': {
        const descriptor = field[4]!;
        const singleSegment = (descriptor >> 5) & 1;
        const length = 5 + (singleSegment ? 0 : 1) + DICTIONARY_ID_BYTES[descriptor & 3]! + (CONTENT_SIZE_BYTES[descriptor >> 6]! || singleSegment);
        if (this.fieldNeed < length) {
          this.fieldNeed = length;
          return;
        }
        this.startFrame(descriptor);
        return;
      }
      case 'block-header':
        this.blockHeader();
        return;
      case 'checksum':
        this.endFrame();
        return;
      case 'skip-size':
        this.phase = 'skip-body';
        this.remaining = (field[0]! | (field[1]! << 8) | (field[2]! << 16) | (field[3]! << 24)) >>> 0;
        this.frames += 1;
        if (this.remaining === 0) this.expect('magic', 4);
        return;
      default:
        throw new Error(`unexpected phase ${this.phase}`);
    }
  }

  private startFrame(descriptor: number): void {
    const field = this.field;
    const frameStart = this.position - this.fieldNeed;
    if (descriptor & 8) throw new Damage('reserved frame header bit is set', frameStart + 4);
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
    const dictionary = dictionaryBytes ? Buffer.from(field.buffer, field.byteOffset + at, dictionaryBytes).readUIntLE(0, dictionaryBytes) : 0;
    at += dictionaryBytes;
    const sizeBytes = CONTENT_SIZE_BYTES[descriptor >> 6]! || singleSegment;
    this.contentSize = null;
    if (sizeBytes) {
      const view = Buffer.from(field.buffer, field.byteOffset + at, sizeBytes);
      this.contentSize = sizeBytes === 8 ? Number(view.readBigUInt64LE(0)) : view.readUIntLE(0, sizeBytes) + (sizeBytes === 2 ? 256 : 0);
    }
    if (singleSegment) window = this.contentSize!;
    this.checksummed = (descriptor & 4) !== 0;
    this.window = window;
    this.blockMaximum = Math.min(MAX_BLOCK, window);
    this.frameProduced = 0;
    this.rawContent = 0;
    if (this.decoding && (dictionary !== 0 || window > ZSTD_MAX_WINDOW)) this.stopDecoding(frameStart);
    if (this.decoding) {
      this.frameHeader = field.slice(0, this.fieldNeed);
      this.decoder = new Decompress((data) => {
        if (data.length === 0) return;
        this.produced += data.length;
        this.frameProduced += data.length;
        if (this.checksummed) sharedHasher?.update(this, data);
      });
      sharedHasher?.reset(this);
      if (this.block.length === 0) this.block = new Uint8Array(3 + MAX_BLOCK);
    }
    this.expect('block-header', 3);
  }

  private blockHeader(): void {
    const field = this.field;
    const header = field[0]! | (field[1]! << 8) | (field[2]! << 16);
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw new Damage('reserved block type', this.fieldStart);
    // Raw and RLE sizes are what the block decodes to, so they must also fit the window.
    if (size > MAX_BLOCK || (type !== 2 && size > this.blockMaximum)) {
      throw new Damage(`block of ${size} bytes is over the ${type === 2 ? MAX_BLOCK : this.blockMaximum}-byte block maximum`, this.fieldStart);
    }
    this.lastBlock = (header & 1) === 1;
    this.blockType = type;
    if (type !== 2) this.rawContent += size;
    this.remaining = type === 1 ? 1 : size;
    if (this.decoder && this.decodedInput + 3 + this.remaining > this.limits.maxDecodeBytes) this.stopDecoding(this.fieldStart);
    if (this.decoder) {
      this.block.set(field.subarray(0, 3), 0);
      this.blockFill = 3;
    }
    this.phase = 'block-body';
    if (this.remaining === 0) this.blockDone();
  }

  private blockDone(): void {
    if (this.decoder) this.decodeBlock();
    if (!this.lastBlock) this.expect('block-header', 3);
    else if (this.checksummed) this.expect('checksum', 4);
    else this.endFrame();
  }

  private decodeBlock(): void {
    const blockStart = this.position - this.blockFill;
    const input = this.frameHeader ? concat(this.frameHeader, this.block.subarray(0, this.blockFill)) : this.block.subarray(0, this.blockFill);
    this.frameHeader = null;
    this.decodedInput += input.length;
    try {
      // Whole blocks only: fzstd then decodes at once and keeps no reference to `input`.
      this.decoder!.push(input, false);
    } catch (error) {
      throw new Damage(`block does not decode: ${error instanceof Error ? error.message : String(error)}`, blockStart);
    }
    if (this.contentSize !== null && this.frameProduced > this.contentSize) {
      throw new Damage(`frame decodes to more than its declared ${this.contentSize} bytes`, blockStart);
    }
    this.work += this.window;
    if (this.produced > this.limits.maxOutputBytes || this.work > this.produced * ZSTD_WORK_FACTOR + WORK_ALLOWANCE) this.stopDecoding(this.position);
  }

  private endFrame(): void {
    const end = this.position;
    if (this.decoder) {
      try {
        // fzstd expects the checksum bytes (when the frame has them) and `final` to flush its last block.
        this.decoder.push(this.checksummed ? this.field.slice(0, 4) : new Uint8Array(0), true);
      } catch (error) {
        throw new Damage(`frame does not decode: ${error instanceof Error ? error.message : String(error)}`, end);
      }
      if (this.contentSize !== null && this.frameProduced !== this.contentSize) {
        throw new Damage(`frame decodes to ${this.frameProduced} bytes, not its declared ${this.contentSize}`, end);
      }
      if (this.checksummed && sharedHasher) {
        const f = this.field;
        const stored = f[0]! | (f[1]! << 8) | (f[2]! << 16) | (f[3]! << 24);
        if (sharedHasher.low32(this) !== stored) throw new Damage(`content checksum mismatch in frame ${this.frames + 1}`, this.fieldStart);
      }
    } else if (this.contentSize !== null && this.rawContent > this.contentSize) {
      throw new Damage(`frame's raw blocks hold more than its declared ${this.contentSize} bytes`, end);
    }
    this.decoder = null;
    this.frames += 1;
    this.expect('magic', 4);
  }

  /** Decoding ends for the rest of the entry; the walk goes on. */
  private stopDecoding(at: number): void {
    this.decoding = false;
    this.decoder = null;
    this.frameHeader = null;
    this.decodeStoppedAt ??= at;
    this.block = new Uint8Array(0);
    sharedHasher?.release(this);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function readU32(head: Uint8Array, at: number): number {
  return (head[at]! | (head[at + 1]! << 8) | (head[at + 2]! << 16) | (head[at + 3]! << 24)) >>> 0;
}

/** The zstd validator. Call `prepare()` once per thread: without it content checksums are not verified. */
export const zstdValidator: ValidatorDefinition = {
  type: 'zstd',
  matches(head: Uint8Array): boolean {
    // Skippable frames may come first (pzstd writes one); a zstd frame must follow within the head.
    let at = 0;
    while (at + 4 <= head.length) {
      const magic = readU32(head, at);
      if (magic === ZSTD_MAGIC) return at + 5 > head.length || (head[at + 4]! & 8) === 0;
      if ((magic & 0xfffffff0) >>> 0 !== SKIPPABLE_MAGIC || at + 8 > head.length) return false;
      at += 8 + readU32(head, at + 4);
    }
    return false;
  },
  async prepare(): Promise<void> {
    if (sharedHasher) return;
    const { createXXHash64 } = await import('hash-wasm');
    sharedHasher ??= new SharedHasher(await createXXHash64());
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return new ZstdValidator(limits);
  },
};
