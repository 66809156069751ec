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
 *
 * fzstd shifts its whole window buffer once per block, so decoding costs blocks × window — for a
 * small file compressed with a large window and no content size (`zstd --ultra -22`, `--long`,
 * `tar | zstd` streams) that is gigabytes of copying, and the work cap would stop decoding after
 * a few blocks. The decoder is therefore told the smallest window the frame can need so far: the
 * content size when the header gives it, else 8 MiB, widened (×4, up to the declared window) by
 * decoding the frame again from its start just before its output could outgrow it. No match can
 * reach further back than the output so far, so the smaller window never changes what decodes.
 */
import { Decompress } from 'fzstd';
import type { createXXHash64 as CreateXXHash64, IHasher } from 'hash-wasm';
import {
  ZSTD_MAX_WINDOW,
  ZstdFrameWalker,
  startsLikeZstd,
  zstdChecksumMatches,
  zstdWorkExceeded,
  type ZstdBlockHeader,
  type ZstdFrameHeader,
  type ZstdFrameSink,
} from '../../archives/zstd-frame.js';
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { concatBytes } from './bytes.js';
import { Damage, guardedValidator, stopVerdict, type FormatWalk, type Stop } from './validator-kit.js';

/** Largest block content, and so the buffer a block is gathered in. */
const MAX_BLOCK = 128 * 1024;
/** The window a frame without a content size is first decoded with (when it declares a larger one). */
const FIRST_DECODE_WINDOW = 8 * 1024 * 1024;
/** Log2 of the smallest window a window descriptor can state. */
const MIN_WINDOW_LOG = 10;

/** Whether the frame header (magic included) sets Single_Segment_flag: no window descriptor, the window is the content size. */
function singleSegment(header: Uint8Array): boolean {
  return (header[4]! & 0x20) !== 0;
}

/** The smallest power-of-two window of at least `bytes` that a window descriptor can state, and its descriptor byte. */
function descriptorFor(bytes: number): { window: number; descriptor: number } {
  const log = Math.max(MIN_WINDOW_LOG, Math.ceil(Math.log2(Math.max(1, bytes))));
  return { window: 2 ** log, descriptor: (log - MIN_WINDOW_LOG) << 3 };
}

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

  /** The digest of what `owner` hashed (big-endian, as hash-wasm gives it). */
  digest(owner: object): Uint8Array {
    const digest = this.take(owner).digest('binary');
    // A finished hasher cannot be saved: nobody holds it until the next init().
    this.release(owner);
    return digest;
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

/**
 * hash-wasm's build of XXH64 alone (its package, pinned, ships one per algorithm): loading the
 * whole package parses every algorithm's WebAssembly, tens of milliseconds in each thread that
 * detects, before its first entry. A variable, so that TypeScript does not look for its types.
 */
const XXHASH64_BUILD: string = 'hash-wasm/dist/xxhash64.umd.min.js';

/** Decodes what the frame walk hands over, block by block, within the caps. */
class ZstdValidator implements FormatWalk, ZstdFrameSink {
  private readonly walker = new ZstdFrameWalker(this);

  // The frame being walked.
  private checksummed = false;
  private contentSize: number | null = null;
  private rawContent = 0;

  // Decoding.
  private decoding = true;
  /** Where decoding stopped for good (a cap, a dictionary, a huge window), or null while it goes on. */
  private decodeStoppedAt: number | null = null;
  private decoder: Decompress | null = null;
  private frameHeaderBytes: Uint8Array | null = null;
  private block: Uint8Array = new Uint8Array(0);
  private blockFill = 0;
  private decodedInput = 0;
  private produced = 0;
  private frameProduced = 0;
  private window = 0;
  /** The window the decoder was told (≤ `window`, see the module comment). */
  private decodeWindow = 0;
  /** The frame's input so far (header and whole blocks), kept while the decoder's window may still have to grow. */
  private frameInputs: Uint8Array[] | null = null;
  /** The frame's own window descriptor byte. */
  private declaredDescriptor = 0;
  private work = 0;

  constructor(private readonly limits: ValidatorLimits) {}

  update(chunk: Uint8Array): void {
    this.walker.feed(chunk);
  }

  finish(): StructureVerdict {
    sharedHasher?.release(this);
    const walker = this.walker;
    const parts = this.frames;
    if (!walker.betweenFrames) throw new Damage(`data ends inside frame ${parts + 1}`, walker.position);
    if (parts === 0) throw new Damage('no zstd frame', 0);
    return { status: 'valid', checkedBytes: this.checkedBytes, parts };
  }

  stopped(stop: Stop): StructureVerdict {
    sharedHasher?.release(this);
    return stopVerdict(
      stop,
      stop.status === 'invalid' ? Math.min(this.checkedBytes, stop.offset) : this.checkedBytes,
      { parts: this.frames },
    );
  }

  /** Frames walked, skippable ones included. */
  private get frames(): number {
    return this.walker.frames + this.walker.skippableFrames;
  }

  private get checkedBytes(): number {
    return this.decodeStoppedAt ?? this.walker.position;
  }

  damaged(message: string, offset: number): Error {
    return new Damage(message, offset);
  }

  frameHeader(header: ZstdFrameHeader, at: number): void {
    this.contentSize = header.contentSize;
    this.checksummed = header.checksummed;
    this.window = header.window;
    this.frameProduced = 0;
    this.rawContent = 0;
    if (this.decoding && (header.dictionary !== 0 || header.window > ZSTD_MAX_WINDOW)) this.stopDecoding(at);
    if (this.decoding) {
      this.frameHeaderBytes = header.bytes.slice();
      this.decodeWindow = header.window;
      this.frameInputs = null;
      if (!singleSegment(this.frameHeaderBytes)) {
        const needed = descriptorFor(Math.min(header.window, header.contentSize ?? FIRST_DECODE_WINDOW));
        if (needed.window < header.window) {
          this.declaredDescriptor = this.frameHeaderBytes[5]!;
          this.frameHeaderBytes[5] = needed.descriptor;
          this.decodeWindow = needed.window;
          // With a content size the output can never outgrow it (more output is damage, caught below).
          if (header.contentSize === null) this.frameInputs = [];
        }
      }
      this.startDecoder();
      if (this.block.length === 0) this.block = new Uint8Array(3 + MAX_BLOCK);
    }
  }

  /** A fresh decoder (and content hash) for the frame being walked. */
  private startDecoder(): void {
    this.decoder = new Decompress((data) => {
      if (data.length === 0) return;
      this.produced += data.length;
      this.frameProduced += data.length;
      if (this.checksummed) sharedHasher?.update(this, data);
    });
    sharedHasher?.reset(this);
  }

  /** Decodes the frame again from its start with a 4× window (at most the declared one). */
  private widenWindow(): void {
    const inputs = this.frameInputs!;
    const wider = descriptorFor(Math.min(this.window, this.decodeWindow * 4));
    const header = inputs[0]!;
    if (wider.window >= this.window) {
      // The declared window at last: nothing can outgrow it, so nothing more is kept.
      header[5] = this.declaredDescriptor;
      this.decodeWindow = this.window;
      this.frameInputs = null;
    } else {
      header[5] = wider.descriptor;
      this.decodeWindow = wider.window;
    }
    this.produced -= this.frameProduced;
    this.frameProduced = 0;
    this.startDecoder();
    for (const input of inputs) {
      this.decoder!.push(input, false);
      this.work += this.decodeWindow;
    }
  }

  blockHeader(block: ZstdBlockHeader, at: number): void {
    if (block.type !== 'compressed') this.rawContent += block.size;
    if (this.decoder && this.decodedInput + 3 + block.contentBytes > this.limits.maxDecodeBytes)
      this.stopDecoding(at);
    if (this.decoder) {
      this.block.set(block.bytes, 0);
      this.blockFill = 3;
    }
  }

  blockContent(bytes: Uint8Array): void {
    if (!this.decoder) return;
    this.block.set(bytes, this.blockFill);
    this.blockFill += bytes.length;
  }

  blockEnd(): void {
    if (this.decoder) this.decodeBlock();
  }

  private decodeBlock(): void {
    const position = this.walker.position;
    const blockStart = position - this.blockFill;
    const block = this.block.subarray(0, this.blockFill);
    const input = this.frameHeaderBytes ? concatBytes(this.frameHeaderBytes, block) : block;
    this.frameHeaderBytes = null;
    this.decodedInput += input.length;
    try {
      if (this.frameInputs && this.frameProduced + MAX_BLOCK > this.decodeWindow) this.widenWindow();
      // `block` is reused for the next block: a kept input must be a copy (the header's already is).
      this.frameInputs?.push(input === block ? block.slice() : input);
      // Whole blocks only: fzstd then decodes at once and keeps no reference to `input`.
      this.decoder!.push(input, false);
    } catch (error) {
      throw new Damage(
        `block does not decode: ${error instanceof Error ? error.message : String(error)}`,
        blockStart,
        { cause: error },
      );
    }
    if (this.contentSize !== null && this.frameProduced > this.contentSize) {
      throw new Damage(`frame decodes to more than its declared ${this.contentSize} bytes`, blockStart);
    }
    this.work += this.decodeWindow;
    if (this.produced > this.limits.maxOutputBytes || zstdWorkExceeded(this.work, this.produced))
      this.stopDecoding(position);
  }

  frameEnd(checksum: Uint8Array | null): void {
    const end = this.walker.position;
    if (this.decoder) {
      try {
        // fzstd expects the checksum bytes (when the frame has them) and `final` to flush its last block.
        this.decoder.push(checksum ? checksum.slice() : new Uint8Array(0), true);
      } catch (error) {
        throw new Damage(
          `frame does not decode: ${error instanceof Error ? error.message : String(error)}`,
          end,
          { cause: error },
        );
      }
      if (this.contentSize !== null && this.frameProduced !== this.contentSize) {
        throw new Damage(
          `frame decodes to ${this.frameProduced} bytes, not its declared ${this.contentSize}`,
          end,
        );
      }
      if (checksum && sharedHasher && !zstdChecksumMatches(sharedHasher.digest(this), checksum)) {
        throw new Damage(`content checksum mismatch in frame ${this.frames + 1}`, end - checksum.length);
      }
    } else if (this.contentSize !== null && this.rawContent > this.contentSize) {
      throw new Damage(`frame's raw blocks hold more than its declared ${this.contentSize} bytes`, end);
    }
    this.decoder = null;
    this.frameInputs = null;
  }

  /** Decoding ends for the rest of the entry; the walk goes on. */
  private stopDecoding(at: number): void {
    this.decoding = false;
    this.decoder = null;
    this.frameHeaderBytes = null;
    this.frameInputs = null;
    this.decodeStoppedAt ??= at;
    this.block = new Uint8Array(0);
    sharedHasher?.release(this);
  }
}

/** The zstd validator. Call `prepare()` once per thread: without it content checksums are not verified. */
export const zstdValidator: ValidatorDefinition = {
  type: 'zstd',
  matches: startsLikeZstd,
  async prepare(): Promise<void> {
    if (sharedHasher) return;
    const { createXXHash64 } = (
      (await import(XXHASH64_BUILD)) as { default: { createXXHash64: typeof CreateXXHash64 } }
    ).default;
    sharedHasher ??= new SharedHasher(await createXXHash64());
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new ZstdValidator(limits));
  },
};
