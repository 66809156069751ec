/**
 * gzip (RFC 1952): every member's header (FEXTRA, FNAME, FCOMMENT and the FHCRC header CRC when
 * present), its deflate data inflating to the end, and its trailer's CRC-32 and ISIZE matching
 * what came out. Members follow one another (concatenated gzip files, pigz, bgzip); after the
 * last one only zero padding may follow (gzip itself warns about anything else, and an intact
 * file written by a gzip tool has none).
 *
 * Deflate has no framing of its own: once a cap stops decoding, nothing after that point can be
 * found, so the verdict is `valid` with `checkedBytes` where decoding stopped.
 */
import { crc32 } from 'node:zlib';
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { u16le, u32le } from './bytes.js';
import { DecodeBudget, StreamInflater } from './inflate-check.js';
import { Damage, guardedValidator, stopVerdict, type FormatWalk, type Stop } from './validator-kit.js';

const FTEXT_RESERVED = 0xe0;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const TRAILER_BYTES = 8;

type HeaderStep = 'fixed' | 'xlen' | 'extra' | 'name' | 'comment' | 'hcrc' | 'done';

/** Reads one member header across chunks, byte by byte where it must (NUL-terminated fields). */
class GzipHeaderReader {
  step: HeaderStep = 'fixed';
  /** Set when the header is malformed: what is wrong, and at which byte of the header. */
  problem: { detail: string; at: number } | null = null;
  /** Header bytes consumed so far. */
  length = 0;
  private fields: number[] = [];
  private flags = 0;
  private extraLeft = 0;
  private crc = 0;

  /** Consumes header bytes from `data`; returns how many it used (all of them unless the header ended or is malformed). */
  consume(data: Uint8Array): number {
    let used = 0;
    while (used < data.length && this.step !== 'done' && !this.problem) {
      const before = used;
      const step = this.step;
      switch (step) {
        case 'fixed':
          used += this.gather(data.subarray(used), 10);
          if (this.fields.length === 10) this.checkFixed();
          break;
        case 'xlen':
          used += this.gather(data.subarray(used), 2);
          if (this.fields.length === 2) {
            this.extraLeft = u16le(this.fields, 0);
            this.fields = [];
            this.step = 'extra';
          }
          break;
        case 'extra': {
          const take = Math.min(this.extraLeft, data.length - used);
          used += take;
          this.extraLeft -= take;
          if (this.extraLeft === 0) this.step = this.afterExtra();
          break;
        }
        case 'name':
        case 'comment': {
          const nul = data.indexOf(0, used);
          used = nul < 0 ? data.length : nul + 1;
          if (nul >= 0)
            this.step = this.step === 'name' && this.flags & FCOMMENT ? 'comment' : this.afterComment();
          break;
        }
        case 'hcrc':
          used += this.gather(data.subarray(used), 2);
          if (this.fields.length === 2) {
            const stored = u16le(this.fields, 0);
            if (stored !== (this.crc & 0xffff))
              this.problem = { detail: 'gzip header CRC-16 mismatch', at: this.length + used - 2 };
            this.step = 'done';
          }
          break;
      }
      // FHCRC covers every header byte before it.
      if (step !== 'hcrc') this.crc = crc32(data.subarray(before, used), this.crc);
    }
    this.length += used;
    return used;
  }

  private gather(data: Uint8Array, count: number): number {
    const take = Math.min(count - this.fields.length, data.length);
    for (let i = 0; i < take; i++) this.fields.push(data[i]!);
    return take;
  }

  private checkFixed(): void {
    const [id1, id2, method, flags] = this.fields as [number, number, number, number];
    if (id1 !== 0x1f || id2 !== 0x8b) this.problem = { detail: 'gzip magic missing', at: 0 };
    else if (method !== 8)
      this.problem = { detail: `gzip compression method ${method} is not deflate`, at: 2 };
    else if (flags & FTEXT_RESERVED)
      this.problem = { detail: 'gzip header has reserved flag bits set', at: 3 };
    this.flags = flags;
    this.fields = [];
    this.step = flags & FEXTRA ? 'xlen' : this.afterExtra();
  }

  private afterExtra(): HeaderStep {
    return this.flags & FNAME ? 'name' : this.flags & FCOMMENT ? 'comment' : this.afterComment();
  }

  private afterComment(): HeaderStep {
    return this.flags & FHCRC ? 'hcrc' : 'done';
  }
}

type Phase = 'header' | 'deflate' | 'trailer' | 'padding' | 'capped';

class GzipValidator implements FormatWalk {
  private phase: Phase = 'header';
  /** Absolute offset of the next byte `update` will look at. */
  private offset = 0;
  private members = 0;
  private header = new GzipHeaderReader();
  private memberStart = 0;
  private dataStart = 0;
  private inflater: StreamInflater | null = null;
  private trailer: number[] = [];
  private checkedBytes = 0;

  constructor(private readonly budget: DecodeBudget) {}

  update(chunk: Uint8Array): void {
    if (this.phase === 'capped') return;
    this.walk(chunk);
  }

  finish(): StructureVerdict {
    // Staged input may hold the rest of the file (all of it, for a small one fed in small chunks): member after member.
    while (this.phase === 'deflate') {
      const rest = this.inflater!.end();
      if (this.settleInflater()) this.walk(rest);
    }
    switch (this.phase) {
      case 'capped':
        return { status: 'valid', checkedBytes: this.checkedBytes, parts: this.members };
      case 'header':
        if (this.header.length === 0 && this.members > 0) break;
        throw new Damage(
          this.members === 0 && this.header.length === 0
            ? 'gzip data is empty'
            : `gzip data ends inside the header of member ${this.members + 1}`,
          this.offset,
        );
      case 'trailer':
        throw new Damage(`gzip data ends inside the trailer of member ${this.members + 1}`, this.offset);
      default:
        break;
    }
    return { status: 'valid', checkedBytes: this.offset, parts: this.members };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.offset, { parts: this.members });
  }

  /** Runs the member state machine over `data`. */
  private walk(data: Uint8Array): void {
    while (data.length > 0 && this.phase !== 'capped') {
      switch (this.phase) {
        case 'header': {
          if (this.header.length === 0 && this.members > 0 && data[0] === 0) {
            this.phase = 'padding';
            break;
          }
          const used = this.header.consume(data);
          const problem = this.header.problem;
          if (problem) {
            const detail =
              this.members > 0 && problem.at < 2
                ? `data after gzip member ${this.members} is neither a member nor zero padding`
                : problem.detail;
            throw new Damage(detail, this.memberStart + problem.at);
          }
          this.offset += used;
          data = data.subarray(used);
          if (this.header.step === 'done') {
            this.dataStart = this.offset;
            this.inflater = new StreamInflater({ wrapper: 'raw', crc32: true, budget: this.budget });
            this.phase = 'deflate';
          }
          break;
        }
        case 'deflate': {
          const rest = this.inflater!.push(data);
          this.offset += data.length - rest.length;
          if (!this.settleInflater()) return;
          data = rest;
          break;
        }
        case 'trailer': {
          const take = Math.min(TRAILER_BYTES - this.trailer.length, data.length);
          for (let i = 0; i < take; i++) this.trailer.push(data[i]!);
          this.offset += take;
          data = data.subarray(take);
          if (this.trailer.length === TRAILER_BYTES) this.checkTrailer();
          break;
        }
        case 'padding': {
          const nonZero = data.findIndex((byte) => byte !== 0);
          if (nonZero >= 0)
            throw new Damage(
              `data after gzip member ${this.members} is neither a member nor zero padding`,
              this.offset + nonZero,
            );
          this.offset += data.length;
          data = data.subarray(data.length);
          break;
        }
      }
    }
  }

  /** Acts on the member's inflater after it was fed; false when the walk stops here. */
  private settleInflater(): boolean {
    const inflater = this.inflater!;
    switch (inflater.state) {
      case 'running':
        return true;
      case 'ended':
        this.offset = this.dataStart + inflater.inputBytes;
        this.phase = 'trailer';
        return true;
      case 'capped':
        this.checkedBytes = this.dataStart + inflater.inputBytes;
        this.phase = 'capped';
        return false;
      case 'failed':
        // A member cut short is reported where the bytes end (a file cut short, not encrypted).
        if (inflater.truncated)
          throw new Damage(
            `gzip member ${this.members + 1} is cut short`,
            this.dataStart + inflater.inputBytes,
          );
        throw new Damage(`gzip member ${this.members + 1}: ${inflater.failure}`, this.dataStart);
    }
  }

  private checkTrailer(): void {
    const crc = u32le(this.trailer, 0);
    const isize = u32le(this.trailer, 4);
    const inflater = this.inflater!;
    const at = this.offset - TRAILER_BYTES;
    // The member inflated to its end, which encrypted deflate data never does: a checksum that
    // still fails is damage confined to this member (a flipped bit).
    const localized = { damagedBytes: this.offset - this.memberStart };
    if (crc !== inflater.crc)
      throw new Damage(`CRC-32 mismatch in gzip member ${this.members + 1} (it inflates to its end)`, at, {
        localized,
      });
    if (isize !== inflater.outputBytes % 2 ** 32)
      throw new Damage(`ISIZE mismatch in gzip member ${this.members + 1} (it inflates to its end)`, at + 4, {
        localized,
      });
    this.members++;
    this.trailer = [];
    this.inflater = null;
    this.header = new GzipHeaderReader();
    this.memberStart = this.offset;
    this.phase = 'header';
  }
}

/** gzip: the magic, deflate as method, and no reserved flag bits (other formats rarely start 1f 8b 08). */
export const gzipValidator: ValidatorDefinition = {
  type: 'gzip',
  matches(head: Uint8Array): boolean {
    return (
      head.length >= 4 &&
      head[0] === 0x1f &&
      head[1] === 0x8b &&
      head[2] === 8 &&
      (head[3]! & FTEXT_RESERVED) === 0
    );
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new GzipValidator(new DecodeBudget(limits)));
  },
};
