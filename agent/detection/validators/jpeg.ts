/**
 * JPEG (ITU T.81 / JFIF / EXIF): the marker grammar, from SOI to EOI.
 *
 * - Marker segments follow one another with nothing between them (fill 0xFF bytes aside); their
 *   lengths are walked. The segments that shape decoding are checked field by field: SOFn (size,
 *   precision, components and sampling), DHT and DQT (tables fill the segment exactly), DRI, DAC,
 *   DNL, and SOS (components that the frame has, spectral and approximation values). APPn and COM
 *   payloads (EXIF, thumbnails, ICC, XMP) are skipped by their length.
 * - Entropy-coded data after each SOS: a 0xFF byte must be followed by 0x00 (stuffing), a
 *   restart marker RST0–7 in sequence (only when DRI set an interval), more 0xFF fill, or the
 *   marker that ends the scan. Progressive and multi-scan images have several SOS, with tables
 *   between them.
 * - EOI after a frame and at least one scan.
 *
 * After EOI: another SOI starts another image, checked the same way (MPO stereo and multi-frame
 * files). Anything else is accepted — camera makers append data after EOI (Samsung's SEFT
 * trailer, Google/Samsung motion-photo MP4s, padding) and every decoder ignores it — with one
 * exception: trailing data that itself ends with EOI is the rest of an image whose earlier EOI was
 * forged by damage (random bytes hold FF D9 once in 65,536), so it is invalid.
 * None of the real JPEGs on the development machine has trailing data, so this rule is what real
 * camera files need, not what this machine's files showed.
 *
 * Sequential Huffman scans (SOF0/SOF1) are also decoded, without computing pixels
 * (`HuffmanScanCheck`): every code must be in its table, every block must end within 64
 * coefficients, and each restart interval must hold the MCUs the frame size implies. That decoding
 * is capped by the decode budget (`limits`); past it, the rest of the scan gets the marker checks
 * only. Elsewhere the per-byte work is a native `indexOf(0xFF)` over entropy-coded data.
 */
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { DecodeBudget } from './inflate-check.js';
import {
  Damage,
  guardedValidator,
  StepWalk,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const DQT = 0xdb;
const DNL = 0xdc;
const DRI = 0xdd;
const DHP = 0xde;
const DHT = 0xc4;
const DAC = 0xcc;
const TEM = 0x01;
const RST0 = 0xd0;
const RST7 = 0xd7;
/** JPEG-LS frame header: a different codec behind the same SOI, whose scans this grammar does not fit. */
const SOF_JPEG_LS = 0xf7;

/** Segments gathered whole for their field checks (all others are skipped by length). */
const PARSED = new Set([DHT, DAC, DQT, DNL, DRI, SOS]);

const isSof = (marker: number): boolean =>
  marker >= 0xc0 && marker <= 0xcf && marker !== DHT && marker !== 0xc8 && marker !== DAC;
const isRst = (marker: number): boolean => marker >= RST0 && marker <= RST7;
/** Markers a segment with a length may carry: SOFn, DHT, DAC, SOS, DQT, DNL, DRI, DHP, EXP, APPn, JPGn, COM. */
const hasLength = (marker: number): boolean =>
  (marker >= 0xc0 && marker <= 0xcf) || (marker >= 0xda && marker <= 0xdf) || marker >= 0xe0;

/** A Huffman table (ITU T.81 annex C) for decoding: a 9-bit lookup, then code lengths 10–16. */
interface HuffmanTable {
  /** For each 9-bit prefix: (code length << 8) | symbol, or 0 when the code is longer. */
  fast: Uint16Array;
  /** Largest code of each length (index 1–16), -1 when none. */
  maxCode: Int32Array;
  /** Index in `symbols` of the first code of each length, minus that code. */
  offset: Int32Array;
  symbols: Uint8Array;
}

const FAST_BITS = 9;

/** Builds a table from a DHT entry's 16 counts and symbols; null when the counts oversubscribe the code space. */
function buildHuffmanTable(counts: Uint8Array, symbols: Uint8Array): HuffmanTable | null {
  const fast = new Uint16Array(1 << FAST_BITS);
  const maxCode = new Int32Array(18).fill(-1);
  const offset = new Int32Array(18);
  let code = 0;
  let index = 0;
  for (let length = 1; length <= 16; length++) {
    const count = counts[length - 1]!;
    offset[length] = index - code;
    for (let i = 0; i < count; i++, code++, index++) {
      if (code >= 1 << length) return null;
      if (length <= FAST_BITS) {
        const shift = FAST_BITS - length;
        for (let fill = 0; fill < 1 << shift; fill++)
          fast[(code << shift) | fill] = (length << 8) | symbols[index]!;
      }
    }
    if (count > 0) maxCode[length] = code - 1;
    code <<= 1;
  }
  // Decoding continues past 16 bits only on a code no table has.
  maxCode[17] = 0x7fffffff;
  return { fast, maxCode, offset, symbols };
}

/** One component of a scan, as the entropy decoder walks it. */
interface ScanComponent {
  dc: HuffmanTable;
  ac: HuffmanTable;
  /** Blocks of this component in one MCU. */
  blocks: number;
}

/** Bytes buffered before MCUs are decoded: more than the largest MCU can take (10 blocks × 64 × 30 bits). */
const MCU_MARGIN = 4096;

/**
 * Decodes the Huffman-coded blocks of one sequential scan (SOF0/SOF1) without computing pixels:
 * every code must be in its table, every block's coefficients must stop within 64, and each
 * restart interval and the scan must hold exactly the MCUs the frame size implies. Ciphertext
 * fails this within a few blocks even where no 0xFF byte happens to land.
 *
 * Fed the unstuffed entropy-coded bytes of each restart interval; MCUs are decoded once enough
 * bytes are buffered that none can run short, the rest when the interval ends.
 */
class HuffmanScanCheck {
  private queue = new Uint8Array(2 * MCU_MARGIN);
  private head = 0;
  private tail = 0;
  private bits = 0;
  private bitCount = 0;
  /** Padding bits (read as 1s past the end of the interval's data) at the low end of `bits`. */
  private padBits = 0;
  /** A code took padding bits: the interval's data is too short. */
  private overran = false;
  private atIntervalEnd = false;
  private decoded = 0;
  private decodedInInterval = 0;
  problem: string | null = null;

  constructor(
    private readonly components: ScanComponent[],
    private readonly totalMcus: number,
    private readonly restartInterval: number,
    private readonly maxDcBits: number,
    private readonly maxAcBits: number,
  ) {}

  /** Entropy-coded bytes (stuffing removed) of the current interval. */
  push(data: Uint8Array): void {
    if (this.problem || data.length === 0) return;
    if (this.tail + data.length > this.queue.length) {
      const live = this.tail - this.head;
      const grown =
        live + data.length > this.queue.length
          ? new Uint8Array(Math.max(2 * this.queue.length, live + data.length + MCU_MARGIN))
          : this.queue;
      grown.set(this.queue.subarray(this.head, this.tail), 0);
      this.queue = grown;
      this.tail = live;
      this.head = 0;
    }
    this.queue.set(data, this.tail);
    this.tail += data.length;
    while (!this.problem && this.tail - this.head > MCU_MARGIN && this.mcusLeftInInterval() > 0)
      this.decodeMcu();
  }

  /** A restart marker: the interval must be complete. */
  restart(): void {
    this.endInterval();
    if (!this.problem && this.decoded >= this.totalMcus)
      this.problem = 'restart marker after the last MCU of the scan';
    this.atIntervalEnd = false;
    this.decodedInInterval = 0;
    this.bits = 0;
    this.bitCount = 0;
    this.padBits = 0;
    this.overran = false;
  }

  /** The marker that ends the scan: every MCU must be there. */
  end(): void {
    this.endInterval();
    if (!this.problem && this.decoded < this.totalMcus)
      this.problem = `scan ends after ${this.decoded} of ${this.totalMcus} MCUs`;
  }

  private mcusLeftInInterval(): number {
    const left = this.totalMcus - this.decoded;
    return this.restartInterval > 0 ? Math.min(left, this.restartInterval - this.decodedInInterval) : left;
  }

  private endInterval(): void {
    this.atIntervalEnd = true;
    while (!this.problem && this.mcusLeftInInterval() > 0) this.decodeMcu();
    this.head = this.tail;
  }

  private decodeMcu(): void {
    for (const component of this.components) {
      for (let block = 0; block < component.blocks && !this.problem; block++) this.decodeBlock(component);
    }
    if (this.overran && !this.problem) this.problem = 'entropy-coded data ends inside an MCU';
    this.decoded++;
    this.decodedInInterval++;
  }

  private decodeBlock(component: ScanComponent): void {
    const dc = this.decodeSymbol(component.dc);
    if (dc < 0) return;
    if (dc > this.maxDcBits) return void (this.problem = 'DC difference out of range');
    this.skipBits(dc);
    for (let k = 1; k < 64;) {
      const rs = this.decodeSymbol(component.ac);
      if (rs < 0) return;
      const run = rs >> 4;
      const size = rs & 15;
      if (size === 0) {
        if (run !== 15) return;
        k += 16;
        if (k > 64) return void (this.problem = 'AC coefficients run past the block');
        continue;
      }
      if (size > this.maxAcBits) return void (this.problem = 'AC coefficient out of range');
      k += run;
      if (k > 63) return void (this.problem = 'AC coefficients run past the block');
      this.skipBits(size);
      k++;
    }
  }

  /** Makes at least 25 bits available; past the interval's data, 1s (the padding's value). */
  private fill(): void {
    while (this.bitCount <= 24) {
      let byte = 0xff;
      if (this.head < this.tail) byte = this.queue[this.head++]!;
      else if (this.atIntervalEnd) this.padBits += 8;
      // Bits above `bitCount` are stale; `peek` masks them and the shifts push them out.
      this.bits = (this.bits << 8) | byte;
      this.bitCount += 8;
    }
  }

  private peek(count: number): number {
    return (this.bits >>> (this.bitCount - count)) & ((1 << count) - 1);
  }

  private skipBits(count: number): void {
    if (count === 0) return;
    this.fill();
    this.consume(count);
  }

  private consume(count: number): void {
    this.bitCount -= count;
    if (this.bitCount < this.padBits) {
      this.overran = true;
      this.padBits = this.bitCount;
    }
  }

  /** The next symbol, or -1 (with `problem` set) on a code the table does not have. */
  private decodeSymbol(table: HuffmanTable): number {
    this.fill();
    const entry = table.fast[this.peek(FAST_BITS)]!;
    if (entry !== 0) {
      this.consume(entry >> 8);
      return entry & 0xff;
    }
    for (let length = FAST_BITS + 1; length <= 16; length++) {
      const code = this.peek(length);
      if (code <= table.maxCode[length]!) {
        this.consume(length);
        return table.symbols[table.offset[length]! + code]!;
      }
    }
    this.problem = 'Huffman code not in its table';
    return -1;
  }
}

type Phase = 'soi' | 'marker' | 'length' | 'payload' | 'entropy' | 'after-eoi' | 'trailing';

interface Component {
  id: number;
  h: number;
  v: number;
}

/** The frame header (SOFn) of the image being walked. */
interface Frame {
  marker: number;
  precision: number;
  width: number;
  height: number;
  components: Component[];
}

/** Sequential Huffman frames (baseline and extended), whose scans are decoded. */
const SEQUENTIAL_HUFFMAN = new Set([0xc0, 0xc1]);
const FF_BYTE = new Uint8Array([0xff]);

class JpegValidator extends StepWalk<Buffer> implements FormatWalk {
  private phase: Phase = 'soi';
  private small: number[] = [];
  /** Marker of the segment being read, and where its 0xFF is. */
  private marker = 0;
  private markerAt = 0;
  /** Saw a 0xFF and wait for the marker byte (in the marker phase, or in entropy-coded data). */
  private sawFf = false;
  private payload = new Uint8Array(0);
  private payloadFilled = 0;
  private skipLeft = 0;
  private components: Component[] | null = null;
  private frame: Frame | null = null;
  /** Huffman tables by class (DC 0–3, AC 4–7). */
  private tables: (HuffmanTable | null)[] = new Array<HuffmanTable | null>(8).fill(null);
  /** The Huffman decoder of the current scan, when it is a sequential Huffman scan within the budget. */
  private huffman: HuffmanScanCheck | null = null;
  private scanAt = 0;
  private uncheckedFrom: number | null = null;
  private hierarchical = false;
  private scans = 0;
  private segments = 0;
  private restartInterval = 0;
  private nextRestart = 0;
  private trailingBytes = 0;
  private trailingTail = 0;

  constructor(private readonly budget: DecodeBudget) {
    super();
  }

  update(chunk: Uint8Array): void {
    this.walkSteps(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }

  finish(): StructureVerdict {
    if (this.phase === 'after-eoi' || this.phase === 'trailing') {
      if (this.phase === 'trailing' && this.trailingTail === 0xffd9 && this.trailingBytes >= 2) {
        throw new Damage(
          'data after EOI ends with another EOI (the first was forged by damage)',
          this.offset - this.trailingBytes,
        );
      }
      return {
        status: 'valid',
        checkedBytes: this.uncheckedFrom ?? this.offset - this.trailingBytes,
        parts: this.segments,
      };
    }
    const where =
      this.phase === 'entropy'
        ? `inside the entropy-coded data of scan ${this.scans}`
        : this.phase === 'soi'
          ? 'inside SOI'
          : 'inside a marker segment';
    throw new Damage(`JPEG ends ${where}, before EOI`, this.offset);
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.offset, { parts: this.segments });
  }

  protected step(data: Buffer): Buffer {
    switch (this.phase) {
      case 'soi':
        return this.readSoi(data);
      case 'marker':
        return this.readMarker(data);
      case 'length':
        return this.readLength(data);
      case 'payload':
        return this.readPayload(data);
      case 'entropy':
        return this.scanEntropy(data);
      case 'after-eoi': {
        // Another image (MPO, multi-frame) or trailing data.
        if (data[0] === 0xff && this.small.length === 0) {
          this.small.push(0xff);
          return data.subarray(1);
        }
        if (this.small.length === 1 && data[0] === SOI) {
          this.small = [];
          this.startImage();
          return data.subarray(1);
        }
        this.trailingBytes = this.small.length;
        this.trailingTail = this.small.length ? 0xff : 0;
        this.small = [];
        this.phase = 'trailing';
        return data;
      }
      case 'trailing':
        this.trailingBytes += data.length;
        this.trailingTail =
          data.length >= 2
            ? (data[data.length - 2]! << 8) | data[data.length - 1]!
            : ((this.trailingTail << 8) | data[0]!) & 0xffff;
        return data.subarray(data.length);
    }
  }

  private readSoi(data: Buffer): Buffer {
    const take = Math.min(2 - this.small.length, data.length);
    for (let i = 0; i < take; i++) this.small.push(data[i]!);
    if (this.small.length < 2) return data.subarray(take);
    if (this.small[0] !== 0xff || this.small[1] !== SOI) throw new Damage('JPEG does not start with SOI', 0);
    this.small = [];
    this.startImage();
    return data.subarray(take);
  }

  private startImage(): void {
    this.components = null;
    this.frame = null;
    this.tables.fill(null);
    this.hierarchical = false;
    this.scans = 0;
    this.restartInterval = 0;
    this.phase = 'marker';
  }

  /** Expects 0xFF (fill bytes allowed) then a marker byte. */
  private readMarker(data: Buffer): Buffer {
    let i = 0;
    if (!this.sawFf) {
      if (data[0] !== 0xff) throw new Damage('bytes where a JPEG marker must be', this.offset);
      this.sawFf = true;
      this.markerAt = this.offset;
      i = 1;
    }
    while (i < data.length && data[i] === 0xff) {
      this.markerAt = this.offset + i;
      i++;
    }
    if (i === data.length) return data.subarray(i);
    this.sawFf = false;
    this.onMarker(data[i]!, this.markerAt);
    return data.subarray(i + 1);
  }

  /** A marker outside entropy-coded data (or one that ended a scan), with its 0xFF at `at`. */
  private onMarker(marker: number, at: number): void {
    this.marker = marker;
    this.markerAt = at;
    this.segments++;
    if (marker === EOI) {
      if (!this.components || this.scans === 0) throw new Damage('EOI before any image data', at);
      this.phase = 'after-eoi';
      return;
    }
    if (marker === TEM) return;
    // Only as the frame header: the same marker anywhere else is damage, not another codec.
    if (marker === SOF_JPEG_LS && !this.components) throw new Unsupported('JPEG-LS image');
    // JPGn extension markers: libjpeg rejects them, and after a frame they are damage.
    if (marker >= 0xf0 && marker <= 0xfd && this.components)
      throw new Damage(`JPEG extension marker 0x${marker.toString(16)} inside an image`, at);
    if (marker === SOI) throw new Damage('SOI inside an image', at);
    if (isRst(marker)) throw new Damage('restart marker outside entropy-coded data', at);
    if (!hasLength(marker)) throw new Damage(`reserved JPEG marker 0x${marker.toString(16)}`, at);
    this.small = [];
    this.phase = 'length';
  }

  private readLength(data: Buffer): Buffer {
    const take = Math.min(2 - this.small.length, data.length);
    for (let i = 0; i < take; i++) this.small.push(data[i]!);
    if (this.small.length < 2) return data.subarray(take);
    const length = (this.small[0]! << 8) | this.small[1]!;
    this.small = [];
    if (length < 2) throw new Damage('marker segment length under 2', this.markerAt + 2);
    const gatherWhole = PARSED.has(this.marker) || isSof(this.marker);
    this.payload = gatherWhole ? new Uint8Array(length - 2) : this.payload;
    this.payloadFilled = 0;
    this.skipLeft = gatherWhole ? 0 : length - 2;
    this.phase = 'payload';
    if (length === 2) this.endSegment();
    return data.subarray(take);
  }

  private readPayload(data: Buffer): Buffer {
    if (this.skipLeft > 0) {
      const take = Math.min(this.skipLeft, data.length);
      this.skipLeft -= take;
      if (this.skipLeft === 0) this.endSegment();
      return data.subarray(take);
    }
    const take = Math.min(this.payload.length - this.payloadFilled, data.length);
    this.payload.set(data.subarray(0, take), this.payloadFilled);
    this.payloadFilled += take;
    if (this.payloadFilled === this.payload.length) this.endSegment();
    return data.subarray(take);
  }

  /** The segment's payload is read (gathered or skipped): check it, then go on. */
  private endSegment(): void {
    const problem = this.checkSegment(this.marker, this.skipLeft === 0 ? this.payload : new Uint8Array(0));
    if (problem) throw new Damage(problem, this.markerAt);
    if (this.marker === SOS) {
      this.scans++;
      this.scanAt = this.markerAt;
      this.nextRestart = 0;
      this.phase = 'entropy';
      return;
    }
    this.phase = 'marker';
  }

  /** What is wrong with a parsed segment, or null. */
  private checkSegment(marker: number, p: Uint8Array): string | null {
    if (isSof(marker)) {
      if (this.components && !this.hierarchical) return 'second frame header (SOF) in one image';
      const count = p[5] ?? 0;
      if (p.length !== 6 + 3 * count || count === 0) return 'SOF length does not match its component count';
      const precision = p[0]!;
      const width = (p[3]! << 8) | p[4]!;
      if (precision < 2 || precision > 16 || width === 0) return 'SOF has an illegal precision or width';
      const components: Component[] = [];
      for (let c = 0; c < count; c++) {
        const sampling = p[7 + 3 * c]!;
        if (
          sampling >> 4 < 1 ||
          sampling >> 4 > 4 ||
          (sampling & 15) < 1 ||
          (sampling & 15) > 4 ||
          p[8 + 3 * c]! > 3
        )
          return 'SOF component has illegal sampling or table';
        components.push({ id: p[6 + 3 * c]!, h: sampling >> 4, v: sampling & 15 });
      }
      this.components = components;
      this.frame = { marker, precision, width, height: (p[1]! << 8) | p[2]!, components };
      return null;
    }
    switch (marker) {
      case DHT:
        for (let at = 0; at < p.length;) {
          if (p.length - at < 17 || p[at]! >> 4 > 1 || (p[at]! & 15) > 3) return 'DHT table is malformed';
          let symbols = 0;
          for (let i = 1; i <= 16; i++) symbols += p[at + i]!;
          if (symbols > 256 || at + 17 + symbols > p.length) return 'DHT table does not fit its segment';
          const table = buildHuffmanTable(
            p.subarray(at + 1, at + 17),
            p.subarray(at + 17, at + 17 + symbols),
          );
          if (!table) return 'DHT table has more codes than its lengths allow';
          this.tables[(p[at]! >> 4) * 4 + (p[at]! & 15)] = table;
          at += 17 + symbols;
        }
        return p.length === 0 ? 'empty DHT segment' : null;
      case DQT:
        for (let at = 0; at < p.length;) {
          const precision = p[at]! >> 4;
          if (precision > 1 || (p[at]! & 15) > 3) return 'DQT table is malformed';
          at += 1 + 64 * (precision + 1);
          if (at > p.length) return 'DQT table does not fit its segment';
        }
        return p.length === 0 ? 'empty DQT segment' : null;
      case DRI:
        if (p.length !== 2) return 'DRI segment has a wrong length';
        this.restartInterval = (p[0]! << 8) | p[1]!;
        return null;
      case DNL:
        return p.length === 2 ? null : 'DNL segment has a wrong length';
      case DAC:
        return p.length % 2 === 0 ? null : 'DAC segment has a wrong length';
      case SOS: {
        if (!this.components) return 'scan (SOS) before the frame header (SOF)';
        const count = p[0] ?? 0;
        if (count < 1 || count > 4 || p.length !== 4 + 2 * count)
          return 'SOS length does not match its component count';
        for (let c = 0; c < count; c++) {
          if (!this.components.some((component) => component.id === p[1 + 2 * c]))
            return 'SOS names a component the frame does not have';
          if (p[2 + 2 * c]! >> 4 > 3 || (p[2 + 2 * c]! & 15) > 3) return 'SOS names an illegal table';
        }
        const spectralStart = p[1 + 2 * count]!;
        const spectralEnd = p[2 + 2 * count]!;
        if (
          spectralStart > 63 ||
          spectralEnd > 63 ||
          p[3 + 2 * count]! >> 4 > 13 ||
          (p[3 + 2 * count]! & 15) > 13
        )
          return 'SOS has illegal spectral or approximation values';
        return this.prepareHuffmanCheck(p, count);
      }
      case DHP:
        this.hierarchical = true;
        return null;
      default:
        return null;
    }
  }

  /**
   * Sets up decoding of a sequential Huffman scan (progressive, arithmetic-coded, lossless and
   * DNL-sized scans keep to the marker grammar); a problem when it names an undefined table.
   */
  private prepareHuffmanCheck(p: Uint8Array, count: number): string | null {
    this.huffman = null;
    const frame = this.frame;
    if (
      !frame ||
      !SEQUENTIAL_HUFFMAN.has(frame.marker) ||
      frame.height === 0 ||
      (frame.precision !== 8 && frame.precision !== 12)
    )
      return null;
    const hMax = Math.max(...frame.components.map((c) => c.h));
    const vMax = Math.max(...frame.components.map((c) => c.v));
    const components: ScanComponent[] = [];
    for (let c = 0; c < count; c++) {
      const component = frame.components.find((candidate) => candidate.id === p[1 + 2 * c])!;
      const dc = this.tables[p[2 + 2 * c]! >> 4];
      const ac = this.tables[4 + (p[2 + 2 * c]! & 15)];
      if (!dc || !ac) return 'SOS uses a Huffman table that was not defined';
      components.push({ dc, ac, blocks: count === 1 ? 1 : component.h * component.v });
    }
    let mcus: number;
    if (count === 1) {
      const only = frame.components.find((candidate) => candidate.id === p[1])!;
      mcus =
        Math.ceil(Math.ceil((frame.width * only.h) / hMax) / 8) *
        Math.ceil(Math.ceil((frame.height * only.v) / vMax) / 8);
    } else {
      mcus = Math.ceil(frame.width / (8 * hMax)) * Math.ceil(frame.height / (8 * vMax));
    }
    const twelveBit = frame.precision === 12;
    this.huffman = new HuffmanScanCheck(
      components,
      mcus,
      this.restartInterval,
      twelveBit ? 15 : 11,
      twelveBit ? 14 : 10,
    );
    return null;
  }

  /** Hands entropy-coded bytes to the scan's decoder, within the decode budget. */
  private decodeEntropy(bytes: Uint8Array): void {
    const huffman = this.huffman;
    if (!huffman || bytes.length === 0) return;
    if (this.budget.take(bytes.length) < bytes.length) {
      this.uncheckedFrom ??= this.scanAt;
      this.huffman = null;
      return;
    }
    huffman.push(bytes);
    this.judgeHuffman();
  }

  private judgeHuffman(): void {
    if (this.huffman?.problem) throw new Damage(`scan ${this.scans}: ${this.huffman.problem}`, this.scanAt);
  }

  /** Entropy-coded data: finds each 0xFF and judges the byte after it. */
  private scanEntropy(data: Buffer): Buffer {
    let i = 0;
    for (;;) {
      if (!this.sawFf) {
        const ff = data.indexOf(0xff, i);
        this.decodeEntropy(data.subarray(i, ff < 0 ? data.length : ff));
        if (ff < 0) return data.subarray(data.length);
        this.sawFf = true;
        this.markerAt = this.offset + ff;
        i = ff + 1;
      }
      if (i >= data.length) return data.subarray(data.length);
      const next = data[i]!;
      if (next === 0xff) {
        // Fill byte before a marker: the marker's 0xFF is the last one.
        this.markerAt = this.offset + i;
        i++;
        continue;
      }
      this.sawFf = false;
      i++;
      if (next === 0x00) {
        this.decodeEntropy(FF_BYTE);
        continue;
      }
      if (isRst(next)) {
        if (this.restartInterval === 0)
          throw new Damage('restart marker in a scan without a restart interval', this.markerAt);
        if (next - RST0 !== this.nextRestart)
          throw new Damage(
            `restart marker RST${next - RST0} out of sequence (expected RST${this.nextRestart})`,
            this.markerAt,
          );
        this.nextRestart = (this.nextRestart + 1) % 8;
        this.huffman?.restart();
        this.judgeHuffman();
        continue;
      }
      // Any other marker ends the scan.
      this.huffman?.end();
      this.judgeHuffman();
      this.huffman = null;
      this.onMarker(next, this.markerAt);
      return data.subarray(i);
    }
  }
}

/** JPEG: SOI followed by the 0xFF of a marker (JFIF, EXIF, raw DQT…). */
export const jpegValidator: ValidatorDefinition = {
  type: 'jpeg',
  matches(head: Uint8Array): boolean {
    return (
      head.length >= 4 &&
      head[0] === 0xff &&
      head[1] === SOI &&
      head[2] === 0xff &&
      head[3] !== 0xff &&
      head[3] !== 0x00
    );
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new JpegValidator(new DecodeBudget(limits)));
  },
};
