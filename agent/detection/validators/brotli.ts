/**
 * Brotli (RFC 7932) has no magic bytes, so it is never recognised by its head alone: the probe
 * runs this validator when a file's name claims brotli (`.br`) and nothing else matched, or when
 * nothing recognised an entry and its head decodes as brotli so far (`sniff`). Brotli
 * output looks exactly like ciphertext, and web assets are routinely stored precompressed, so
 * without decoding, every `.br` file would look encrypted.
 *
 * Node has no synchronous streaming brotli decoder, so the entry is held (up to the decode cap)
 * and decoded once in `finish()`; a larger file is `unsupported` (not checked) rather than
 * guessed at. Decoding stops at the output cap (a bomb is not an error, just not checked further).
 */
import { brotliDecompressSync } from 'node:zlib';
import type { StructureVerdict, ValidatorDefinition, ValidatorLimits } from '../validator.js';
import {
  Damage,
  guardedValidator,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

/**
 * True when a stream that decoded needs its last byte: the decoder stops at the end of the brotli
 * stream and ignores what follows, and one random byte in a few already encodes a whole (empty)
 * stream, so "it decoded" alone would take ciphertext for brotli.
 */
function endsAtLastByte(data: Buffer, maxOutputLength: number): boolean {
  if (data.length === 0) return false;
  try {
    brotliDecompressSync(data.subarray(0, data.length - 1), { maxOutputLength });
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return (
      code === 'Z_BUF_ERROR' || code === 'ERR_BUFFER_TOO_LARGE' || (error as RangeError).name === 'RangeError'
    );
  }
}

/** Output a sniff decodes at most: enough to see the head decode, cheap for a bomb. */
const SNIFF_OUTPUT_BYTES = 4 * 2 ** 20;

class BrotliValidator implements FormatWalk {
  private readonly chunks: Uint8Array[] = [];
  private held = 0;
  private tooLarge = false;

  constructor(private readonly limits: ValidatorLimits) {}

  update(chunk: Uint8Array): void {
    if (this.held + chunk.length > this.limits.maxDecodeBytes) {
      this.tooLarge = true;
      this.chunks.length = 0;
      throw new Unsupported(
        `brotli stream over the ${this.limits.maxDecodeBytes}-byte decode cap was not checked`,
      );
    }
    // Copied: the caller's chunk may be a view into reused memory.
    this.chunks.push(chunk.slice());
    this.held += chunk.length;
  }

  finish(): StructureVerdict {
    const data = Buffer.concat(this.chunks);
    try {
      brotliDecompressSync(data, { maxOutputLength: this.limits.maxOutputBytes });
      if (!endsAtLastByte(data, this.limits.maxOutputBytes))
        throw new Damage('brotli stream ends before the file does (the rest is not brotli)', 0);
      return { status: 'valid', checkedBytes: data.length };
    } catch (error) {
      if (error instanceof Damage) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      // Output over the cap means the data decoded that far: not damage.
      if (code === 'ERR_BUFFER_TOO_LARGE' || (error as RangeError).name === 'RangeError') {
        return { status: 'valid', checkedBytes: 0, detail: 'decoded up to the output cap' };
      }
      // zlib reports bad data with a code (Z_BUF_ERROR, ERR__ERROR_FORMAT_…); anything else is not about the bytes.
      if (typeof code !== 'string') throw error;
      throw new Damage(`brotli stream does not decode: ${(error as Error).message}`, 0, { cause: error });
    }
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, this.tooLarge ? 0 : this.held);
  }
}

/** Brotli, run only when a name claims it (see content-probe.ts). */
export const brotliValidator: ValidatorDefinition = {
  type: 'brotli',
  // No magic: never claimed by head.
  matches: () => false,
  sniff: (head) => {
    if (head.length < 16) return false;
    try {
      brotliDecompressSync(head, { maxOutputLength: SNIFF_OUTPUT_BYTES });
      // A whole stream in the head: it must use every byte of it (a short file), or it is not brotli.
      return endsAtLastByte(Buffer.from(head.buffer, head.byteOffset, head.length), SNIFF_OUTPUT_BYTES);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Cut short by the head's end or by the output cap: it decoded as far as it went.
      return (
        code === 'Z_BUF_ERROR' ||
        code === 'ERR_BUFFER_TOO_LARGE' ||
        (error as RangeError).name === 'RangeError'
      );
    }
  },
  create: (_size, limits) => guardedValidator(new BrotliValidator(limits)),
};
