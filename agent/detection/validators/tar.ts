/**
 * tar (POSIX ustar, GNU, PAX, and pre-POSIX v7): every 512-byte header must carry a correct
 * checksum, member sizes (from the header, base-256 for big files, or a PAX `size` record) must
 * walk exactly from header to header, and the archive must end with end-of-archive zero blocks
 * followed by nothing but zeros (tar pads to its 10240-byte record size). Member data is not
 * looked at: it is each member's own format's business, and a tar reader checks it when it
 * reads the members.
 *
 * Encryption that keeps the first header intact still lands on later headers or on the zero
 * padding at the end, which covers at least 1 KiB of every archive.
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
  Malformed,
  stopVerdict,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const BLOCK = 512;
/** PAX extended headers are parsed in memory up to this size (real ones are a few hundred bytes). */
const MAX_PAX_HEADER = 1024 * 1024;

const CHECKSUM_AT = 148;
const TYPEFLAG_AT = 156;
const MAGIC_AT = 257;
const SIZE_AT = 124;
/** GNU old-style sparse headers: the flag saying extension blocks follow, in the header and in each extension. */
const GNU_SPARSE_EXTENDED_AT = 482;
const SPARSE_EXTENSION_EXTENDED_AT = 504;

/** Typeflags whose headers are never followed by data, whatever their size field says (POSIX). */
const NO_DATA_TYPES = new Set(['3', '4', '6']);

/** A header's checksum is right when the stored octal value equals the unsigned or (old Sun tars) signed byte sum. */
function checksumMatches(header: Uint8Array): boolean {
  const stored = parseOctal(header, CHECKSUM_AT, 8);
  if (stored === null) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= CHECKSUM_AT && i < CHECKSUM_AT + 8 ? 0x20 : header[i]!;
    unsigned += byte;
    signed += byte < 0x80 ? byte : byte - 256;
  }
  return stored === unsigned || stored === signed;
}

/**
 * An octal field: optional leading spaces, digits, then NUL/space padding; an all-NUL/space
 * field is 0. Null when anything else is in it.
 */
function parseOctal(bytes: Uint8Array, at: number, length: number): number | null {
  let i = at;
  const end = at + length;
  while (i < end && bytes[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  while (i < end && bytes[i]! >= 0x30 && bytes[i]! <= 0x37) {
    value = value * 8 + (bytes[i]! - 0x30);
    digits++;
    i++;
  }
  for (; i < end; i++) if (bytes[i] !== 0 && bytes[i] !== 0x20) return null;
  return digits > 0 || value === 0 ? value : null;
}

/** The size field: octal, or GNU base-256 (first byte 0x80) for members of 8 GiB and more. Null when malformed. */
function parseSize(header: Uint8Array): number | null {
  const first = header[SIZE_AT]!;
  if (first === 0x80) {
    let value = 0;
    for (let i = SIZE_AT + 1; i < SIZE_AT + 12; i++) value = value * 256 + header[i]!;
    return value <= Number.MAX_SAFE_INTEGER ? value : null;
  }
  if (first & 0x80) return null;
  return parseOctal(header, SIZE_AT, 12);
}

/** ustar magic: POSIX `ustar\0` + `00`, GNU `ustar ` + ` \0`, or none at all (v7). */
function magicKind(header: Uint8Array): 'posix' | 'gnu' | 'v7' | null {
  const m = header.subarray(MAGIC_AT, MAGIC_AT + 8);
  if (m[0] === 0x75 && m[1] === 0x73 && m[2] === 0x74 && m[3] === 0x61 && m[4] === 0x72) {
    if (m[5] === 0 && m[6] === 0x30 && m[7] === 0x30) return 'posix';
    if (m[5] === 0x20 && m[6] === 0x20 && m[7] === 0) return 'gnu';
    // Some writers put `ustar\0` with a blank or NUL version.
    if (m[5] === 0) return 'posix';
    return null;
  }
  return m.every((byte) => byte === 0) ? 'v7' : null;
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Parses PAX extended-header records (`<len> <key>=<value>\n`, `len` counting the whole record)
 * and returns the `size` override, if any. Throws `Malformed` when the records do not chain
 * exactly over the data.
 */
export function parsePaxRecords(data: Uint8Array): { size: number | null } {
  let at = 0;
  let size: number | null = null;
  while (at < data.length) {
    // Some writers pad the header data with NULs after the last record.
    if (data[at] === 0 && data.subarray(at).every((byte) => byte === 0)) break;
    let length = 0;
    let i = at;
    while (i < data.length && data[i]! >= 0x30 && data[i]! <= 0x39 && i - at < 12)
      length = length * 10 + (data[i++]! - 0x30);
    if (
      i === at ||
      data[i] !== 0x20 ||
      length <= i - at + 1 ||
      at + length > data.length ||
      data[at + length - 1] !== 0x0a
    ) {
      throw new Malformed(`malformed PAX record at byte ${at} of the extended header`);
    }
    const record = data.subarray(i + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new Malformed(`PAX record without key=value at byte ${at} of the extended header`);
    const key = Buffer.from(record.subarray(0, equals)).toString('latin1');
    if (key === 'size') {
      const text = Buffer.from(record.subarray(equals + 1)).toString('latin1');
      if (!/^\d{1,16}$/.test(text))
        throw new Malformed(`PAX size record '${text.slice(0, 20)}' is not a number`);
      size = Number(text);
    }
    at += length;
  }
  return { size };
}

type Phase = 'header' | 'sparse-extension' | 'data' | 'pax' | 'end';

class TarValidator implements FormatWalk {
  private phase: Phase = 'header';
  private readonly block = new Uint8Array(BLOCK);
  private blockFill = 0;
  /** Bytes of the entry consumed so far. */
  private position = 0;
  /** Member data (padded to 512) still to skip, or PAX data still to collect. */
  private remaining = 0;
  private paxData: Uint8Array | null = null;
  private paxFill = 0;
  private paxType = '';
  /** A `size` from the PAX header that applies to the next member. */
  private sizeOverride: number | null = null;
  private members = 0;
  private headerOffset = 0;

  update(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.phase === 'data') {
        const take = Math.min(this.remaining, chunk.length - at);
        at += take;
        this.position += take;
        this.remaining -= take;
        if (this.remaining === 0) this.phase = 'header';
        continue;
      }
      if (this.phase === 'pax') {
        const take = Math.min(this.remaining, chunk.length - at);
        const room = Math.min(take, this.paxData!.length - this.paxFill);
        this.paxData!.set(chunk.subarray(at, at + room), this.paxFill);
        this.paxFill += room;
        at += take;
        this.position += take;
        this.remaining -= take;
        if (this.remaining === 0) this.paxDone();
        continue;
      }
      if (this.phase === 'end') {
        // Everything after the end-of-archive block must be zero; check whole chunks natively.
        const rest = chunk.subarray(at);
        const nonZero = firstNonZero(rest);
        if (nonZero !== -1)
          throw new Damage('non-zero bytes after the end-of-archive blocks', this.position + nonZero);
        this.position += rest.length;
        this.blockFill = (this.blockFill + rest.length) % BLOCK;
        return;
      }
      const take = Math.min(BLOCK - this.blockFill, chunk.length - at);
      this.block.set(chunk.subarray(at, at + take), this.blockFill);
      this.blockFill += take;
      at += take;
      this.position += take;
      if (this.blockFill === BLOCK) {
        this.blockFill = 0;
        this.headerOffset = this.position - BLOCK;
        if (this.phase === 'header') this.header();
        else this.sparseExtension();
      }
    }
  }

  finish(): StructureVerdict {
    const end = this.endProblem();
    if (end) throw new Damage(end, this.position);
    return { status: 'valid', checkedBytes: this.position, parts: this.members };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, this.position, { parts: this.members });
  }

  private endProblem(): string | null {
    // tar writes whole blocks: a partial one, even of zeros, is a cut file.
    if (this.blockFill !== 0) {
      return `archive ends inside a 512-byte block (${this.position} bytes)`;
    }
    switch (this.phase) {
      case 'end':
        return null;
      case 'header':
        return this.members === 0 ? 'archive is empty' : 'archive ends without its end-of-archive blocks';
      case 'data':
        return `archive ends inside member ${this.members} data (${this.remaining} bytes missing)`;
      default:
        return `archive ends inside the headers of member ${this.members + 1}`;
    }
  }

  private header(): void {
    const header = this.block;
    if (isZeroBlock(header)) {
      if (this.members === 0) throw new Damage('archive starts with a zero block', this.headerOffset);
      if (this.paxType) throw new Damage('extended header is not followed by a member', this.headerOffset);
      this.phase = 'end';
      return;
    }
    if (!checksumMatches(header))
      throw new Damage(`header checksum mismatch at member ${this.members + 1}`, this.headerOffset);
    if (magicKind(header) === null)
      throw new Damage(`unknown header magic at member ${this.members + 1}`, this.headerOffset);
    const headerSize = parseSize(header);
    if (headerSize === null)
      throw new Damage(`malformed size field at member ${this.members + 1}`, this.headerOffset);
    const type = String.fromCharCode(header[TYPEFLAG_AT]!);
    if (type === 'x' || type === 'g') {
      if (headerSize > MAX_PAX_HEADER)
        throw new Damage(`PAX header of ${headerSize} bytes is over ${MAX_PAX_HEADER}`, this.headerOffset);
      this.paxType = type;
      this.paxData = new Uint8Array(headerSize);
      this.paxFill = 0;
      this.remaining = padded(headerSize);
      this.phase = 'pax';
      if (this.remaining === 0) this.paxDone();
      return;
    }
    // A PAX `size` applies to the member the extended header precedes, not to GNU long-name blocks.
    let size = headerSize;
    if (type !== 'L' && type !== 'K') {
      this.members += 1;
      size = this.sizeOverride ?? headerSize;
      this.sizeOverride = null;
      this.paxType = '';
    }
    this.remaining = NO_DATA_TYPES.has(type) ? 0 : padded(size);
    if (type === 'S' && header[GNU_SPARSE_EXTENDED_AT] !== 0) {
      this.phase = 'sparse-extension';
      return;
    }
    this.phase = this.remaining > 0 ? 'data' : 'header';
  }

  private sparseExtension(): void {
    for (let entry = 0; entry < 21; entry++) {
      const at = entry * 24;
      if (parseOctal(this.block, at, 12) === null || parseOctal(this.block, at + 12, 12) === null) {
        throw new Damage(`malformed GNU sparse extension block at member ${this.members}`, this.headerOffset);
      }
    }
    if (this.block[SPARSE_EXTENSION_EXTENDED_AT] !== 0) return;
    this.phase = this.remaining > 0 ? 'data' : 'header';
  }

  private paxDone(): void {
    let size: number | null;
    try {
      ({ size } = parsePaxRecords(this.paxData!));
    } catch (error) {
      if (!(error instanceof Malformed)) throw error;
      throw new Damage(error.message, this.position - padded(this.paxData!.length), { cause: error });
    }
    if (this.paxType === 'x' && size !== null) this.sizeOverride = size;
    this.paxData = null;
    this.phase = 'header';
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function firstNonZero(bytes: Uint8Array): number {
  // Compare against zeros in large steps: Buffer.compare is native.
  const step = ZEROS.length;
  for (let at = 0; at < bytes.length; at += step) {
    const piece = bytes.subarray(at, at + step);
    if (Buffer.compare(piece, ZEROS.subarray(0, piece.length)) !== 0) {
      for (let i = 0; i < piece.length; i++) if (piece[i] !== 0) return at + i;
    }
  }
  return -1;
}

const ZEROS = new Uint8Array(64 * 1024);

export const tarValidator: ValidatorDefinition = {
  type: 'tar',
  matches(head: Uint8Array): boolean {
    if (head.length < BLOCK) return false;
    const header = head.subarray(0, BLOCK);
    const magic = magicKind(header);
    // The ustar magic alone (a damaged header behind it is the validator's to report); v7
    // archives have none, so they must also have a valid checksum, a printable name and octal fields.
    if (magic === 'posix' || magic === 'gnu') return true;
    if (isZeroBlock(header) || !checksumMatches(header)) return false;
    if (magic !== 'v7' || header[0] === 0) return false;
    const nameEnd = header.indexOf(0);
    if (
      nameEnd < 0 ||
      nameEnd > 100 ||
      !header.subarray(0, nameEnd).every((byte) => byte >= 0x20 && byte < 0x7f)
    )
      return false;
    return (
      [100, 108, 116, 136].every((at) => parseOctal(header, at, 8 + (at === 136 ? 4 : 0)) !== null) &&
      parseSize(header) !== null
    );
  },
  create(_size: number, _limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new TarValidator());
  },
};
