/**
 * bzip2: every stream (`BZh` + level 1–9, pbzip2 writes several) is decoded block by block
 * within the decode caps — Huffman tables, selectors, MTF/RLE2 symbols, the inverse BWT and the
 * RLE1 runs — and each block's CRC is checked against its output, the stream's combined CRC
 * against the block CRCs, the end-of-stream marker and its zero padding bits. So any changed
 * byte inside a decoded stream is found.
 *
 * Past a cap, the walk goes on without decoding: block and end-of-stream magics are found by a
 * bit-level search (they are not byte-aligned), and the combined CRC is still recomputed from
 * the stored block CRCs; damage then shows only where it hits a magic, a stored CRC or the end.
 *
 * The decoder is written here: npm's pure-JS bzip2 decoders (seek-bzip, compressjs,
 * unbzip2-stream) decode whole buffers or run behind async streams, and none bounds its work,
 * while a validator must run synchronously on chunks in bounded memory. A block's compressed
 * bytes are buffered (at most ~2.3 MB by the format) and decoded once they are all there.
 */
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import {
  Damage,
  guardedValidator,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const BLOCK_MAGIC_HI = 0x314159;
const BLOCK_MAGIC_LO = 0x265359;
const END_MAGIC_HI = 0x177245;
const END_MAGIC_LO = 0x385090;
const GROUP_SIZE = 50;
const MAX_GROUPS = 6;
const MAX_ALPHA = 258;
const MAX_CODE_LENGTH = 20;
const MAX_SELECTORS = 18002;
/** No block's compressed form can be longer (900k symbols of at most 20 bits, plus tables). */
const MAX_BLOCK_BYTES = 3 * 1024 * 1024;

/** bzip2's CRC-32 is the MSB-first variant (polynomial 0x04c11db7), unlike zlib's. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** The bytes buffered so far end before the step being parsed does (or a cap stops it). */
class NeedMore extends Error {
  constructor(readonly cap: boolean) {
    super('need more input');
  }
}
const NEED_MORE = new NeedMore(false);
const CAP_REACHED = new NeedMore(true);

/** MSB-first bit reader over the buffered bytes; `end` is in bits. Throws NEED_MORE past it. */
class BitReader {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  end = 0;
  /** NEED_MORE, or CAP_REACHED when `end` is a cap rather than the end of the buffered input. */
  short: NeedMore = NEED_MORE;

  bits(n: number): number {
    if (this.pos + n > this.end) throw this.short;
    const b = this.buf;
    const i = this.pos >>> 3;
    const word = ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    this.pos += n;
    return ((word << (this.pos - n - (i << 3))) >>> 0) >>> (32 - n);
  }

  bit(): number {
    if (this.pos >= this.end) throw this.short;
    const value = (this.buf[this.pos >>> 3]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return value;
  }
}

/** Canonical Huffman decoding tables for one coding group (bzip2's hbCreateDecodeTables). */
interface HuffmanTable {
  minLength: number;
  limit: Int32Array;
  base: Int32Array;
  perm: Int32Array;
  /** By the next FAST_BITS bits: (symbol << 5) | length for codes that short, 0 for longer ones. */
  fast: Int32Array;
}

const FAST_BITS = 10;

function huffmanTable(lengths: Uint8Array, alphaSize: number): HuffmanTable {
  let minLength = 32;
  let maxLength = 0;
  for (let i = 0; i < alphaSize; i++) {
    minLength = Math.min(minLength, lengths[i]!);
    maxLength = Math.max(maxLength, lengths[i]!);
  }
  const perm = new Int32Array(MAX_ALPHA);
  let pp = 0;
  for (let length = minLength; length <= maxLength; length++)
    for (let j = 0; j < alphaSize; j++) if (lengths[j] === length) perm[pp++] = j;
  const base = new Int32Array(MAX_CODE_LENGTH + 2);
  for (let i = 0; i < alphaSize; i++) base[lengths[i]! + 1]!++;
  for (let i = 1; i < base.length; i++) base[i]! += base[i - 1]!;
  // Lengths past the longest code get a limit no code reaches, so a bad prefix runs out of lengths.
  const limit = new Int32Array(MAX_CODE_LENGTH + 2).fill(-1);
  let vec = 0;
  for (let i = minLength; i <= maxLength; i++) {
    vec += base[i + 1]! - base[i]!;
    limit[i] = vec - 1;
    vec <<= 1;
  }
  for (let i = minLength + 1; i <= maxLength; i++) base[i] = ((limit[i - 1]! + 1) << 1) - base[i]!;
  // Canonical codes in (length, symbol) order, as the encoder assigns them.
  const fast = new Int32Array(1 << FAST_BITS);
  let code = 0;
  for (let length = minLength; length <= maxLength; length++) {
    for (let symbol = 0; symbol < alphaSize; symbol++) {
      if (lengths[symbol] !== length) continue;
      if (length <= FAST_BITS && code < 1 << length) {
        const span = 1 << (FAST_BITS - length);
        fast.fill((symbol << 5) | length, code * span, (code + 1) * span);
      }
      code++;
    }
    code <<= 1;
  }
  return { minLength, limit, base, perm, fast };
}

/** Scratch memory for decoding blocks, sized by the stream's level. */
interface Workspace {
  tt: Uint32Array;
  capacity: number;
}

/** What decoding a block produced. */
interface DecodedBlock {
  storedCrc: number;
  outputBytes: number;
}

/**
 * Decodes the block whose magic the reader has just passed, and checks its CRC.
 * Throws Damage (offsets relative to `origin`), NeedMore, or Unsupported.
 */
function decodeBlock(r: BitReader, work: Workspace, origin: number, outputBudget: number): DecodedBlock {
  const at = (): number => origin + (r.pos >>> 3);
  const storedCrc = ((r.bits(16) << 16) | r.bits(16)) >>> 0;
  if (r.bit()) throw new Unsupported('randomised bzip2 block (bzip2 before 0.9.5)');
  const origPtr = r.bits(24);

  const seqToUnseq = new Uint8Array(256);
  let inUseCount = 0;
  const inUse16 = r.bits(16);
  for (let i = 0; i < 16; i++) {
    if (!(inUse16 & (0x8000 >> i))) continue;
    const bits = r.bits(16);
    for (let j = 0; j < 16; j++) if (bits & (0x8000 >> j)) seqToUnseq[inUseCount++] = i * 16 + j;
  }
  if (inUseCount === 0) throw new Damage('block uses no symbols', at());
  const alphaSize = inUseCount + 2;

  const groups = r.bits(3);
  if (groups < 2 || groups > MAX_GROUPS) throw new Damage(`block has ${groups} Huffman groups`, at());
  const selectorCount = r.bits(15);
  if (selectorCount < 1) throw new Damage('block has no selectors', at());
  const selectors = new Uint8Array(Math.min(selectorCount, MAX_SELECTORS));
  const selectorMtf = [0, 1, 2, 3, 4, 5];
  for (let i = 0; i < selectorCount; i++) {
    let j = 0;
    while (r.bit()) if (++j >= groups) throw new Damage('selector out of range', at());
    // bzip2 1.0.8 reads and ignores selectors past 18002.
    if (i >= MAX_SELECTORS) continue;
    const value = selectorMtf[j]!;
    for (; j > 0; j--) selectorMtf[j] = selectorMtf[j - 1]!;
    selectorMtf[0] = value;
    selectors[i] = value;
  }

  const tables: HuffmanTable[] = [];
  const lengths = new Uint8Array(MAX_ALPHA);
  for (let t = 0; t < groups; t++) {
    let length = r.bits(5);
    for (let i = 0; i < alphaSize; i++) {
      for (;;) {
        if (length < 1 || length > MAX_CODE_LENGTH)
          throw new Damage('Huffman code length out of range', at());
        if (!r.bit()) break;
        length += r.bit() ? -1 : 1;
      }
      lengths[i] = length;
    }
    tables.push(huffmanTable(lengths, alphaSize));
  }

  // Huffman symbols → RLE2 runs and MTF indices → the BWT's last column in `tt`.
  const tt = work.tt;
  const blockMax = work.capacity;
  const counts = new Int32Array(256);
  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i++) mtf[i] = i;
  const endOfBlock = inUseCount + 1;
  let groupIndex = -1;
  let groupLeft = 0;
  let table = tables[0]!;
  let count = 0;
  let runLength = 0;
  let runWeight = 1;
  const buf = r.buf;
  const end = r.end;
  let pos = r.pos;
  for (;;) {
    if (groupLeft === 0) {
      if (++groupIndex >= selectorCount)
        throw new Damage('block runs past its selectors', origin + (pos >>> 3));
      groupLeft = GROUP_SIZE;
      table = tables[selectors[Math.min(groupIndex, MAX_SELECTORS - 1)]!]!;
    }
    groupLeft--;
    // Inline bit reading: this loop runs once per symbol and dominates decoding time.
    const byteAt = pos >>> 3;
    const window =
      ((((buf[byteAt]! << 24) | (buf[byteAt + 1]! << 16) | (buf[byteAt + 2]! << 8) | buf[byteAt + 3]!) <<
        (pos & 7)) >>>
        0) >>>
      (32 - MAX_CODE_LENGTH);
    const entry = table.fast[window >>> (MAX_CODE_LENGTH - FAST_BITS)]!;
    let symbol: number;
    if (entry !== 0) {
      pos += entry & 31;
      symbol = entry >>> 5;
    } else {
      let length = table.minLength;
      let code = window >>> (MAX_CODE_LENGTH - length);
      while (code > table.limit[length]!) {
        if (++length > MAX_CODE_LENGTH) throw new Damage('invalid Huffman code', origin + (pos >>> 3));
        code = window >>> (MAX_CODE_LENGTH - length);
      }
      pos += length;
      const index = code - table.base[length]!;
      if (index < 0 || index >= MAX_ALPHA) throw new Damage('invalid Huffman code', origin + (pos >>> 3));
      symbol = table.perm[index]!;
    }
    // Bits past the buffered input read as zeros above; only now is it known whether they were needed.
    if (pos > end) throw r.short;

    if (symbol <= 1) {
      // RUNA/RUNB: bijective base-2 digits of a run of the front MTF symbol.
      runLength += (symbol + 1) * runWeight;
      runWeight <<= 1;
      if (runWeight >= 2 * 1024 * 1024) throw new Damage('run too long', origin + (pos >>> 3));
      continue;
    }
    if (runLength > 0) {
      const byte = seqToUnseq[mtf[0]!]!;
      if (count + runLength > blockMax)
        throw new Damage('block is longer than its level allows', origin + (pos >>> 3));
      counts[byte]! += runLength;
      tt.fill(byte, count, count + runLength);
      count += runLength;
      runLength = 0;
      runWeight = 1;
    }
    if (symbol === endOfBlock) {
      r.pos = pos;
      break;
    }
    if (count >= blockMax) throw new Damage('block is longer than its level allows', origin + (pos >>> 3));
    let n = symbol - 1;
    const value = mtf[n]!;
    if (n < 32) for (; n > 0; n--) mtf[n] = mtf[n - 1]!;
    else mtf.copyWithin(1, 0, n);
    mtf[0] = value;
    const byte = seqToUnseq[value]!;
    counts[byte]!++;
    tt[count++] = byte;
  }
  if (origPtr >= count) throw new Damage(`BWT origin ${origPtr} is outside the ${count}-byte block`, at());

  // Inverse BWT: link each position to its successor in the upper 24 bits.
  const cumulative = new Int32Array(256);
  for (let i = 1; i < 256; i++) cumulative[i] = cumulative[i - 1]! + counts[i - 1]!;
  for (let i = 0; i < count; i++) {
    const byte = tt[i]! & 0xff;
    tt[cumulative[byte]!]! |= i << 8;
    cumulative[byte]!++;
  }

  // Walk the BWT, undo RLE1 (four equal bytes, then a count of more), and CRC the output.
  let crc = 0xffffffff;
  let position = tt[origPtr]! >>> 8;
  let last = -1;
  let repeats = 0;
  let output = 0;
  for (let k = 0; k < count; k++) {
    const entry = tt[position]!;
    const byte = entry & 0xff;
    position = entry >>> 8;
    if (repeats === 4) {
      for (let n = 0; n < byte; n++) crc = (crc << 8) ^ CRC_TABLE[(crc >>> 24) ^ last]!;
      output += byte;
      repeats = 0;
      continue;
    }
    if (byte === last) repeats++;
    else {
      repeats = 1;
      last = byte;
    }
    crc = (crc << 8) ^ CRC_TABLE[(crc >>> 24) ^ byte]!;
    output++;
  }
  if (output > outputBudget) throw CAP_REACHED;
  if (~crc >>> 0 !== storedCrc) throw new Damage('block CRC mismatch', at());
  return { storedCrc, outputBytes: output };
}

/** 48-bit magics as byte patterns at each of the 8 bit alignments, for the search past the caps. */
const SEARCH_PATTERNS = (() => {
  const patterns: { magic: 'block' | 'end'; shift: number; needle: Buffer }[] = [];
  for (const [magic, hi, lo] of [
    ['block', BLOCK_MAGIC_HI, BLOCK_MAGIC_LO],
    ['end', END_MAGIC_HI, END_MAGIC_LO],
  ] as const) {
    const value = BigInt(hi) * 2n ** 24n + BigInt(lo);
    for (let shift = 0; shift < 8; shift++) {
      // The magic starting `shift` bits into a byte fully determines the bytes after that one.
      const shifted = value << BigInt(64 - 48 - shift);
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(shifted);
      patterns.push({ magic, shift, needle: shift === 0 ? bytes.subarray(0, 4) : bytes.subarray(1, 5) });
    }
  }
  return patterns;
})();

type Phase = 'stream-header' | 'block-or-end' | 'scan' | 'after-stream';

class Bzip2Validator implements FormatWalk {
  private readonly reader = new BitReader();
  /** Buffered input; `reader.buf` views it. `base` is the entry offset of buf[0]. */
  private buf = new Uint8Array(64 * 1024);
  private fill = 0;
  private base = 0;
  private phase: Phase = 'stream-header';
  private waitFor = 0;
  private work: Workspace | null = null;
  private level = 0;
  private combinedCrc = 0;
  private blocks = 0;
  private streams = 0;
  private decoding = true;
  private decodedBytes = 0;
  private outputBytes = 0;
  private checkedTo = 0;

  constructor(private readonly limits: ValidatorLimits) {}

  update(chunk: Uint8Array): void {
    this.append(chunk);
    if (this.fill - (this.reader.pos >>> 3) >= this.waitFor) this.run(false);
  }

  finish(): StructureVerdict {
    this.run(true);
    return {
      status: 'valid',
      checkedBytes: this.decoding ? this.base + this.fill : this.checkedTo,
      parts: this.blocks,
    };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(
      stop,
      stop.status === 'invalid' ? Math.min(this.checkedTo, stop.offset) : this.checkedTo,
      { parts: this.blocks },
    );
  }

  private append(chunk: Uint8Array): void {
    if (this.fill + chunk.length > this.buf.length) {
      // Drop what has been parsed; grow only if the unparsed rest and the chunk still do not fit.
      const consumed = this.reader.pos >>> 3;
      const keep = this.fill - consumed;
      if (keep + chunk.length <= this.buf.length) {
        this.buf.copyWithin(0, consumed, this.fill);
      } else {
        const next = new Uint8Array(Math.max(this.buf.length * 2, keep + chunk.length));
        next.set(this.buf.subarray(consumed, this.fill), 0);
        this.buf = next;
      }
      this.base += consumed;
      this.fill = keep;
      this.reader.pos -= consumed * 8;
    }
    this.buf.set(chunk, this.fill);
    this.fill += chunk.length;
  }

  private run(final: boolean): void {
    const r = this.reader;
    for (;;) {
      r.buf = this.buf;
      r.end = this.fill * 8;
      r.short = NEED_MORE;
      const start = r.pos;
      try {
        if (!this.step(final)) return;
      } catch (error) {
        if (!(error instanceof NeedMore)) throw error;
        r.pos = start;
        if (error.cap) {
          this.stopDecoding();
          continue;
        }
        const available = this.fill - (start >>> 3);
        if (final)
          throw new Damage(
            this.phase === 'after-stream'
              ? 'bytes after the end of the stream'
              : `data ends inside ${this.describePhase()}`,
            this.base + this.fill,
          );
        if (available > MAX_BLOCK_BYTES)
          throw new Damage('block is longer than any bzip2 block can be', this.base + (start >>> 3));
        // Try again once a good deal more is buffered, so a block is not re-decoded for every small chunk.
        this.waitFor = available + Math.max(4096, Math.min(256 * 1024, available));
        return;
      }
      this.waitFor = 0;
    }
  }

  private describePhase(): string {
    return this.phase === 'stream-header'
      ? 'a stream header'
      : `stream ${this.streams + 1} after block ${this.blocks}`;
  }

  /** Parses one unit at the reader; false when there is nothing (more) to do now. */
  private step(final: boolean): boolean {
    const r = this.reader;
    switch (this.phase) {
      case 'stream-header': {
        const at = this.base + (r.pos >>> 3);
        const b = r.bits(8);
        const z = r.bits(8);
        const h = r.bits(8);
        const level = r.bits(8) - 0x30;
        if (b !== 0x42 || z !== 0x5a || h !== 0x68 || level < 1 || level > 9)
          throw new Damage(
            this.streams === 0 ? 'not a bzip2 stream header' : 'bytes after the end of the stream',
            at,
          );
        this.level = level;
        this.combinedCrc = 0;
        this.phase = 'block-or-end';
        return true;
      }
      case 'block-or-end': {
        const at = this.base + (r.pos >>> 3);
        const hi = r.bits(24);
        const lo = r.bits(24);
        if (hi === BLOCK_MAGIC_HI && lo === BLOCK_MAGIC_LO) {
          if (this.decoding) this.decodeNextBlock();
          else this.skipBlock();
          return true;
        }
        if (hi === END_MAGIC_HI && lo === END_MAGIC_LO) {
          const stored = ((r.bits(16) << 16) | r.bits(16)) >>> 0;
          if (stored !== this.combinedCrc)
            throw new Damage(`combined stream CRC mismatch in stream ${this.streams + 1}`, at);
          const padding = (8 - (r.pos & 7)) & 7;
          if (padding && r.bits(padding) !== 0)
            throw new Damage('non-zero padding after the end of the stream', at);
          this.streams += 1;
          if (this.decoding) this.checkedTo = this.base + (r.pos >>> 3);
          this.phase = 'after-stream';
          return true;
        }
        throw new Damage(`no block or end-of-stream magic after block ${this.blocks}`, at);
      }
      case 'after-stream':
        if (r.pos === r.end) return false;
        // pbzip2 and `cat` make files of several streams.
        this.phase = 'stream-header';
        return true;
      case 'scan':
        return this.scan(final);
    }
  }

  private decodeNextBlock(): void {
    const r = this.reader;
    const blockStart = r.pos - 48;
    if (!this.work || this.work.capacity < this.level * 100_000) {
      this.work = { tt: new Uint32Array(this.level * 100_000), capacity: this.level * 100_000 };
    }
    this.work.capacity = this.level * 100_000;
    const budget = this.limits.maxDecodeBytes - this.decodedBytes;
    if (budget <= 0) throw CAP_REACHED;
    if ((budget + (blockStart >>> 3)) * 8 < r.end) {
      r.end = (budget + (blockStart >>> 3)) * 8;
      r.short = CAP_REACHED;
    }
    const block = decodeBlock(r, this.work, this.base, this.limits.maxOutputBytes - this.outputBytes);
    r.end = this.fill * 8;
    r.short = NEED_MORE;
    this.decodedBytes += ((r.pos - blockStart) >>> 3) + 1;
    this.outputBytes += block.outputBytes;
    this.addBlock(block.storedCrc);
    this.checkedTo = this.base + (r.pos >>> 3);
  }

  /** Past the caps: a block's stored CRC, then a search for the next magic. */
  private skipBlock(): void {
    this.addBlock(((this.reader.bits(16) << 16) | this.reader.bits(16)) >>> 0);
    this.phase = 'scan';
  }

  private addBlock(storedCrc: number): void {
    this.combinedCrc = (((this.combinedCrc << 1) | (this.combinedCrc >>> 31)) ^ storedCrc) >>> 0;
    this.blocks += 1;
  }

  private stopDecoding(): void {
    this.decoding = false;
    this.work = null;
  }

  /** Finds the next block or end-of-stream magic at any bit offset; false when more input is needed. */
  private scan(final: boolean): boolean {
    const r = this.reader;
    const from = r.pos >>> 3;
    const data = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.fill);
    let best = -1;
    for (const { shift, needle } of SEARCH_PATTERNS) {
      const needleOffset = shift === 0 ? 0 : 1;
      let search = Math.max(0, from + needleOffset);
      for (;;) {
        const found = data.indexOf(needle, search);
        if (found < 0) break;
        const bitPosition = (found - needleOffset) * 8 + shift;
        if (best >= 0 && bitPosition >= best) break;
        if (bitPosition >= r.pos && bitPosition + 48 <= r.end && this.magicAt(bitPosition)) {
          best = bitPosition;
          break;
        }
        search = found + 1;
      }
    }
    if (best >= 0) {
      r.pos = best;
      this.phase = 'block-or-end';
      return true;
    }
    if (final) throw NEED_MORE;
    // Keep the last bytes: a magic may straddle this chunk and the next.
    r.pos = Math.max(r.pos, (this.fill - 7) * 8);
    return false;
  }

  private magicAt(bitPosition: number): boolean {
    const r = this.reader;
    const saved = r.pos;
    r.pos = bitPosition;
    const hi = r.bits(24);
    const lo = r.bits(24);
    r.pos = saved;
    return (hi === BLOCK_MAGIC_HI && lo === BLOCK_MAGIC_LO) || (hi === END_MAGIC_HI && lo === END_MAGIC_LO);
  }
}

/** The bzip2 validator. */
export const bzip2Validator: ValidatorDefinition = {
  type: 'bzip2',
  matches(head: Uint8Array): boolean {
    if (
      head.length < 10 ||
      head[0] !== 0x42 ||
      head[1] !== 0x5a ||
      head[2] !== 0x68 ||
      head[3]! < 0x31 ||
      head[3]! > 0x39
    )
      return false;
    // The first block's magic (or the end-of-stream magic of an empty stream) follows, byte-aligned.
    const magic = Buffer.from(head.buffer, head.byteOffset + 4, 6).toString('hex');
    return magic === '314159265359' || magic === '177245385090';
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new Bzip2Validator(limits));
  },
};
