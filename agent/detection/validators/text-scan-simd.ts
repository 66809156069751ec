/**
 * The text validator's hot loop — find the bytes text does not contain and count UTF-8 lead
 * bytes — in WebAssembly SIMD, 16 bytes per step. In JavaScript the same scan, four bytes at a
 * time, was the largest item of a worker's profile on text (~0.4 s per GiB, issue 13); here it
 * runs at memory speed. The caller checks UTF-8 validity first (`isUtf8`, native).
 *
 * The module is assembled below from its opcodes (a few hundred bytes; no toolchain, no binary
 * file in the repository). Where WebAssembly SIMD is missing, `simdTextScanner()` answers null
 * and the caller keeps its JavaScript scan; a test holds both to the same answers.
 *
 * The scan, per 16-byte vector v (the same byte ranges as text.ts FORBIDDEN):
 *   forbidden |= v < 0x07 | (v - 0x0e) < 13 | (v - 0x1c) < 4 | v == 0x7f   (unsigned lanes)
 *   leads     += v >= 0xc0
 * Lead counts gather in 8-bit lanes for up to 255 vectors, then widen into a 32-bit sum.
 */

/** Bytes scanned per call: the input is copied into the module's memory this much at a time. */
const WINDOW = 2 ** 20;
/** 64 KiB pages: the window and its padding to a whole vector. */
const PAGES = WINDOW / 65536 + 1;
/** Vectors whose lead flags fit 8-bit lanes before they are widened (255 × 16 bytes). */
const BLOCK_BYTES = 255 * 16;
/** Pads the tail to a whole vector: a space is allowed in text and is not a lead byte. */
const PAD = 0x20;

// Opcodes (WebAssembly core spec, binary format; SIMD ones follow the 0xfd prefix).
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_LT_U = 0x49;
const I32_GT_U = 0x4b;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const VOID = 0x40;
const I32 = 0x7f;
const V128 = 0x7b;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00, 0x00, 0x00];
const V128_CONST = [SIMD, 0x0c];
const I32X4_EXTRACT_LANE = [SIMD, 0x1b];
const I8X16_EQ = [SIMD, 0x23];
const I8X16_LT_U = [SIMD, 0x26];
const I8X16_GE_U = [SIMD, 0x2c];
const V128_OR = [SIMD, 0x50];
const V128_ANY_TRUE = [SIMD, 0x53];
const I8X16_SUB = [SIMD, 0x71];
const I16X8_EXTADD_PAIRWISE_I8X16_U = [SIMD, 0x7d];
const I32X4_EXTADD_PAIRWISE_I16X8_U = [SIMD, 0x7f];
const I32X4_ADD = [SIMD, 0xae, 0x01];

/** Unsigned LEB128. */
function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && !(byte & 0x40)) || (value === -1 && byte & 0x40)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (text: string): number[] => [...uleb(text.length), ...Buffer.from(text, 'ascii')];
const splat = (byte: number): number[] => [...V128_CONST, ...new Array<number>(16).fill(byte)];
const get = (local: number): number[] => [LOCAL_GET, local];
const set = (local: number): number[] => [LOCAL_SET, local];

// scan(n): n bytes at address 0, n a multiple of 16 → -1 when a forbidden byte is among them,
// else the number of lead bytes.
const N = 0;
const P = 1;
const STOP = 2;
const V = 3;
const BAD = 4;
const ACC = 5;
const SUM = 6;
// prettier-ignore
const body = [
  ...vector([
    [2, I32], // p, stop
    [4, V128], // v, bad, acc, sum (zero at entry)
  ]),
  BLOCK, VOID,
  LOOP, VOID,
  ...get(P), ...get(N), I32_GE_U, BR_IF, 1,
  ...get(P), I32_CONST, ...sleb(BLOCK_BYTES), I32_ADD, ...set(STOP),
  ...get(STOP), ...get(N), I32_GT_U, IF, VOID, ...get(N), ...set(STOP), END,
  ...splat(0), ...set(ACC),
  LOOP, VOID,
  ...get(P), ...V128_LOAD, ...set(V),
  ...get(BAD),
  ...get(V), ...splat(0x07), ...I8X16_LT_U, ...V128_OR,
  ...get(V), ...splat(0x0e), ...I8X16_SUB, ...splat(13), ...I8X16_LT_U, ...V128_OR,
  ...get(V), ...splat(0x1c), ...I8X16_SUB, ...splat(4), ...I8X16_LT_U, ...V128_OR,
  ...get(V), ...splat(0x7f), ...I8X16_EQ, ...V128_OR,
  ...set(BAD),
  // A lead lane compares as all ones (-1): subtracting it counts one.
  ...get(ACC), ...get(V), ...splat(0xc0), ...I8X16_GE_U, ...I8X16_SUB, ...set(ACC),
  ...get(P), I32_CONST, 16, I32_ADD, LOCAL_TEE, P, ...get(STOP), I32_LT_U, BR_IF, 0,
  END,
  ...get(SUM), ...get(ACC), ...I16X8_EXTADD_PAIRWISE_I8X16_U, ...I32X4_EXTADD_PAIRWISE_I16X8_U, ...I32X4_ADD,
  ...set(SUM),
  BR, 0,
  END,
  END,
  ...get(BAD), ...V128_ANY_TRUE,
  IF, I32,
  I32_CONST, ...sleb(-1),
  ELSE,
  ...get(SUM), ...I32X4_EXTRACT_LANE, 0,
  ...get(SUM), ...I32X4_EXTRACT_LANE, 1, I32_ADD,
  ...get(SUM), ...I32X4_EXTRACT_LANE, 2, I32_ADD,
  ...get(SUM), ...I32X4_EXTRACT_LANE, 3, I32_ADD,
  END,
  END,
];

/** The module's bytes (exported for the test that checks they validate). */
// prettier-ignore
export const TEXT_SCAN_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, vector([[0x60, ...vector([[I32]]), ...vector([[I32]])]])),
  ...section(3, vector([[0]])),
  ...section(5, vector([[0x00, ...uleb(PAGES)]])),
  ...section(7, vector([[...name('scan'), 0x00, 0], [...name('memory'), 0x02, 0]])),
  ...section(10, vector([[...uleb(body.length), ...body]])),
]);

/**
 * Scans `bytes` (any length): -1 when it holds a byte text does not contain, else its number of
 * UTF-8 lead bytes (0xc0 and up). Validity is the caller's.
 */
export type TextScanner = (bytes: Uint8Array) => number;

/** The part of the WebAssembly API used here (the project's type libraries leave it out). */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => {
    exports: { scan: (length: number) => number; memory: { buffer: ArrayBuffer } };
  };
}

let scanner: TextScanner | null | undefined;

/** This thread's scanner, instantiated on first use; null where WebAssembly SIMD is missing. */
export function simdTextScanner(): TextScanner | null {
  if (scanner !== undefined) return scanner;
  scanner = null;
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (!wasm?.validate(TEXT_SCAN_MODULE)) return null;
  const { exports } = new wasm.Instance(new wasm.Module(TEXT_SCAN_MODULE));
  const scan = exports.scan;
  const memory = new Uint8Array(exports.memory.buffer);
  scanner = (bytes) => {
    let leads = 0;
    for (let at = 0; at < bytes.length; at += WINDOW) {
      const piece = bytes.subarray(at, Math.min(bytes.length, at + WINDOW));
      memory.set(piece, 0);
      const padded = (piece.length + 15) & ~15;
      memory.fill(PAD, piece.length, padded);
      const found = scan(padded);
      if (found < 0) return -1;
      leads += found;
    }
    return leads;
  };
  return scanner;
}
