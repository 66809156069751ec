import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { constants, deflateRawSync } from 'node:zlib';
import { Inflate } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeflateDecoder } from '../../../agent/detection/validators/deflate-decoder.js';
import { findMachineFiles } from '../../helpers/machine-files.js';

/** What decoding a stream in given pieces gave: the output, where it failed and why, and the bytes after its end. */
interface Outcome {
  output: string;
  outputBytes: number;
  /** Index of the piece whose push threw, and the message. */
  failed: [number, string] | null;
  /** Unread input after the final block, once the stream ended. */
  after: string | null;
  /** fflate only: it dropped output (see deflate-decoder.ts), so the decoder rightly differs. */
  dropped?: boolean;
}

const digest = (parts: Uint8Array[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

/** The reference: fflate's streaming Inflate, the decoder the validators used before, fed the same pieces. */
function withFflate(pieces: Uint8Array[]): Outcome {
  const parts: Uint8Array[] = [];
  let outputBytes = 0;
  let dropped = false;
  let before = 0;
  const inflate = new Inflate((data) => {
    parts.push(data.slice());
    outputBytes += data.length;
    // fflate's own count of what the push decoded, against what it hands on.
    if (data.length !== (state.s.b ?? 0) - before) dropped = true;
  });
  const state = inflate as unknown as {
    s: { f?: number; l?: unknown; p?: number; b?: number };
    p: Uint8Array;
  };
  let failed: Outcome['failed'] = null;
  let after: string | null = null;
  for (const [index, piece] of pieces.entries()) {
    before = state.s.b ?? 0;
    try {
      inflate.push(piece);
    } catch (error) {
      failed = [index, (error as Error).message];
      break;
    }
    if (state.s.f && !state.s.l) {
      after = Buffer.from(state.p.subarray(((state.s.p ?? 0) + 7) >> 3)).toString('hex');
      break;
    }
  }
  return { output: digest(parts), outputBytes, failed, after, ...(dropped ? { dropped } : {}) };
}

function withDecoder(pieces: Uint8Array[]): Outcome {
  const parts: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let outputBytes = 0;
  let pendingBytes = 0;
  const decoder = new DeflateDecoder((data) => {
    pending.push(data.slice());
    pendingBytes += data.length;
  });
  let failed: Outcome['failed'] = null;
  let after: string | null = null;
  for (const [index, piece] of pieces.entries()) {
    pending = [];
    pendingBytes = 0;
    try {
      decoder.push(piece);
    } catch (error) {
      // Output of a push that fails is not counted (fflate hands none of it on).
      failed = [index, (error as Error).message];
      break;
    }
    parts.push(...pending);
    outputBytes += pendingBytes;
    const ended = decoder.ended();
    if (ended !== null) {
      after = Buffer.from(ended).toString('hex');
      break;
    }
  }
  decoder.release();
  return { output: digest(parts), outputBytes, failed, after };
}

/** Deterministic pseudo-random numbers. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** `stream` cut into pieces of varied sizes (1 byte to 64 KiB), as the validators' inflater hands them on. */
function cut(stream: Uint8Array, next: () => number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < stream.length;) {
    const r = next();
    const size =
      r < 0.3
        ? 1 + Math.floor(next() * 64)
        : r < 0.8
          ? 1 + Math.floor(next() * 32 * 1024)
          : 1 + Math.floor(next() * 64 * 1024);
    pieces.push(stream.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

const streams: { name: string; data: Uint8Array }[] = [];

beforeAll(() => {
  const sources = findMachineFiles({
    name: (name) => /\.(txt|html|py|so|png|json)$/.test(name) || name.endsWith('.so.6'),
    minSize: 20_000,
    maxSize: 3 * 2 ** 20,
    limit: 12,
  });
  const inputs = sources.map((file) => readFileSync(file.path));
  // Repetitive data: long matches, runs with distance 1, and output that fills the window many times over.
  inputs.push(Buffer.alloc(3 * 2 ** 20, 0x61));
  inputs.push(Buffer.from(Array.from({ length: 400_000 }, (_, i) => (i * 7) % 251)));
  const strategies: [string, object][] = [
    ['default', {}],
    ['level 1', { level: 1 }],
    ['level 9', { level: 9 }],
    ['stored', { level: 0 }],
    ['fixed Huffman', { strategy: constants.Z_FIXED }],
    ['Huffman only', { strategy: constants.Z_HUFFMAN_ONLY }],
    ['run-length', { strategy: constants.Z_RLE }],
  ];
  inputs.forEach((input, i) => {
    for (const [label, options] of strategies) {
      if (streams.length < 40 || i % 3 === 0)
        streams.push({
          name: `${sources[i]?.path ?? `generated ${i}`} (${label})`,
          data: deflateRawSync(input, options),
        });
    }
  });
});

describe('deflate decoder', () => {
  it('has real deflate streams of every block type to check', () => {
    expect(streams.length).toBeGreaterThanOrEqual(40);
  });

  it('decodes intact streams as fflate does, wherever the pieces are cut, and finds where they end', () => {
    const next = random(1);
    const differences: string[] = [];
    for (const { name, data } of streams) {
      // Trailing bytes after the stream must come back as what follows it.
      const framed = Buffer.concat([data, Buffer.from('TRAILER-after-the-deflate-stream')]);
      for (let round = 0; round < 3; round++) {
        const pieces = cut(framed, next);
        const expected = withFflate(pieces);
        const actual = withDecoder(pieces);
        if (expected.failed || expected.after === null) differences.push(`${name}: fflate did not decode it`);
        if (JSON.stringify(actual) !== JSON.stringify(expected))
          differences.push(
            `${name} round ${round}: ${JSON.stringify(actual)} vs fflate ${JSON.stringify(expected)}`,
          );
      }
    }
    expect(differences).toEqual([]);
  });

  it('fails on damaged and random streams exactly where and how fflate fails, with the same output before', () => {
    const next = random(2);
    const differences: string[] = [];
    let failures = 0;
    let dropped = 0;
    const messages = new Set<string>();
    for (const { name, data } of streams) {
      for (let round = 0; round < 12; round++) {
        const damaged = Buffer.from(data);
        const kind = round % 4;
        if (kind === 0) {
          // A few flipped bytes.
          for (let k = 0; k < 1 + Math.floor(next() * 4); k++)
            damaged[Math.floor(next() * damaged.length)]! ^= 1 + Math.floor(next() * 255);
        } else if (kind === 1) {
          // A stretch overwritten with random bytes (intermittent encryption).
          const at = Math.floor(next() * damaged.length);
          for (let k = at; k < Math.min(damaged.length, at + 16 + Math.floor(next() * 4096)); k++)
            damaged[k] = Math.floor(next() * 256);
        } else if (kind === 2) {
          // Random bytes from the start on, after a valid first block header bit pattern or not.
          for (let k = Math.floor(next() * 8); k < damaged.length; k++) damaged[k] = Math.floor(next() * 256);
        } else {
          // Cut short.
          damaged.fill(0, Math.floor(next() * damaged.length));
        }
        const pieces = cut(damaged, next);
        const expected = withFflate(pieces);
        const actual = withDecoder(pieces);
        if (expected.failed) {
          failures++;
          messages.add(expected.failed[1]);
        }
        if (expected.dropped) {
          // fflate lost output here; the decoder must have decoded more, not failed differently.
          dropped++;
          if (
            actual.outputBytes <= expected.outputBytes ||
            JSON.stringify(actual.failed) !== JSON.stringify(expected.failed)
          )
            differences.push(
              `${name} damage ${kind} round ${round}: fflate dropped output, decoder ${JSON.stringify(actual)}`,
            );
          continue;
        }
        if (JSON.stringify(actual) !== JSON.stringify(expected))
          differences.push(
            `${name} damage ${kind} round ${round}: ${JSON.stringify(actual)} vs fflate ${JSON.stringify(expected)}`,
          );
      }
    }
    expect(differences).toEqual([]);
    // The comparison reached every way a stream fails, and fflate's lost output is rare.
    expect(failures).toBeGreaterThan(100);
    expect(dropped).toBeLessThan(failures / 10);
    expect([...messages].sort()).toEqual([
      'invalid block type',
      'invalid distance',
      'invalid length/literal',
    ]);
  });

  it('decodes distance codes 30 and 31, which no valid stream uses, as fflate does at every push boundary', () => {
    // Fixed-Huffman blocks whose literals fill the window, then a match with distance code 30 or 31.
    const differences: string[] = [];
    const next = random(3);
    for (const code of [30, 31]) {
      for (let round = 0; round < 20; round++) {
        const stream = fixedBlockWithDistanceCode(33_000 + Math.floor(next() * 40_000), code);
        const pieces = cut(stream, next);
        const expected = withFflate(pieces);
        const actual = withDecoder(pieces);
        if (JSON.stringify(actual) !== JSON.stringify(expected))
          differences.push(
            `code ${code} round ${round}: ${JSON.stringify(actual)} vs fflate ${JSON.stringify(expected)}`,
          );
      }
    }
    expect(differences).toEqual([]);
  });
});

/** Writes bits least significant first, as deflate does. */
class BitWriter {
  private bytes: number[] = [];
  private bit = 0;
  write(value: number, count: number): void {
    for (let i = 0; i < count; i++) {
      if (this.bit === 0) this.bytes.push(0);
      this.bytes[this.bytes.length - 1]! |= ((value >> i) & 1) << this.bit;
      this.bit = (this.bit + 1) & 7;
    }
  }
  /** A Huffman code, most significant bit first. */
  code(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.write((value >> i) & 1, 1);
  }
  get data(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** One final fixed-Huffman block: `literals` literal bytes, a length-3 match with distance code `code`, then more literals and the end of the block. */
function fixedBlockWithDistanceCode(literals: number, code: number): Uint8Array {
  const w = new BitWriter();
  w.write(1, 1);
  w.write(1, 2);
  const literal = (byte: number) => (byte < 144 ? w.code(0x30 + byte, 8) : w.code(0x190 + byte - 144, 9));
  for (let i = 0; i < literals; i++) literal(0x41 + (i % 26));
  w.code(1, 7); // length code 257: length 3
  w.code(code, 5); // distance code 30 or 31: no extra bits in fflate's tables
  for (let i = 0; i < 10; i++) literal(0x61);
  w.code(0, 7); // end of block
  return w.data;
}
