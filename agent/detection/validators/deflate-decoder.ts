/**
 * Raw deflate (RFC 1951) decoding for the validators: streaming, synchronous, and without
 * keeping what it decodes — the output passes through one reused buffer to a sink that only
 * counts and checksums it.
 *
 * The decoding rules are fflate 0.8.3's `inflt` (the decoder inflate-check.ts used through
 * fflate's `Inflate`), carried over line for line: the same tables, the same Huffman map
 * construction (over-subscribed and incomplete codes decode exactly as fflate decodes them), the
 * same checks in the same order, the same error messages. What a validator concludes from a
 * stream therefore cannot differ from what it concluded with fflate, down to the message in a
 * verdict. What differs is memory: fflate's streaming `Inflate` allocates a fresh output buffer
 * on every push, grows it by doubling, copies the output out and the 32 KiB window back, and
 * concatenates unread input with every new piece; its core is not exported, so it cannot be fed
 * a buffer of ours. Here the output goes to a per-decoder buffer (from a small pool, so a
 * thread's many short streams reuse the same few) whose last bytes are slid to its front when it
 * fills, and the Huffman maps are rebuilt in place.
 *
 * One behaviour of fflate's push boundaries is kept on purpose: a push starts with at most
 * 32 KiB of earlier output in its buffer (the window), so a back-reference further than what
 * that buffer holds is `invalid distance` — only distance code 30 (32769 bytes, which no valid
 * stream uses) can reach past it, and whether it does depends on where pushes begin, exactly as
 * with fflate. One fflate bug is not kept: it makes room for output only at block starts and
 * after matches, so a run of more than 128 KiB of literals decoded in one push (under two bits
 * per literal, with no match: a stream zlib never writes, or a damaged one) overruns its buffer
 * and the excess is silently lost; here every decoded byte is counted. The tests hold the two
 * decoders to the same output, failures and stream ends on real and damaged streams.
 *
 * fflate: MIT License, Copyright (c) 2026 Arjun Barrett (https://github.com/101arrowz/fflate).
 */

/** Extra bits of the length codes 257… (29 and 30 are not used by valid streams). */
const LENGTH_EXTRA_BITS = new Uint8Array([
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0, 0, 0, 0,
]);
/** Extra bits of the distance codes (30 and 31 are not used by valid streams). */
const DISTANCE_EXTRA_BITS = new Uint8Array([
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 0, 0,
]);
/** Order in which code-length code lengths are stored. */
const CODE_LENGTH_ORDER = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

/** Base values from extra bits, as fflate's `freb` computes them (31 entries). */
function bases(extraBits: Uint8Array, start: number): Uint16Array {
  const base = new Uint16Array(31);
  for (let i = 0; i < 31; ++i) base[i] = start += 1 << (i === 0 ? 0 : extraBits[i - 1]!);
  return base;
}
const LENGTH_BASE = bases(LENGTH_EXTRA_BITS, 2);
LENGTH_BASE[28] = 258;
/** Index 31 is past the array on purpose: fflate reads `undefined` there, and so does this. */
const DISTANCE_BASE = bases(DISTANCE_EXTRA_BITS, 0);

/** 15-bit bit reversal, for codes read least significant bit first. */
const REVERSE = new Uint16Array(32768);
for (let i = 0; i < 32768; ++i) {
  let x = ((i & 0xaaaa) >> 1) | ((i & 0x5555) << 1);
  x = ((x & 0xcccc) >> 2) | ((x & 0x3333) << 2);
  x = ((x & 0xf0f0) >> 4) | ((x & 0x0f0f) << 4);
  REVERSE[i] = (((x & 0xff00) >> 8) | ((x & 0x00ff) << 8)) >> 1;
}

/** Scratch for `huffmanMap`; filled and read within one call. */
const COUNTS = new Uint16Array(16);
const NEXT_CODE = new Uint16Array(16);

/**
 * The decoding map of the code lengths `lengths` (at most `maxBits` ≤ 15), written into `map`'s
 * first 2^maxBits entries: indexed by the next `maxBits` input bits, `(symbol << 4) | length`, or
 * 0 for bits that start no code. fflate's `hMap(cd, mb, 1)`, with its 16-bit wrap-around.
 */
function huffmanMap(lengths: Uint8Array, maxBits: number, map: Uint16Array): Uint16Array {
  const size = lengths.length;
  COUNTS.fill(0, 0, maxBits);
  for (let i = 0; i < size; ++i) if (lengths[i]) ++COUNTS[lengths[i]! - 1]!;
  NEXT_CODE.fill(0, 0, maxBits);
  for (let i = 1; i < maxBits; ++i) NEXT_CODE[i] = (NEXT_CODE[i - 1]! + COUNTS[i - 1]!) << 1;
  map.fill(0, 0, 1 << maxBits);
  const dropBits = 15 - maxBits;
  for (let i = 0; i < size; ++i) {
    const length = lengths[i]!;
    if (!length) continue;
    const entry = (i << 4) | length;
    const free = maxBits - length;
    let v = NEXT_CODE[length - 1]!++ << free;
    // An over-subscribed code runs `v` past 15 bits, where fflate's table lookup gives undefined (0).
    for (const last = v | ((1 << free) - 1); v <= last; ++v) map[(REVERSE[v] as number) >> dropBits] = entry;
  }
  return map;
}

function maxOf(values: Uint8Array): number {
  let m = values[0]!;
  for (let i = 1; i < values.length; ++i) if (values[i]! > m) m = values[i]!;
  return m;
}

const FIXED_LENGTHS = new Uint8Array(288);
FIXED_LENGTHS.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
const FIXED_LITERAL_MAP = huffmanMap(FIXED_LENGTHS, 9, new Uint16Array(1 << 9));
const FIXED_DISTANCE_MAP = huffmanMap(new Uint8Array(32).fill(5), 5, new Uint16Array(1 << 5));

/** `mask` of the bits of `d` from bit `p` (reads past the end yield 0 bits, as in fflate). */
function bits(d: Uint8Array, p: number, mask: number): number {
  const o = (p / 8) | 0;
  return ((d[o]! | (d[o + 1]! << 8)) >> (p & 7)) & mask;
}

/** At least 16 bits of `d` from bit `p`. */
function bits16(d: Uint8Array, p: number): number {
  const o = (p / 8) | 0;
  return (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16)) >> (p & 7);
}

/** Bytes of output history the output buffer keeps when it slides (more than deflate's 32 KiB window can reach). */
const HISTORY_BYTES = 64 * 1024;
/** Output buffer: history plus room for this much new output between slides. */
const OUTPUT_BYTES = HISTORY_BYTES + 256 * 1024;
/** Longest output of one symbol (length codes 29 and 30 decode to 260 and 261 in fflate). */
const MAX_MATCH = 262;
const WINDOW_BYTES = 32768;

/** The memory one stream's decoding needs; pooled per thread, since a scan decodes many short streams. */
interface Workspace {
  output: Uint8Array;
  literalMap: Uint16Array;
  distanceMap: Uint16Array;
  /** Unread input kept between pushes (a partial symbol, a block header, a stored block). */
  input: Uint8Array;
}

const pool: Workspace[] = [];
const POOL_SIZE = 8;
const LENGTHS = new Uint8Array(320);
const CODE_LENGTH_LENGTHS = new Uint8Array(19);
const CODE_LENGTH_MAP = new Uint16Array(1 << 7);

function acquire(): Workspace {
  return (
    pool.pop() ?? {
      output: new Uint8Array(OUTPUT_BYTES),
      literalMap: new Uint16Array(32768),
      distanceMap: new Uint16Array(32768),
      input: new Uint8Array(16 * 1024),
    }
  );
}

/** The error fflate throws, with its message. */
function fail(message: 'invalid block type' | 'invalid length/literal' | 'invalid distance'): never {
  throw new Error(message);
}

/**
 * One raw deflate stream, decoded as its bytes are pushed. Decoded bytes go to `sink` (a view of
 * a reused buffer, valid only during the call). `push` throws an `Error` when the data does not
 * decode; `ended()` says where the stream ends once its final block is complete. Call `release()`
 * once the stream is done with (ended, failed or abandoned), so that its memory serves the next.
 */
export class DeflateDecoder {
  private work: Workspace | null = acquire();
  /** Unread input bytes at the front of `work.input`. */
  private unread = 0;
  /** Output buffer position of the next output byte, and of the first not yet given to the sink. */
  private at = 0;
  private flushed = 0;
  /** Output bytes so far. */
  private total = 0;
  // fflate's stream state: final block seen, bit position in the unread input, the current
  // block's maps (null between blocks) and their bit widths.
  private final = 0;
  private position = 0;
  private literalMap: Uint16Array | null = null;
  private distanceMap: Uint16Array | null = null;
  private literalBits = 0;
  private distanceBits = 0;

  constructor(private readonly sink: (output: Uint8Array) => void) {}

  /** Decodes what `chunk` adds. Throws an `Error` (fflate's message) when the data does not decode. */
  push(chunk: Uint8Array): void {
    const work = this.work;
    if (!work) throw new Error('deflate decoder used after release');
    let data: Uint8Array;
    if (this.unread === 0) {
      data = chunk;
    } else {
      const length = this.unread + chunk.length;
      if (length > work.input.length) {
        const grown = new Uint8Array(Math.max(length, work.input.length * 2));
        grown.set(work.input.subarray(0, this.unread));
        work.input = grown;
      }
      work.input.set(chunk, this.unread);
      // Exactly as long as the data: reads past its end must give 0 bits, as fflate's do.
      data = work.input.subarray(0, length);
    }
    // A failure throws past the flush: fflate hands on nothing of a push that fails.
    this.decode(data, work);
    this.flush(work);
    const consumed = this.position >>> 3;
    const rest = data.length - consumed;
    if (rest > work.input.length) work.input = new Uint8Array(Math.max(rest, work.input.length * 2));
    if (data.buffer === work.input.buffer) work.input.copyWithin(0, consumed, data.length);
    else work.input.set(data.subarray(consumed));
    this.unread = rest;
    this.position &= 7;
  }

  /** Once the final block is complete: the input bytes after the deflate data (a view, valid until the next push or release). Null while the stream goes on. */
  ended(): Uint8Array | null {
    if (!this.final || this.literalMap || !this.work) return null;
    return this.work.input.subarray((this.position + 7) >> 3, this.unread);
  }

  /** Returns the memory to the pool; the decoder is not used again. */
  release(): void {
    if (this.work && pool.length < POOL_SIZE) pool.push(this.work);
    this.work = null;
  }

  private flush(work: Workspace): void {
    if (this.at === this.flushed) return;
    this.total += this.at - this.flushed;
    this.sink(work.output.subarray(this.flushed, this.at));
    this.flushed = this.at;
  }

  /** Makes room for new output: hands on what was decoded and keeps the last HISTORY_BYTES in front. */
  private slide(work: Workspace, at: number): number {
    this.at = at;
    this.flush(work);
    const shift = at - HISTORY_BYTES;
    work.output.copyWithin(0, shift, at);
    this.at = this.flushed = HISTORY_BYTES;
    return shift;
  }

  /** fflate's `inflt` for a stream, from the state left by the previous push. */
  private decode(dat: Uint8Array, work: Workspace): void {
    const sl = dat.length;
    if (!sl || (this.final && !this.literalMap)) return;
    const buf = work.output;
    const limit = buf.length - MAX_MATCH;
    let bt = this.at;
    // The output buffer index that is 0 in fflate's buffer for this push: it starts with at most
    // WINDOW_BYTES of earlier output, and a distance reaching before that is invalid there.
    let origin = bt - Math.min(this.total, WINDOW_BYTES);
    let final = this.final;
    let pos = this.position;
    let lm = this.literalMap;
    let dm = this.distanceMap;
    let lbt = this.literalBits;
    let dbt = this.distanceBits;
    const tbts = sl * 8;
    do {
      if (!lm) {
        final = bits(dat, pos, 1);
        const type = bits(dat, pos + 1, 3);
        pos += 3;
        if (!type) {
          const s = ((pos + 7) >> 3) + 4;
          const l = dat[s - 4]! | (dat[s - 3]! << 8);
          const t = s + l;
          if (t > sl) break;
          if (bt + l > buf.length) {
            const shift = this.slide(work, bt);
            bt -= shift;
            origin -= shift;
          }
          buf.set(dat.subarray(s, t), bt);
          bt += l;
          this.at = bt;
          this.position = pos = t * 8;
          this.final = final;
          continue;
        } else if (type === 1) {
          lm = FIXED_LITERAL_MAP;
          dm = FIXED_DISTANCE_MAP;
          lbt = 9;
          dbt = 5;
        } else if (type === 2) {
          const hLit = bits(dat, pos, 31) + 257;
          const hcLen = bits(dat, pos + 10, 15) + 4;
          const tl = hLit + bits(dat, pos + 5, 31) + 1;
          pos += 14;
          const ldt = LENGTHS.subarray(0, tl).fill(0);
          const clt = CODE_LENGTH_LENGTHS.fill(0);
          for (let i = 0; i < hcLen; ++i) clt[CODE_LENGTH_ORDER[i]!] = bits(dat, pos + i * 3, 7);
          pos += hcLen * 3;
          const clb = maxOf(clt);
          const clbmsk = (1 << clb) - 1;
          const clm = huffmanMap(clt, clb, CODE_LENGTH_MAP);
          for (let i = 0; i < tl;) {
            const r = clm[bits(dat, pos, clbmsk)]!;
            pos += r & 15;
            const s = r >> 4;
            if (s < 16) {
              ldt[i++] = s;
            } else {
              let c = 0;
              let n = 0;
              if (s === 16) {
                n = 3 + bits(dat, pos, 3);
                pos += 2;
                c = ldt[i - 1] as number;
              } else if (s === 17) {
                n = 3 + bits(dat, pos, 7);
                pos += 3;
              } else if (s === 18) {
                n = 11 + bits(dat, pos, 127);
                pos += 7;
              }
              while (n--) ldt[i++] = c;
            }
          }
          const lt = ldt.subarray(0, hLit);
          const dt = ldt.subarray(hLit);
          lbt = maxOf(lt);
          dbt = maxOf(dt);
          lm = huffmanMap(lt, lbt, work.literalMap);
          dm = huffmanMap(dt, dbt, work.distanceMap);
        } else {
          fail('invalid block type');
        }
        if (pos > tbts) break;
      }
      const lms = (1 << lbt) - 1;
      const dms = (1 << dbt) - 1;
      let lpos = pos;
      for (; ; lpos = pos) {
        if (bt > limit) {
          const shift = this.slide(work, bt);
          bt -= shift;
          origin -= shift;
        }
        const c = lm[bits16(dat, pos) & lms]!;
        const sym = c >> 4;
        pos += c & 15;
        if (pos > tbts) break;
        if (!c) fail('invalid length/literal');
        if (sym < 256) {
          buf[bt++] = sym;
        } else if (sym === 256) {
          lpos = pos;
          lm = null;
          break;
        } else {
          let add = sym - 254;
          if (sym > 264) {
            const i = sym - 257;
            const b = LENGTH_EXTRA_BITS[i]!;
            add = bits(dat, pos, (1 << b) - 1) + LENGTH_BASE[i]!;
            pos += b;
          }
          const d = dm![bits16(dat, pos) & dms]!;
          const dsym = d >> 4;
          if (!d) fail('invalid distance');
          pos += d & 15;
          // Code 31 has no base: fflate's distance is NaN, and it copies `undefined` (zeros).
          let dt = DISTANCE_BASE[dsym] as number;
          if (dsym > 3) {
            const b = DISTANCE_EXTRA_BITS[dsym]!;
            dt += bits16(dat, pos) & ((1 << b) - 1);
            pos += b;
          }
          if (pos > tbts) break;
          const end = bt + add;
          if (bt - origin < dt) fail('invalid distance');
          for (; bt < end; ++bt) buf[bt] = buf[bt - dt]!;
        }
      }
      this.literalMap = lm;
      this.position = lpos;
      this.at = bt;
      this.final = final;
      if (lm) {
        final = 1;
        this.literalBits = lbt;
        this.distanceMap = dm;
        this.distanceBits = dbt;
      }
    } while (!final);
  }
}
