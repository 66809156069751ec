/**
 * Unix `ar` archives (Debian packages, static libraries): the `!<arch>\n` signature, then members,
 * each a 60-byte header — name, decimal mtime, uid, gid, octal mode and decimal size fields, the
 * `` `\n `` terminator — followed by its data and a newline pad to an even offset, to the very end
 * of the file (an archive of no members, the signature alone, is valid: glibc's stub libraries
 * `librt.a`, `libdl.a`). Member contents (a .deb's control.tar.xz and data.tar.xz) are not decoded: ransomware
 * that keeps a package's first bytes (header-kept, intermittent) breaks the next member header,
 * and one that encrypts a whole member breaks the file's end.
 */
import type { StructureValidator, StructureVerdict, ValidatorDefinition } from '../validator.js';
import {
  Damage,
  guardedValidator,
  StepWalk,
  stopVerdict,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const SIGNATURE = '!<arch>\n';
const HEADER_BYTES = 60;

/** Field [start, length) holds `pattern` padded with spaces (it may be all spaces where allowed). */
function field(header: Uint8Array, start: number, length: number, digits: RegExp): string | null {
  const text = Buffer.from(header.subarray(start, start + length)).toString('latin1');
  const value = text.trimEnd();
  if (value.length > 0 && !digits.test(value)) return null;
  return value;
}

class ArWalk extends StepWalk implements FormatWalk {
  private header: number[] = [];
  private signatureSeen = false;
  private dataLeft = 0;
  private members = 0;
  private inMember = false;
  private headerStart = 0;

  update(chunk: Uint8Array): void {
    this.walkSteps(chunk);
  }

  finish(): StructureVerdict {
    if (!this.signatureSeen) throw new Damage('ar data ends inside the signature', this.offset);
    if (this.inMember || this.dataLeft > 0)
      throw new Damage(`ar data ends inside member ${this.members + 1}`, this.offset);
    if (this.header.length > 0)
      throw new Damage(`ar data ends inside the header of member ${this.members + 1}`, this.offset);
    // No members is a real archive: glibc ships librt.a, libdl.a… as just the signature.
    return { status: 'valid', checkedBytes: this.offset, parts: this.members };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.offset, { parts: this.members });
  }

  protected step(data: Uint8Array): Uint8Array {
    if (this.dataLeft > 0) {
      const take = Math.min(this.dataLeft, data.length);
      this.dataLeft -= take;
      if (this.dataLeft === 0) this.inMember = false;
      return data.subarray(take);
    }
    const want = this.signatureSeen ? HEADER_BYTES : SIGNATURE.length;
    if (this.header.length === 0) this.headerStart = this.offset;
    const take = Math.min(want - this.header.length, data.length);
    for (let i = 0; i < take; i++) this.header.push(data[i]!);
    if (this.header.length === want) this.completeHeader();
    return data.subarray(take);
  }

  private completeHeader(): void {
    const bytes = Uint8Array.from(this.header);
    this.header = [];
    if (!this.signatureSeen) {
      if (Buffer.from(bytes).toString('latin1') !== SIGNATURE) throw new Damage('ar signature is damaged', 0);
      this.signatureSeen = true;
      return;
    }
    const at = this.headerStart;
    if (bytes[58] !== 0x60 || bytes[59] !== 0x0a)
      throw new Damage(`ar member ${this.members + 1}: header terminator is damaged`, at);
    const name = Buffer.from(bytes.subarray(0, 16)).toString('latin1');
    if (!/^[\x20-\x7e]+$/.test(name))
      throw new Damage(`ar member ${this.members + 1}: name is not printable`, at);
    const numbers = [
      field(bytes, 16, 12, /^\d+$/),
      field(bytes, 28, 6, /^\d+$/),
      field(bytes, 34, 6, /^\d+$/),
      field(bytes, 40, 8, /^[0-7]+$/),
    ];
    const size = field(bytes, 48, 10, /^\d+$/);
    if (numbers.some((value) => value === null) || size === null || size === '')
      throw new Damage(`ar member ${this.members + 1}: header fields are not numbers`, at);
    const length = Number(size);
    this.members++;
    this.dataLeft = length + (length % 2);
    this.inMember = this.dataLeft > 0;
  }
}

/** ar: the `!<arch>\n` signature (thin archives, `!<thin>\n`, are not matched). */
export const arValidator: ValidatorDefinition = {
  type: 'ar',
  matches: (head) => head.length >= 8 && Buffer.from(head.subarray(0, 8)).toString('latin1') === SIGNATURE,
  create: (): StructureValidator => guardedValidator(new ArWalk()),
};
