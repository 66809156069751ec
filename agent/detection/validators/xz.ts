/**
 * xz (the .xz file format 1.x): a structural walk of every stream, without decompressing.
 *
 * Checked: the stream header (magic, flags, CRC-32); each block header (size, flags, sizes,
 * filter chain ending in LZMA2, padding, CRC-32); the LZMA2 chunk headers inside each block —
 * control byte, unpacked and packed sizes, properties, the dictionary-reset and properties
 * rules, and the zero byte every LZMA chunk's range coder starts with — walked chunk to chunk
 * until the end marker, which must land exactly where the block header's compressed size (when
 * present) says; block padding; the index (its records must equal the unpadded and uncompressed
 * sizes of the blocks walked), its padding and CRC-32; the stream footer (CRC-32, backward size
 * equal to the index size, flags equal to the header's, `YZ`); stream padding; and any further
 * streams.
 *
 * Not checked: the block check (CRC-32/CRC-64/SHA-256 of the uncompressed data), which needs a
 * full LZMA decoder. npm has no well-kept synchronous streaming one (xz-decompress is
 * WebAssembly behind async web streams; @napi-rs/lzma decodes whole buffers natively), so bytes
 * changed inside a chunk's compressed data go unseen unless they hit a chunk header or the
 * stream's tail. Encryption that starts at byte 0 destroys the stream header, and encryption
 * that spares it breaks the chunk chain or the index: a small file is a single chunk followed by
 * the ~24-byte index and footer, which a 16-on/16-off pattern cannot miss and a 64-on/192-off
 * pattern misses about two times in three; files with many chunks are caught almost surely.
 */
import { crc32 } from 'node:zlib';
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { Field, u32le } from './bytes.js';
import {
  Damage,
  guardedValidator,
  Malformed,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const HEADER_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const LZMA2_FILTER = 0x21;
/** Check field sizes by check ID (xz format 3.4). */
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];

/** Reads a multibyte integer (xz format 1.2) from `bytes` at `at`; throws `Malformed` when it is. */
function readVli(bytes: Uint8Array, at: number, end: number): { value: number; next: number } {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (at + i >= end) throw new Malformed('integer runs past its field');
    const byte = bytes[at + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new Malformed('integer is not minimally encoded');
      return { value, next: at + i + 1 };
    }
  }
  throw new Malformed('integer is longer than 9 bytes');
}

type Phase =
  | 'stream-header'
  | 'block-or-index'
  | 'block-header'
  | 'chunk-control'
  | 'chunk-header'
  | 'chunk-first-byte'
  | 'chunk-data'
  | 'block-padding'
  | 'block-check'
  | 'index'
  | 'stream-footer'
  | 'stream-padding';

class XzValidator implements FormatWalk {
  private phase: Phase = 'stream-header';
  private readonly field = new Field(1024, 12);
  private position = 0;
  private streams = 0;
  private blocks = 0;

  // Stream state.
  private streamFlags = 0;
  private checkSize = 0;
  private blockRecordsCrc = 0;
  private blockCount = 0;

  // Block state.
  private blockHeaderSize = 0;
  private declaredCompressed: number | null = null;
  private declaredUncompressed: number | null = null;
  private blockDataStart = 0;
  private uncompressed = 0;
  private needDictionaryReset = true;
  private needProperties = true;
  private remaining = 0;
  private chunkIsLzma = false;

  // Index state, parsed a byte at a time.
  private indexStart = 0;
  private indexCrc = 0;
  private indexRecordsCrc = 0;
  private indexRecords = -1;
  private indexRecordsRead = 0;
  private vliValue = 0;
  private vliBytes = 0;
  private pendingUnpadded = -1;
  private indexPaddingLeft = -1;
  private indexCrcBytes = -1;
  private storedIndexCrc = 0;

  private streamPadding = 0;

  update(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      switch (this.phase) {
        case 'chunk-data':
        case 'block-check': {
          const take = Math.min(this.remaining, chunk.length - at);
          at += take;
          this.position += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            if (this.phase === 'chunk-data') this.expect('chunk-control', 1);
            else this.blockDone();
          }
          break;
        }
        case 'index': {
          const end = this.indexBytes(chunk, at);
          this.position += end - at;
          at = end;
          break;
        }
        case 'stream-padding': {
          while (at < chunk.length && chunk[at] === 0) {
            at++;
            this.position++;
            this.streamPadding++;
          }
          if (at < chunk.length) {
            if (this.streamPadding % 4 !== 0)
              throw new Damage('stream padding is not a multiple of 4 bytes', this.position);
            this.expect('stream-header', 12);
          }
          break;
        }
        case 'block-padding': {
          if (chunk[at] !== 0) throw new Damage('non-zero block padding', this.position);
          at++;
          this.position++;
          if (--this.remaining === 0) this.startCheck();
          break;
        }
        default: {
          const take = this.field.take(chunk, at, this.position);
          at += take;
          this.position += take;
          if (this.field.complete) this.fieldDone();
        }
      }
    }
  }

  finish(): StructureVerdict {
    if (this.phase !== 'stream-padding')
      throw new Damage(
        this.streams === 0 && this.phase === 'stream-header'
          ? 'no complete stream header'
          : `data ends inside stream ${this.streams + 1}`,
        this.position,
      );
    if (this.streamPadding % 4 !== 0)
      throw new Damage('stream padding is not a multiple of 4 bytes', this.position);
    return { status: 'valid', checkedBytes: this.position, parts: this.blocks };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.status === 'invalid' ? stop.offset : this.position, { parts: this.blocks });
  }

  private expect(phase: Phase, bytes: number): void {
    this.phase = phase;
    this.field.expect(bytes);
  }

  private fieldDone(): void {
    switch (this.phase) {
      case 'stream-header':
        return this.streamHeader();
      case 'block-or-index': {
        const first = this.field.bytes[0]!;
        if (first === 0) return this.startIndex();
        this.blockHeaderSize = (first + 1) * 4;
        this.phase = 'block-header';
        this.field.need = this.blockHeaderSize;
        return;
      }
      case 'block-header':
        return this.blockHeader();
      case 'chunk-control':
        return this.chunkControl();
      case 'chunk-header':
        return this.chunkHeader();
      case 'chunk-first-byte':
        return this.chunkFirstByte();
      case 'stream-footer':
        return this.streamFooter();
      default:
        throw new Error(`unexpected phase ${this.phase}`);
    }
  }

  private streamHeader(): void {
    const f = this.field.bytes;
    if (!HEADER_MAGIC.every((byte, i) => f[i] === byte))
      throw new Damage(
        this.streams === 0 ? 'not an xz stream header' : `bad magic in stream ${this.streams + 1}`,
        this.field.start,
      );
    if (f[6] !== 0 || (f[7]! & 0xf0) !== 0)
      throw new Damage('reserved stream flags are set', this.field.start + 6);
    if (crc32(f.subarray(6, 8)) !== u32le(f, 8))
      throw new Damage('stream header CRC-32 mismatch', this.field.start + 8);
    this.streamFlags = f[7]!;
    this.checkSize = CHECK_SIZES[f[7]!]!;
    this.blockRecordsCrc = 0;
    this.blockCount = 0;
    this.streamPadding = 0;
    this.expect('block-or-index', 1);
  }

  private blockHeader(): void {
    const f = this.field.bytes;
    const start = this.field.start;
    const size = this.blockHeaderSize;
    if (crc32(f.subarray(0, size - 4)) !== u32le(f, size - 4))
      throw new Damage(`block ${this.blocks + 1} header CRC-32 mismatch`, start + size - 4);
    const flags = f[1]!;
    if (flags & 0x3c) throw new Damage(`reserved block flags are set in block ${this.blocks + 1}`, start + 1);
    const end = size - 4;
    try {
      let at = 2;
      this.declaredCompressed = null;
      this.declaredUncompressed = null;
      if (flags & 0x40) ({ value: this.declaredCompressed, next: at } = readVli(f, at, end));
      if (flags & 0x80) ({ value: this.declaredUncompressed, next: at } = readVli(f, at, end));
      if (this.declaredCompressed === 0) throw new Malformed('compressed size is zero');
      let lastFilter = -1;
      for (let i = 0; i <= (flags & 3); i++) {
        const id = readVli(f, at, end);
        const propertiesSize = readVli(f, id.next, end);
        at = propertiesSize.next + propertiesSize.value;
        if (at > end) throw new Malformed('filter properties run past the header');
        lastFilter = id.value;
        if (id.value === LZMA2_FILTER && (propertiesSize.value !== 1 || f[propertiesSize.next]! > 40))
          throw new Malformed('bad LZMA2 properties');
      }
      for (; at < end; at++) if (f[at] !== 0) throw new Malformed('non-zero header padding');
      if (lastFilter !== LZMA2_FILTER)
        throw new Unsupported(
          `block ${this.blocks + 1} ends its filter chain with filter 0x${lastFilter.toString(16)}, not LZMA2`,
        );
    } catch (error) {
      if (!(error instanceof Malformed)) throw error;
      throw new Damage(`malformed block ${this.blocks + 1} header: ${error.message}`, start, {
        cause: error,
      });
    }
    this.blockDataStart = this.position;
    this.uncompressed = 0;
    this.needDictionaryReset = true;
    this.needProperties = true;
    this.expect('chunk-control', 1);
  }

  private chunkControl(): void {
    const control = this.field.bytes[0]!;
    const at = this.field.start;
    if (control === 0) return this.blockDataEnd();
    if (control >= 0xe0 || control === 1) {
      this.needProperties = true;
      this.needDictionaryReset = false;
    } else if (this.needDictionaryReset) {
      throw new Damage(
        `LZMA2 chunk without the dictionary reset a block starts with (control 0x${control.toString(16)})`,
        at,
      );
    }
    if (control >= 0x80) {
      const reset = (control >> 5) & 3;
      if (reset >= 2) this.needProperties = false;
      else if (this.needProperties)
        throw new Damage(
          `LZMA2 chunk without the properties it needs (control 0x${control.toString(16)})`,
          at,
        );
      this.chunkIsLzma = true;
      this.phase = 'chunk-header';
      this.field.need = reset >= 2 ? 6 : 5;
      return;
    }
    if (control > 2) throw new Damage(`invalid LZMA2 control byte 0x${control.toString(16)}`, at);
    this.chunkIsLzma = false;
    this.phase = 'chunk-header';
    this.field.need = 3;
  }

  private chunkHeader(): void {
    const f = this.field.bytes;
    if (this.chunkIsLzma) {
      this.uncompressed += ((f[0]! & 0x1f) << 16) + ((f[1]! << 8) | f[2]!) + 1;
      const packed = ((f[3]! << 8) | f[4]!) + 1;
      // lc + lp <= 4 and pb <= 4 (LZMA2 restricts LZMA's lc/lp/pb): properties byte under 225 with lc + lp <= 4.
      if (this.field.need === 6) {
        const properties = f[5]!;
        const lc = properties % 9;
        const lp = Math.floor(properties / 9) % 5;
        if (properties >= 225 || lc + lp > 4)
          throw new Damage(
            `invalid LZMA2 properties byte 0x${properties.toString(16)}`,
            this.field.start + 5,
          );
      }
      this.remaining = packed;
      this.expect('chunk-first-byte', 1);
      return;
    }
    const size = ((f[1]! << 8) | f[2]!) + 1;
    this.uncompressed += size;
    this.remaining = size;
    this.phase = 'chunk-data';
  }

  /** Every LZMA chunk starts a new range coder, whose first byte is always zero. */
  private chunkFirstByte(): void {
    if (this.field.bytes[0] !== 0)
      throw new Damage(
        'LZMA chunk data does not start with the zero byte of a new range coder',
        this.field.start,
      );
    this.remaining -= 1;
    if (this.remaining > 0) this.phase = 'chunk-data';
    else this.expect('chunk-control', 1);
  }

  private blockDataEnd(): void {
    const compressed = this.position - this.blockDataStart;
    const block = this.blocks + 1;
    if (this.declaredCompressed !== null && compressed !== this.declaredCompressed) {
      throw new Damage(
        `block ${block} compressed data is ${compressed} bytes, its header says ${this.declaredCompressed}`,
        this.position - 1,
      );
    }
    if (this.declaredUncompressed !== null && this.uncompressed !== this.declaredUncompressed) {
      throw new Damage(
        `block ${block} chunks hold ${this.uncompressed} bytes, its header says ${this.declaredUncompressed}`,
        this.position - 1,
      );
    }
    const unpaddedWithoutCheck = this.blockHeaderSize + compressed;
    this.pendingUnpadded = unpaddedWithoutCheck + this.checkSize;
    this.remaining = (4 - (unpaddedWithoutCheck % 4)) % 4;
    if (this.remaining > 0) this.phase = 'block-padding';
    else this.startCheck();
  }

  private startCheck(): void {
    this.remaining = this.checkSize;
    this.phase = 'block-check';
    if (this.remaining === 0) this.blockDone();
  }

  private blockDone(): void {
    this.blocks += 1;
    this.blockCount += 1;
    this.blockRecordsCrc = crc32(recordBytes(this.pendingUnpadded, this.uncompressed), this.blockRecordsCrc);
    this.expect('block-or-index', 1);
  }

  private startIndex(): void {
    this.phase = 'index';
    this.indexStart = this.field.start;
    this.indexCrc = crc32(Uint8Array.of(0));
    this.indexRecordsCrc = 0;
    this.indexRecords = -1;
    this.indexRecordsRead = 0;
    this.vliValue = 0;
    this.vliBytes = 0;
    this.pendingUnpadded = -1;
    this.indexPaddingLeft = -1;
    this.indexCrcBytes = -1;
    this.storedIndexCrc = 0;
  }

  /** Consumes index bytes from `chunk` at `start`; returns where the index (or the chunk) ends. */
  private indexBytes(chunk: Uint8Array, start: number): number {
    let at = start;
    while (at < chunk.length) {
      const byte = chunk[at]!;
      const offset = this.position + (at - start);
      if (this.indexCrcBytes >= 0) {
        this.storedIndexCrc += byte * 2 ** (8 * this.indexCrcBytes);
        at++;
        start = at; // the stored CRC is not part of what it covers
        if (++this.indexCrcBytes === 4) {
          if (this.storedIndexCrc !== this.indexCrc) throw new Damage('index CRC-32 mismatch', offset - 3);
          this.expect('stream-footer', 12);
          return at;
        }
        continue;
      }
      if (this.indexPaddingLeft >= 0) {
        if (this.indexPaddingLeft === 0) {
          this.indexCrc = crc32(chunk.subarray(start, at), this.indexCrc);
          start = at;
          this.indexCrcBytes = 0;
          continue;
        }
        if (byte !== 0) throw new Damage('non-zero index padding', offset);
        this.indexPaddingLeft--;
        at++;
        continue;
      }
      at++;
      if (this.vliBytes === 9) throw new Damage('index integer is longer than 9 bytes', offset);
      if (byte === 0 && this.vliBytes > 0) throw new Damage('index integer is not minimally encoded', offset);
      this.vliValue += (byte & 0x7f) * 2 ** (7 * this.vliBytes++);
      if (byte & 0x80) continue;
      const value = this.vliValue;
      this.vliValue = 0;
      this.vliBytes = 0;
      this.indexValue(value, offset);
      if (this.indexRecords >= 0 && this.indexRecordsRead === this.indexRecords && this.pendingUnpadded < 0) {
        if (this.indexRecordsCrc !== this.blockRecordsCrc)
          throw new Damage('index records do not match the blocks', offset);
        const length = offset + 1 - this.indexStart;
        this.indexPaddingLeft = (4 - (length % 4)) % 4;
      }
    }
    this.indexCrc = crc32(chunk.subarray(start, at), this.indexCrc);
    return at;
  }

  private indexValue(value: number, offset: number): void {
    if (this.indexRecords < 0) {
      if (value !== this.blockCount)
        throw new Damage(`index lists ${value} blocks, the stream has ${this.blockCount}`, offset);
      this.indexRecords = value;
      this.pendingUnpadded = -1;
      return;
    }
    if (this.pendingUnpadded < 0) {
      this.pendingUnpadded = value;
      return;
    }
    this.indexRecordsCrc = crc32(recordBytes(this.pendingUnpadded, value), this.indexRecordsCrc);
    this.pendingUnpadded = -1;
    this.indexRecordsRead += 1;
  }

  private streamFooter(): void {
    const f = this.field.bytes;
    const start = this.field.start;
    if (f[10] !== 0x59 || f[11] !== 0x5a) throw new Damage('stream footer magic is not YZ', start + 10);
    if (crc32(f.subarray(4, 10)) !== u32le(f, 0)) throw new Damage('stream footer CRC-32 mismatch', start);
    if (f[8] !== 0 || f[9] !== this.streamFlags)
      throw new Damage('stream footer flags differ from the header', start + 8);
    const indexSize = (u32le(f, 4) + 1) * 4;
    if (indexSize !== start - this.indexStart)
      throw new Damage(
        `stream footer's backward size ${indexSize} is not the index size ${start - this.indexStart}`,
        start + 4,
      );
    this.streams += 1;
    this.phase = 'stream-padding';
    this.streamPadding = 0;
  }
}

/** An index record as 16 bytes, hashed in walk order on both sides (as liblzma's index hash does). */
function recordBytes(unpadded: number, uncompressed: number): Uint8Array {
  const bytes = Buffer.alloc(16);
  bytes.writeDoubleLE(unpadded, 0);
  bytes.writeDoubleLE(uncompressed, 8);
  return bytes;
}

export const xzValidator: ValidatorDefinition = {
  type: 'xz',
  matches(head: Uint8Array): boolean {
    // The 6-byte magic alone: a damaged header behind it is the validator's to report.
    return head.length >= 6 && HEADER_MAGIC.every((byte, i) => head[i] === byte);
  },
  create(_size: number, _limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new XzValidator());
  },
};
