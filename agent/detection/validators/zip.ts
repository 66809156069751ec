/**
 * zip and everything built on it (jar, wheel, OOXML, ODF, EPUB, APK): the archive is walked from
 * offset 0 the way a streaming reader walks it, one record after another, and every record must
 * sit exactly where the previous one ended:
 *
 * - each local file header, then its data: stored members are CRC-32 checked, deflated members
 *   inflated and CRC-32 checked (both against the header or the data descriptor, sizes too);
 * - a data descriptor (flag bit 3) after data whose sizes the header left out: a deflated
 *   member's data ends where the deflate stream ends; for stored, encrypted, other-method or
 *   capped members the descriptor is found by its signature plus a CRC/size that fits;
 * - an APK Signing Block between the last member and the central directory (APK v2+ signing);
 * - the central directory, whose every entry must agree with the local header seen at its
 *   offset (name, CRC-32, sizes, method), once each, and cover every member;
 * - the ZIP64 end record and locator, and the end-of-central-directory record, whose counts,
 *   size and offset must match what was walked; after its comment, nothing.
 *
 * Members encrypted by zip itself (flag bit 0, or AES, method 99) are counted in
 * `encryptedMembers` and their bytes skipped: legitimate encryption, never ransomware. Archives
 * that do not start with a local header (self-extracting, spanned) are not claimed by
 * `matches`, and neither are the pieces of a split archive (the first starts with the spanning
 * signature, the others mid-member); so disk numbers other than 0 in an archive that does start
 * with a local header are damage. An archive whose central directory is encrypted (PKWARE SES,
 * local headers masked from the first one on) is `unsupported`; the masking flag on a later
 * header only is damage.
 *
 * Caps: past `maxDecodeBytes` (or a member's `maxOutputBytes`) members are walked without
 * inflating; `checkedBytes` is where that began. Up to `MAX_TRACKED_MEMBERS` members are kept
 * for the central-directory comparison (a few numbers each); an archive with more is compared
 * up to there.
 */
import { crc32 } from 'node:zlib';
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { concatBytes, u16le as u16, u32le as u32, u64le as u64 } from './bytes.js';
import { DecodeBudget, StreamInflater } from './inflate-check.js';
import {
  Damage,
  guardedValidator,
  StepWalk,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const LOCAL_SIGNATURE = 0x04034b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const END_SIGNATURE = 0x06054b50;
const ZIP64_END_SIGNATURE = 0x06064b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const DESCRIPTOR_SIGNATURE = 0x08074b50;
const DIGITAL_SIGNATURE = 0x05054b50;
const ARCHIVE_EXTRA_DATA_SIGNATURE = 0x08064b50;
const APK_SIGNING_MAGIC = Buffer.from('APK Sig Block 42');

const LOCAL_FIXED = 30;
const CENTRAL_FIXED = 46;
const END_FIXED = 22;
const ZIP64_END_FIXED = 56;
const ZIP64_LOCATOR_BYTES = 20;

const FLAG_ENCRYPTED = 0x0001;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_MASKED_HEADERS = 0x2000;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
const METHOD_AES = 99;
const EXTRA_ZIP64 = 0x0001;
const EXTRA_AES = 0x9901;

/** Central-directory comparison keeps this many members (five numbers each). */
export const MAX_TRACKED_MEMBERS = 1 << 18;
/** Longest descriptor: signature, CRC-32, two 8-byte sizes. */
const DESCRIPTOR_MAX = 24;
const PK = Buffer.from('PK');
/** Bytes a descriptor candidate needs after its "PK": the longest descriptor plus the next record's signature. */
const SCAN_LOOKAHEAD = DESCRIPTOR_MAX + 4;
/** Bytes carried between chunks: a deferred "PK" plus the 20 bytes an unsigned descriptor before it may start at. */
const SCAN_CARRY = SCAN_LOOKAHEAD + 20;
const U32 = 0xffffffff;

/** What the walk learned of one member, for the central directory to agree with. */
interface Member {
  offset: number;
  nameCrc: number;
  nameLength: number;
  method: number;
  /** General-purpose flags that say the member is encrypted (bits 0 and 6). */
  encryptionFlags: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Matched by a central-directory entry already. */
  listed: boolean;
}

/** How one member's data is being walked. */
type DataMode = 'inflate' | 'crc' | 'skip' | 'scan';

/** The member whose data is being walked. */
interface Current {
  member: Member;
  index: number;
  flags: number;
  mode: DataMode;
  /** Sizes and CRC from the local header (ZIP64 extra applied); null sizes when the header leaves them to a descriptor. */
  declaredCrc: number;
  declaredCompressed: number | null;
  declaredSize: number | null;
  dataStart: number;
  /** Data bytes walked so far. */
  walked: number;
  /** CRC-32 and size of the data walked (stored members, and the scan's candidate checks). */
  crc: number;
  /** Encrypted by zip itself: skipped, never checked. */
  encrypted: boolean;
  /** The data is checked (CRC-32) as it is walked. */
  checked: boolean;
  inflater: StreamInflater | null;
  /** For `scan`: the bytes at the end of the previous chunk that may start a descriptor. */
  carry: Uint8Array;
}

/** A data descriptor's fields and length. */
interface DescriptorFields {
  crc: number;
  size: number;
  length: number;
}

/** ZIP64 extended information (0x0001) and AES (0x9901) from an extra field; lenient about padding that is not id/size records (zipalign). */
function readExtra(
  extra: Uint8Array,
  wants: { size: boolean; compressed: boolean; offset: boolean },
): { size?: number; compressed?: number; offset?: number; aes: boolean } {
  const found: { size?: number; compressed?: number; offset?: number; aes: boolean } = { aes: false };
  for (let at = 0; at + 4 <= extra.length;) {
    const id = u16(extra, at);
    const length = u16(extra, at + 2);
    const body = extra.subarray(at + 4, at + 4 + length);
    if (body.length < length) break;
    if (id === EXTRA_AES) found.aes = true;
    if (id === EXTRA_ZIP64) {
      let p = 0;
      const next = (): number | undefined =>
        p + 8 <= body.length ? ((p += 8), u64(body, p - 8)) : undefined;
      if (wants.size) found.size = next();
      if (wants.compressed) found.compressed = next();
      if (wants.offset) found.offset = next();
    }
    at += 4 + length;
  }
  return found;
}

type Phase =
  | 'signature'
  | 'local'
  | 'data'
  | 'descriptor'
  | 'signing-block'
  | 'central'
  | 'digital-signature'
  | 'zip64-end'
  | 'zip64-locator'
  | 'end'
  | 'skip'
  | 'done';

const EMPTY = new Uint8Array(0);

/**
 * The walk. Each step takes the bytes at `offset` and returns the bytes that follow what it
 * walked; `offset` then moves by what the step consumed, so a step that hands back bytes it had
 * held (an inflater's staged input, a descriptor's spare bytes, a scan's carry) moves it back.
 */
class ZipValidator extends StepWalk implements FormatWalk {
  private phase: Phase = 'signature';
  /** Offset of the record being gathered. */
  private recordStart = 0;
  private held = new Uint8Array(256);
  private heldLength = 0;
  private readonly members = new Map<number, Member>();
  private memberCount = 0;
  private tracking = true;
  /** The first local header had its fields masked (central directory encryption). */
  private masked = false;
  private current: Current | null = null;
  private checkedParts = 0;
  private encryptedMembers = 0;
  /** Where the first member walked without being checked (a cap) starts. */
  private uncheckedFrom: number | null = null;
  private centralStart: number | null = null;
  private centralEntries = 0;
  private centralEnd = 0;
  private zip64EndAt: number | null = null;
  private zip64: { entries: number; size: number; offset: number } | null = null;
  private skipLeft = 0;
  private afterSkip: Phase = 'done';
  private signingBlockSize = -1;

  constructor(private readonly budget: DecodeBudget) {
    super();
  }

  update(chunk: Uint8Array): void {
    this.walkSteps(chunk);
  }

  finish(): StructureVerdict {
    this.settleAtEnd();
    return {
      status: 'valid',
      checkedBytes: this.uncheckedFrom ?? this.offset,
      parts: this.checkedParts,
      encryptedMembers: this.encryptedMembers,
    };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.offset, {
      parts: this.checkedParts,
      encryptedMembers: this.encryptedMembers,
    });
  }

  protected step(data: Uint8Array): Uint8Array {
    switch (this.phase) {
      case 'signature':
        return this.readSignature(data);
      case 'local':
        return this.readLocalHeader(data);
      case 'data':
        return this.walkData(data);
      case 'descriptor':
        return this.readDescriptor(data);
      case 'signing-block':
        return this.walkSigningBlock(data);
      case 'central':
        return this.readCentralEntry(data);
      case 'digital-signature':
        return this.readDigitalSignature(data);
      case 'zip64-end':
        return this.readZip64End(data);
      case 'zip64-locator':
        return this.readZip64Locator(data);
      case 'end':
        return this.readEnd(data);
      case 'skip':
        return this.skip(data);
      case 'done':
        throw new Damage('data after the end of central directory record', this.offset);
    }
  }

  /**
   * Gathers the current record into `held` until it has `need` bytes; returns the rest of
   * `data`, or null while more are needed. A record starts at the first byte of a step's data.
   */
  private gather(data: Uint8Array, need: number): Uint8Array | null {
    if (this.heldLength === 0) this.recordStart = this.offset;
    if (this.held.length < need) {
      const grown = new Uint8Array(Math.max(need, this.held.length * 2));
      grown.set(this.held.subarray(0, this.heldLength));
      this.held = grown;
    }
    const take = Math.max(0, Math.min(need - this.heldLength, data.length));
    this.held.set(data.subarray(0, take), this.heldLength);
    this.heldLength += take;
    return this.heldLength >= need ? data.subarray(take) : null;
  }

  /** The next record starts after this step. */
  private next(phase: Phase): void {
    this.phase = phase;
    this.heldLength = 0;
  }

  private skip(data: Uint8Array): Uint8Array {
    const take = Math.min(this.skipLeft, data.length);
    this.skipLeft -= take;
    if (this.skipLeft === 0) this.next(this.afterSkip);
    return data.subarray(take);
  }

  private readSignature(data: Uint8Array): Uint8Array {
    const rest = this.gather(data, 4);
    if (rest === null) return EMPTY;
    const signature = u32(this.held, 0);
    switch (signature) {
      case LOCAL_SIGNATURE:
        if (this.centralStart !== null)
          throw new Damage('local file header after the central directory', this.recordStart);
        this.phase = 'local';
        return rest;
      case CENTRAL_SIGNATURE:
        this.centralStart ??= this.recordStart;
        this.phase = 'central';
        return rest;
      case DIGITAL_SIGNATURE:
        this.phase = 'digital-signature';
        return rest;
      case ZIP64_END_SIGNATURE:
        this.zip64EndAt = this.recordStart;
        this.phase = 'zip64-end';
        return rest;
      case ZIP64_LOCATOR_SIGNATURE:
        this.phase = 'zip64-locator';
        return rest;
      case END_SIGNATURE:
        this.phase = 'end';
        return rest;
      case ARCHIVE_EXTRA_DATA_SIGNATURE:
        if (!this.masked)
          throw new Damage(
            'archive extra data record in an archive without encrypted central directory',
            this.recordStart,
          );
        throw new Unsupported('zip central directory is encrypted', this.recordStart);
      default:
        if (this.memberCount > 0 && this.centralStart === null && this.signingBlockSize < 0) {
          // An APK Signing Block: the 4 bytes read are the low half of its 8-byte size.
          this.phase = 'signing-block';
          return rest;
        }
        throw new Damage(
          `no zip record where one must start (signature ${signature.toString(16).padStart(8, '0')})`,
          this.recordStart,
        );
    }
  }

  private readLocalHeader(data: Uint8Array): Uint8Array {
    let rest = this.gather(data, LOCAL_FIXED);
    if (rest === null) return EMPTY;
    rest = this.gather(rest, LOCAL_FIXED + u16(this.held, 26) + u16(this.held, 28));
    if (rest === null) return EMPTY;
    return this.startMember(rest, this.offset + data.length - rest.length);
  }

  /** Decides how the member whose local header is in `held` is walked; its data starts `rest` at `dataStart`. */
  private startMember(rest: Uint8Array, dataStart: number): Uint8Array {
    const h = this.held;
    const at = this.recordStart;
    const flags = u16(h, 6);
    const method = u16(h, 8);
    const declaredCrc = u32(h, 14);
    let compressed: number | null = u32(h, 18);
    let size: number | null = u32(h, 22);
    const nameLength = u16(h, 26);
    const extra = readExtra(h.subarray(LOCAL_FIXED + nameLength, this.heldLength), {
      size: size === U32,
      compressed: compressed === U32,
      offset: false,
    });
    if (size === U32) size = extra.size ?? null;
    if (compressed === U32) compressed = extra.compressed ?? null;
    if (flags & FLAG_MASKED_HEADERS) {
      if (this.memberCount > 0)
        throw new Damage(
          `zip member ${this.memberCount + 1} claims masked headers that earlier members do not have`,
          at,
        );
      this.masked = true;
      throw new Unsupported('zip local headers are masked (central directory encryption)', at);
    }
    const hasDescriptor = (flags & FLAG_DESCRIPTOR) !== 0;
    // With a descriptor, writers leave the header's sizes zero; non-zero ones are real (some writers fill both).
    if (hasDescriptor && compressed === 0) {
      compressed = null;
      size = null;
    }
    if (compressed === null && !hasDescriptor)
      throw new Damage(`zip member ${this.memberCount + 1} has no compressed size`, at);
    const encrypted =
      (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) !== 0 || method === METHOD_AES || extra.aes;
    let mode: DataMode;
    if (encrypted) {
      this.encryptedMembers++;
      mode = compressed === null ? 'scan' : 'skip';
    } else if (method === METHOD_STORED) {
      if (compressed !== null && size !== null && compressed !== size)
        throw new Damage(`stored zip member ${this.memberCount + 1} has different sizes`, at);
      mode = compressed === null ? 'scan' : 'crc';
    } else if (method === METHOD_DEFLATED && this.budget.remaining > 0) {
      mode = 'inflate';
    } else {
      // Other methods (bzip2, LZMA, zstd…) are walked unchecked; so is deflate once the budget is spent.
      if (method === METHOD_DEFLATED) this.uncheckedFrom ??= at;
      mode = compressed === null ? 'scan' : 'skip';
    }
    this.current = {
      member: {
        offset: at,
        nameCrc: crc32(h.subarray(LOCAL_FIXED, LOCAL_FIXED + nameLength)),
        nameLength,
        method,
        encryptionFlags: flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION),
        crc: declaredCrc,
        compressedSize: 0,
        size: size ?? 0,
        listed: false,
      },
      index: this.memberCount,
      flags,
      mode,
      encrypted,
      declaredCrc,
      declaredCompressed: compressed,
      declaredSize: size,
      dataStart,
      walked: 0,
      crc: 0,
      checked: !encrypted && (mode === 'inflate' || method === METHOD_STORED),
      inflater:
        mode === 'inflate'
          ? new StreamInflater({
              wrapper: 'raw',
              crc32: true,
              budget: this.budget,
              ...(size !== null ? { expectedOutput: size } : {}),
            })
          : null,
      carry: EMPTY,
    };
    this.memberCount++;
    this.next('data');
    if (compressed === 0) this.endData(null);
    return rest;
  }

  private walkData(data: Uint8Array): Uint8Array {
    const current = this.current!;
    switch (current.mode) {
      case 'inflate':
        return this.inflateData(data, current);
      case 'crc':
      case 'skip': {
        const take = Math.min(current.declaredCompressed! - current.walked, data.length);
        if (current.mode === 'crc') current.crc = crc32(data.subarray(0, take), current.crc);
        current.walked += take;
        if (current.walked === current.declaredCompressed) this.endData(null);
        return data.subarray(take);
      }
      case 'scan':
        return this.scanForDescriptor(data, current, false);
    }
  }

  private inflateData(data: Uint8Array, current: Current): Uint8Array {
    const inflater = current.inflater!;
    const known = current.declaredCompressed;
    const piece = known === null ? data : data.subarray(0, known - current.walked);
    const after = data.subarray(piece.length);
    let rest = inflater.push(piece);
    current.walked = inflater.inputBytes;
    if (inflater.state === 'running' && known !== null && current.walked === known) rest = inflater.end();
    return this.settleInflater(current, rest, after);
  }

  /** Acts on the member's inflater after it was fed; returns the bytes that follow what it took (`rest`, then `after`). */
  private settleInflater(current: Current, rest: Uint8Array, after: Uint8Array): Uint8Array {
    const inflater = current.inflater!;
    const known = current.declaredCompressed;
    current.walked = inflater.inputBytes;
    switch (inflater.state) {
      case 'running':
        return after;
      case 'failed':
        throw new Damage(
          inflater.truncated && known !== null
            ? `zip member ${current.index + 1}: deflate data runs past its compressed size`
            : `zip member ${current.index + 1}: ${inflater.failure}`,
          current.dataStart,
        );
      case 'capped':
        // The rest of this member is walked without inflating: to its size, or to its descriptor.
        this.uncheckedFrom ??= current.dataStart + inflater.inputBytes;
        current.mode = known === null ? 'scan' : 'skip';
        current.checked = false;
        return concatBytes(rest, after);
      case 'ended':
        if (known !== null && current.walked !== known)
          throw new Damage(
            `zip member ${current.index + 1}: deflate data ends before its compressed size`,
            current.dataStart + current.walked,
          );
        this.endData(null);
        return concatBytes(rest, after);
    }
  }

  /** The member's data is over; `descriptor` when the scan found it. Checks what can be checked, then walks on. */
  private endData(descriptor: DescriptorFields | null): void {
    const current = this.current!;
    const member = current.member;
    const index = current.index + 1;
    member.compressedSize = current.walked;
    if (current.checked) {
      member.crc = current.inflater ? current.inflater.crc : current.crc;
      member.size = current.inflater ? current.inflater.outputBytes : current.walked;
      if (current.declaredSize !== null && current.declaredSize !== member.size)
        throw new Damage(`zip member ${index}: size differs from its header`, current.dataStart);
      if ((current.flags & FLAG_DESCRIPTOR) === 0 && current.declaredCrc !== member.crc)
        throw new Damage(`CRC-32 mismatch in zip member ${index}`, current.dataStart);
      this.checkedParts++;
    }
    if (descriptor) this.takeDescriptor(descriptor);
    if ((current.flags & FLAG_DESCRIPTOR) !== 0 && descriptor === null) {
      this.next('descriptor');
      return;
    }
    this.track(member);
    this.current = null;
    this.next('signature');
  }

  /** Keeps a walked member for the central directory to agree with (up to the tracking cap). */
  private track(member: Member): void {
    if (!this.tracking) return;
    if (this.members.size >= MAX_TRACKED_MEMBERS) this.tracking = false;
    else this.members.set(member.offset, member);
  }

  /** A descriptor's fields become the member's (checked data already agreed with them). */
  private takeDescriptor(descriptor: DescriptorFields): void {
    const member = this.current!.member;
    member.crc = descriptor.crc;
    member.size = descriptor.size;
  }

  /** A descriptor at the start of `bytes` (with or without signature, 32- or 64-bit sizes) that agrees with the member's data. */
  private descriptorFits(
    bytes: Uint8Array,
    signed: boolean,
    current: Current,
    atEnd: boolean,
  ): DescriptorFields | null {
    const start = signed ? 4 : 0;
    const sizesEqual = current.member.method === METHOD_STORED && !current.encrypted;
    for (const wide of [false, true]) {
      const length = start + 4 + (wide ? 16 : 8);
      if (bytes.length < length) continue;
      const crc = u32(bytes, start);
      const compressed = wide ? u64(bytes, start + 4) : u32(bytes, start + 4);
      const size = wide ? u64(bytes, start + 12) : u32(bytes, start + 8);
      // 32-bit fields of members over 4 GiB without ZIP64 wrap around.
      const width = wide ? 2 ** 64 : 2 ** 32;
      if (compressed !== current.walked % width) continue;
      if (current.checked && (crc !== current.member.crc || size !== current.member.size % width)) continue;
      if (sizesEqual && size !== compressed) continue;
      // Unchecked data leaves only the size to go by: the record after it must start right there.
      if (!current.checked && !atEnd && !this.recordFollows(bytes, length)) continue;
      return { crc, size, length };
    }
    return null;
  }

  /** Whether a zip record signature (or the end of what is there) follows `length` bytes into `bytes`. */
  private recordFollows(bytes: Uint8Array, length: number): boolean {
    if (bytes.length < length + 4) return true;
    const next = u32(bytes, length);
    return (
      next === LOCAL_SIGNATURE ||
      next === CENTRAL_SIGNATURE ||
      next === END_SIGNATURE ||
      next === ZIP64_END_SIGNATURE ||
      next === DIGITAL_SIGNATURE
    );
  }

  /** After data whose end the inflater (or the header's size) found. */
  private readDescriptor(data: Uint8Array): Uint8Array {
    const current = this.current!;
    const have = this.heldLength;
    this.gather(data, DESCRIPTOR_MAX + 4);
    if (this.heldLength < DESCRIPTOR_MAX + 4) return EMPTY;
    const bytes = this.held.subarray(0, this.heldLength);
    const signed = u32(bytes, 0) === DESCRIPTOR_SIGNATURE;
    const found =
      (signed && this.descriptorFits(bytes, true, current, false)) ||
      this.descriptorFits(bytes, false, current, false);
    if (!found)
      throw new Damage(
        `zip member ${current.index + 1}: data descriptor does not match its data`,
        this.recordStart,
      );
    this.takeDescriptor(found);
    this.track(current.member);
    this.current = null;
    // The bytes gathered past the descriptor start the next record: still in `data` when the
    // descriptor ended there (nearly always), else held from earlier chunks ahead of all of `data`.
    const spareInData = found.length - have;
    const spare = spareInData < 0 ? this.held.slice(found.length, have) : null;
    this.next('signature');
    return spare ? concatBytes(spare, data) : data.subarray(spareInData);
  }

  /**
   * Member data whose end only its data descriptor tells (stored, encrypted, other-method or
   * capped members with flag bit 3). Candidates are a `PK\7\8` signature (signed descriptor),
   * and the 12 or 20 bytes before the signature of the next record (unsigned descriptor). One
   * fits when its compressed size equals the bytes walked to it, and its CRC-32 and size equal
   * the data's when the data is checked. The last `SCAN_CARRY` bytes of each chunk are carried
   * over, since a descriptor and the signature after it may straddle chunks.
   */
  private scanForDescriptor(data: Uint8Array, current: Current, atEnd: boolean): Uint8Array {
    const carried = current.carry.length;
    const buffer =
      carried > 0
        ? Buffer.concat([current.carry, data])
        : Buffer.from(data.buffer, data.byteOffset, data.length);
    let crcDone = 0;
    const tryAt = (start: number, signed: boolean): DescriptorFields | null => {
      if (start < crcDone) return null;
      if (current.checked) {
        current.crc = crc32(buffer.subarray(crcDone, start), current.crc);
        crcDone = start;
        current.member.crc = current.crc;
        current.member.size = current.walked + start;
      }
      const walkedBefore = current.walked;
      current.walked += start;
      const found = this.descriptorFits(
        buffer.subarray(start, start + DESCRIPTOR_MAX + 4),
        signed,
        current,
        atEnd,
      );
      if (!found) current.walked = walkedBefore;
      return found;
    };
    // "PK" pairs in the carried head were looked at in the previous call.
    for (
      let at = buffer.indexOf(PK, Math.max(0, carried - SCAN_LOOKAHEAD));
      at >= 0;
      at = buffer.indexOf(PK, at + 1)
    ) {
      if (!atEnd && at + SCAN_LOOKAHEAD > buffer.length) break;
      const kind = u16(buffer, at + 2);
      let found: DescriptorFields | null = null;
      let start = at;
      if (kind === 0x0807) found = tryAt(at, true);
      else if (kind === 0x0403 || kind === 0x0201 || kind === 0x0605 || kind === 0x0606 || kind === 0x0505) {
        for (const before of [20, 12]) {
          start = at - before;
          if (start >= 0 && (found = tryAt(start, false))) break;
        }
      }
      if (found) {
        current.carry = EMPTY;
        this.endData(found);
        return buffer.subarray(start + found.length);
      }
    }
    if (atEnd) return EMPTY;
    const walkedNow = Math.max(0, buffer.length - SCAN_CARRY);
    if (current.checked) current.crc = crc32(buffer.subarray(crcDone, walkedNow), current.crc);
    current.walked += walkedNow;
    current.carry = Uint8Array.from(buffer.subarray(walkedNow));
    return EMPTY;
  }

  private walkSigningBlock(data: Uint8Array): Uint8Array {
    if (this.signingBlockSize < 0) {
      const rest = this.gather(data, 8);
      if (rest === null) return EMPTY;
      this.signingBlockSize = u64(this.held, 0);
      if (this.signingBlockSize < 32 || this.signingBlockSize > 2 ** 40)
        throw new Damage('no zip record where one must start (nor an APK Signing Block)', this.recordStart);
      this.skipLeft = this.signingBlockSize - 24;
      return rest;
    }
    if (this.skipLeft > 0) {
      const take = Math.min(this.skipLeft, data.length);
      this.skipLeft -= take;
      if (this.skipLeft === 0) this.heldLength = 0;
      return data.subarray(take);
    }
    const rest = this.gather(data, 24);
    if (rest === null) return EMPTY;
    if (
      u64(this.held, 0) !== this.signingBlockSize ||
      !Buffer.from(this.held.subarray(8, 24)).equals(APK_SIGNING_MAGIC)
    ) {
      throw new Damage('APK Signing Block is damaged', this.recordStart);
    }
    this.next('signature');
    return rest;
  }

  private readCentralEntry(data: Uint8Array): Uint8Array {
    let rest = this.gather(data, CENTRAL_FIXED);
    if (rest === null) return EMPTY;
    rest = this.gather(rest, CENTRAL_FIXED + u16(this.held, 28) + u16(this.held, 30) + u16(this.held, 32));
    if (rest === null) return EMPTY;
    this.compareCentralEntry();
    this.centralEntries++;
    this.centralEnd = this.offset + data.length - rest.length;
    this.next('signature');
    return rest;
  }

  /** The entry in `held` must describe the local member at its offset. */
  private compareCentralEntry(): void {
    const h = this.held;
    const at = this.recordStart;
    const entry = this.centralEntries + 1;
    const nameLength = u16(h, 28);
    let size = u32(h, 24);
    let compressed = u32(h, 20);
    let offset = u32(h, 42);
    const disk = u16(h, 34);
    const extra = readExtra(h.subarray(CENTRAL_FIXED + nameLength, CENTRAL_FIXED + nameLength + u16(h, 30)), {
      size: size === U32,
      compressed: compressed === U32,
      offset: offset === U32,
    });
    if (size === U32 && extra.size !== undefined) size = extra.size;
    if (compressed === U32 && extra.compressed !== undefined) compressed = extra.compressed;
    if (offset === U32 && extra.offset !== undefined) offset = extra.offset;
    if (disk !== 0 && disk !== 0xffff)
      throw new Damage(`central directory entry ${entry} names disk ${disk}`, at);
    const member = this.members.get(offset);
    if (!member) {
      if (!this.tracking) return;
      throw new Damage(`central directory entry ${entry} points at no local header (offset ${offset})`, at);
    }
    if (member.listed) throw new Damage(`central directory entry ${entry} lists a member twice`, at);
    member.listed = true;
    if (
      nameLength !== member.nameLength ||
      crc32(h.subarray(CENTRAL_FIXED, CENTRAL_FIXED + nameLength)) !== member.nameCrc
    )
      throw new Damage(`central directory entry ${entry}: name differs from its local header`, at);
    if (u16(h, 10) !== member.method)
      throw new Damage(`central directory entry ${entry}: method differs from its local header`, at);
    // An encryption flag set on one side only would have let damage skip the member's checks.
    if ((u16(h, 8) & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) !== member.encryptionFlags)
      throw new Damage(`central directory entry ${entry}: encryption flags differ from its local header`, at);
    if (u32(h, 16) !== member.crc)
      throw new Damage(`central directory entry ${entry}: CRC-32 differs from its member`, at);
    if (compressed !== member.compressedSize || size !== member.size)
      throw new Damage(`central directory entry ${entry}: sizes differ from its member`, at);
  }

  private readDigitalSignature(data: Uint8Array): Uint8Array {
    const rest = this.gather(data, 6);
    if (rest === null) return EMPTY;
    this.skipThen(u16(this.held, 4), 'signature');
    return rest;
  }

  /** Skips `bytes` bytes (a comment, a signature's data), then walks on in `then`. */
  private skipThen(bytes: number, then: Phase): void {
    this.skipLeft = bytes;
    this.afterSkip = then;
    this.next(bytes > 0 ? 'skip' : then);
  }

  private readZip64End(data: Uint8Array): Uint8Array {
    let rest = this.gather(data, 12);
    if (rest === null) return EMPTY;
    const total = 12 + u64(this.held, 4);
    if (total < ZIP64_END_FIXED || total > 1024 * 1024)
      throw new Damage('ZIP64 end of central directory record has a wrong size', this.recordStart);
    rest = this.gather(rest, total);
    if (rest === null) return EMPTY;
    const h = this.held;
    if (u32(h, 16) !== 0 || u32(h, 20) !== 0)
      throw new Damage('ZIP64 end record names a disk other than 0', this.recordStart);
    this.zip64 = { entries: u64(h, 32), size: u64(h, 40), offset: u64(h, 48) };
    this.checkDirectoryTotals(this.zip64, null, this.recordStart);
    this.next('signature');
    return rest;
  }

  private readZip64Locator(data: Uint8Array): Uint8Array {
    const rest = this.gather(data, ZIP64_LOCATOR_BYTES);
    if (rest === null) return EMPTY;
    if (this.zip64EndAt === null || u64(this.held, 8) !== this.zip64EndAt)
      throw new Damage('ZIP64 locator does not point at the ZIP64 end record', this.recordStart);
    this.next('signature');
    return rest;
  }

  private readEnd(data: Uint8Array): Uint8Array {
    const rest = this.gather(data, END_FIXED);
    if (rest === null) return EMPTY;
    const h = this.held;
    const at = this.recordStart;
    if (u16(h, 4) !== 0 || u16(h, 6) !== 0)
      throw new Damage('end of central directory names a disk other than 0', at);
    const entries = u16(h, 10);
    const size = u32(h, 12);
    const offset = u32(h, 16);
    // All-ones fields defer to the ZIP64 record; writers without ZIP64 let the others wrap around.
    this.checkDirectoryTotals(
      {
        entries: entries === 0xffff && this.zip64 ? this.zip64.entries : entries,
        size: size === U32 && this.zip64 ? this.zip64.size : size,
        offset: offset === U32 && this.zip64 ? this.zip64.offset : offset,
      },
      this.zip64 ? null : { entries: 2 ** 16, bytes: 2 ** 32 },
      at,
    );
    this.skipThen(u16(h, 20), 'done');
    return rest;
  }

  /** Entry count, size and offset of the central directory as an end record states them, against what was walked (modulo the field widths when given). */
  private checkDirectoryTotals(
    stated: { entries: number; size: number; offset: number },
    modulo: { entries: number; bytes: number } | null,
    at: number,
  ): void {
    const start = this.centralStart ?? at;
    const size = this.centralStart === null ? 0 : this.centralEnd - this.centralStart;
    const entries = modulo ? this.centralEntries % modulo.entries : this.centralEntries;
    if (stated.entries !== entries)
      throw new Damage(
        `end of central directory counts ${stated.entries} entries, the directory has ${this.centralEntries}`,
        at,
      );
    const same = (a: number, b: number): boolean =>
      modulo ? a % modulo.bytes === b % modulo.bytes : a === b;
    if (!same(stated.size, size) || !same(stated.offset, start))
      throw new Damage('end of central directory does not match where the directory is', at);
    if (this.tracking && this.centralEntries !== this.memberCount)
      throw new Damage(
        `central directory lists ${this.centralEntries} entries for ${this.memberCount} local members`,
        at,
      );
  }

  /** Input is over: only a complete archive (end record and comment walked) is valid. */
  private settleAtEnd(): void {
    // Bytes still staged in an inflater, or carried by a descriptor scan, may hold the rest of the
    // archive (all of it, for a small one fed in small chunks): walk them, member after member.
    let scanned: Current | null = null;
    while (this.phase === 'data' && this.current !== scanned) {
      const current: Current = this.current!;
      let rest: Uint8Array;
      if (current.mode === 'inflate') {
        const inflater = current.inflater!;
        rest = inflater.end();
        if (inflater.state === 'failed')
          throw new Damage(`zip archive ends inside the data of member ${current.index + 1}`, this.offset);
        rest = this.settleInflater(current, rest, EMPTY);
      } else if (current.mode === 'scan') {
        scanned = current;
        rest = this.scanForDescriptor(EMPTY, current, true);
      } else break;
      this.offset -= rest.length;
      this.walkSteps(rest);
    }
    if (this.phase === 'done') return;
    const current = this.current;
    const where =
      this.phase === 'data'
        ? `inside the data of member ${current!.index + 1}${current!.mode === 'scan' ? ' (no data descriptor fits it)' : ''}`
        : this.phase === 'signature' && this.heldLength === 0
          ? 'before its end of central directory record'
          : `inside a ${this.phase} record`;
    throw new Damage(`zip archive ends ${where}`, this.offset);
  }
}

/** zip: a local file header (or, for an empty archive, the end record) at offset 0. */
export const zipValidator: ValidatorDefinition = {
  type: 'zip',
  matches(head: Uint8Array): boolean {
    if (head.length < 4 || head[0] !== 0x50 || head[1] !== 0x4b) return false;
    if (head[2] === 3 && head[3] === 4) return head.length >= LOCAL_FIXED;
    return head[2] === 5 && head[3] === 6 && head.length >= END_FIXED;
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new ZipValidator(new DecodeBudget(limits)));
  },
};
