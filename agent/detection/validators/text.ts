/**
 * Plain text: UTF-8, or a legacy single-byte (or double-byte) encoding. Ciphertext dropped into
 * text shows in two ways, and either makes the entry invalid:
 *
 * - Control bytes among invalid UTF-8. About one random byte in ten is a C0 control other than
 *   the ones text uses (\a \b \t \n \v \f \r ESC — troff uses BEL as a delimiter, man pages use
 *   backspace), DEL or NUL, and about half are bytes UTF-8 does not allow where they stand. Text
 *   may hold control bytes on their own — vim macros and syntax files type ^V, ^R and ^W
 *   literally, generated tables list every ASCII code up to DEL, a DOS file ends in ^Z — so
 *   controls alone, however many, are not damage: two controls within 256 bytes with invalid
 *   UTF-8 among them are (random bytes have both at once).
 *   GNU info's node separators (0x1F before a newline or form feed), index cookies (NUL before
 *   a backspace) and tag tables (DEL before a node offset) are that format's and do not count.
 * - Broken UTF-8. Random bytes are invalid UTF-8 almost at once: a run of three or more stray
 *   bytes (bytes that are not part of a valid UTF-8 character) is damage when the file is UTF-8
 *   text (its valid multibyte characters outnumber its stray bytes) or ASCII text (it has only a
 *   handful of stray bytes, all from the stretch). Stray bytes one at a time are what Latin-1
 *   names in an otherwise UTF-8 changelog look like, and files full of stray bytes are legacy
 *   encodings (Latin-1, CP1251, KOI8-R, Shift-JIS, Big5…), where only the control-byte rule can
 *   judge — a control byte close to a stray byte is damage there too.
 *
 * UTF-16 and UTF-32 text (with a byte-order mark) is `unsupported`. No decoding, no caps: one
 * pass over the bytes with a small state machine, carried across chunk boundaries.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { simdTextScanner } from './text-scan-simd.js';
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

/** Consecutive stray bytes that are damage in UTF-8 text. */
const STRAY_RUN = 3;
/**
 * A run of stray bytes in text with no more strays than this is a random stretch: legacy
 * encodings whose words make such runs (Cyrillic, Greek, CJK) have them all through the file.
 */
const FEW_STRAYS = 16;

/** Control bytes text uses: BEL, BS, TAB, LF, VT, FF, CR, ESC. */
const TEXT_CONTROLS = new Set([0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]);
/** 1 for bytes text does not contain: other C0 controls, NUL and DEL. */
const FORBIDDEN = new Uint8Array(256);
for (let byte = 0; byte < 0x20; byte++) FORBIDDEN[byte] = TEXT_CONTROLS.has(byte) ? 0 : 1;
FORBIDDEN[0x7f] = 1;

const INFO_SEPARATOR = 0x1f;
const DOS_EOF = 0x1a;
const DEL = 0x7f;
/** A control byte this close to a stray (non-UTF-8) byte is part of a random stretch. */
const STRAY_CONTROL_SPACING = 64;

/** Where a forbidden byte (or stray run) was first found. */
interface Finding {
  detail: string;
  offset: number;
}

class TextValidator implements FormatWalk {
  private position = 0;
  /** The first forbidden byte or stray run that is damage, once found. */
  private failure: Finding | null = null;
  /** Bytes fed when a failure stopped the checks. */
  private stoppedAt: number | null = null;

  // Control bytes.
  private lastControl = -Infinity;
  /** A 0x1F, NUL or ^Z whose meaning depends on the next byte (or on being last). */
  private pendingByte = -1;
  private pendingAt = 0;

  // UTF-8 state machine.
  private need = 0;
  private nextLow = 0x80;
  private nextHigh = 0xbf;
  private sequenceStart = 0;
  private sequenceLength = 0;
  private multibyte = 0;
  private strays = 0;
  private strayRun = 0;
  private lastStray = -Infinity;
  private firstStrayRun: Finding | null = null;

  update(chunk: Uint8Array): void {
    if (this.position === 0 && chunk.length > 0) checkByteOrderMark(chunk);
    const base = this.position;
    this.position += chunk.length;
    let i = 0;
    // A character or a pending control byte carried over from the previous chunk is settled byte by byte.
    for (; i < chunk.length && (this.need > 0 || this.pendingByte >= 0); i++) this.step(chunk[i]!, base + i);
    // Fast path: a stretch of whole UTF-8 characters without forbidden bytes needs only a count of
    // its multibyte characters (their lead bytes), done natively and a word at a time. A character
    // cut by the chunk's end is left to the byte-by-byte walk below.
    const end = completeUtf8End(chunk, i);
    if (end > i) {
      const leads = cleanUtf8Leads(chunk, i, end);
      if (leads >= 0) {
        this.multibyte += leads;
        this.strayRun = 0;
        i = end;
      }
    }
    this.walk(chunk, i, base);
  }

  /** The byte-by-byte walk of `chunk[from..]`; throws once it completes damage. */
  private walk(chunk: Uint8Array, from: number, base: number): void {
    for (let i = from; i < chunk.length;) {
      if (this.need === 0 && this.pendingByte < 0) {
        // Between characters, a run of ASCII that text allows changes nothing but the stray run.
        let next = i;
        while (next < chunk.length && chunk[next]! < 0x80 && !FORBIDDEN[chunk[next]!]) next++;
        if (next > i) {
          this.strayRun = 0;
          i = next;
          continue;
        }
      }
      this.step(chunk[i]!, base + i);
      i++;
    }
  }

  finish(): StructureVerdict {
    if (this.pendingByte >= 0 && !(this.pendingByte === DOS_EOF && this.pendingAt === this.position - 1))
      this.forbidden(this.pendingByte, this.pendingAt);
    this.pendingByte = -1;
    if (this.need > 0) this.stray(this.sequenceStart, this.sequenceLength);
    if (!this.failure && this.firstStrayRun && (this.multibyte > this.strays || this.strays <= FEW_STRAYS))
      this.failure = this.firstStrayRun;
    if (this.failure) throw new Damage(this.failure.detail, this.failure.offset);
    return { status: 'valid', checkedBytes: this.position };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, this.stoppedAt ?? this.position);
  }

  /** Walks one byte; throws once it completes damage. */
  private step(byte: number, at: number): void {
    this.byte(byte, at);
    if (this.failure) {
      this.stoppedAt = at + 1;
      throw new Damage(this.failure.detail, this.failure.offset);
    }
  }

  private byte(byte: number, at: number): void {
    if (this.pendingByte >= 0) this.resolvePending(byte);
    if (this.need > 0) {
      if (byte >= this.nextLow && byte <= this.nextHigh) {
        this.nextLow = 0x80;
        this.nextHigh = 0xbf;
        this.sequenceLength++;
        if (--this.need === 0) {
          this.multibyte++;
          this.strayRun = 0;
        }
        return;
      }
      // The sequence broke: its bytes are strays, and this byte starts afresh.
      this.stray(this.sequenceStart, this.sequenceLength);
      this.need = 0;
    }
    if (byte < 0x80) {
      this.strayRun = 0;
      if (FORBIDDEN[byte]) {
        if (byte === INFO_SEPARATOR || byte === 0 || byte === DOS_EOF || byte === DEL) {
          this.pendingByte = byte;
          this.pendingAt = at;
        } else {
          this.forbidden(byte, at);
        }
      }
      return;
    }
    this.sequenceStart = at;
    this.sequenceLength = 1;
    this.nextLow = 0x80;
    this.nextHigh = 0xbf;
    if (byte >= 0xc2 && byte <= 0xdf) this.need = 1;
    else if (byte >= 0xe0 && byte <= 0xef) {
      this.need = 2;
      if (byte === 0xe0) this.nextLow = 0xa0;
      if (byte === 0xed) this.nextHigh = 0x9f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      this.need = 3;
      if (byte === 0xf0) this.nextLow = 0x90;
      if (byte === 0xf4) this.nextHigh = 0x8f;
    } else {
      this.stray(at, 1);
    }
  }

  /**
   * GNU info's node separators (0x1F before LF/FF), index cookies (NUL before BS) and tag-table
   * entries (DEL before a node's offset) are format, not damage.
   */
  private resolvePending(next: number): void {
    const byte = this.pendingByte;
    this.pendingByte = -1;
    const allowed =
      (byte === INFO_SEPARATOR && (next === 0x0a || next === 0x0c)) ||
      (byte === 0 && next === 0x08) ||
      (byte === DEL && next >= 0x30 && next <= 0x39);
    if (!allowed) this.forbidden(byte, this.pendingAt);
  }

  private forbidden(byte: number, at: number): void {
    this.lastControl = at;
    if (at - this.lastStray < STRAY_CONTROL_SPACING && !this.failure) {
      const name = byte === 0 ? 'NUL' : byte === DEL ? 'DEL' : `0x${byte.toString(16).padStart(2, '0')}`;
      this.failure = {
        detail: `control bytes text does not contain (${name} among invalid UTF-8)`,
        offset: at,
      };
    }
  }

  private stray(at: number, length: number): void {
    this.strays += length;
    this.strayRun += length;
    this.lastStray = at + length - 1;
    // Legacy encodings have stray bytes but few controls; random bytes have both, close together.
    if (at - this.lastControl < STRAY_CONTROL_SPACING && !this.failure) {
      this.failure = { detail: 'invalid UTF-8 among control bytes', offset: at };
    }
    if (this.strayRun >= STRAY_RUN && !this.firstStrayRun)
      this.firstStrayRun = { detail: 'invalid UTF-8 in UTF-8 text', offset: at + length - this.strayRun };
  }
}

/** Text with a UTF-16 or UTF-32 byte-order mark is not checked. */
function checkByteOrderMark(chunk: Uint8Array): void {
  if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))
    throw new Unsupported('UTF-16/UTF-32 text is not checked');
  if (chunk[0] === 0 && chunk[1] === 0 && chunk[2] === 0xfe && chunk[3] === 0xff)
    throw new Unsupported('UTF-32 text is not checked');
}

/**
 * Where `chunk[from..]` stops holding whole characters: its length, or the start of a multibyte
 * sequence that the chunk's end cuts short (valid or not, the byte-by-byte walk judges it).
 */
function completeUtf8End(chunk: Uint8Array, from: number): number {
  const length = chunk.length;
  for (let back = 1; back <= 3 && length - back >= from; back++) {
    const byte = chunk[length - back]!;
    if (byte < 0x80) return length;
    if (byte >= 0xc0) return (byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2) > back ? length - back : length;
  }
  return length;
}

// The forbidden bytes as ranges, for testing four bytes at once: below 0x07, 0x0e–0x1a, 0x1c–0x1f
// and 0x7f — FORBIDDEN, which a test holds this scan to for every byte in every lane.
const LOW_7 = 0x7f7f7f7f;
const HIGH = 0x80808080;
/** Added to a byte below 0x80, sets its high bit when the byte is at least n: 0x80 - n in every lane. */
const AT_LEAST_7 = 0x79797979;
const AT_LEAST_14 = 0x72727272;
const AT_LEAST_27 = 0x65656565;
const AT_LEAST_28 = 0x64646464;
const AT_LEAST_32 = 0x60606060;
const AT_LEAST_127 = 0x01010101;

/** High bit set in each lane of `word` (4 bytes) that holds a forbidden byte. */
function forbiddenLanes(word: number): number {
  const low = word & LOW_7;
  const at7 = low + AT_LEAST_7;
  const at14 = low + AT_LEAST_14;
  const at27 = low + AT_LEAST_27;
  const at28 = low + AT_LEAST_28;
  const at32 = low + AT_LEAST_32;
  const at127 = low + AT_LEAST_127;
  return (~at7 | (at14 & ~at27) | (at28 & ~at32) | at127) & ~word & HIGH;
}

/** Below this many bytes a stretch is scanned here rather than copied into the SIMD scanner. */
const SIMD_MIN_BYTES = 256;

/**
 * The number of UTF-8 lead bytes (multibyte characters) in `chunk[from..to)`, or -1 when it is
 * not valid UTF-8 or holds a forbidden byte. Validity is checked natively; forbidden bytes and
 * lead bytes are found 16 at a time by WebAssembly SIMD (text-scan-simd.ts), or four at a time
 * here for short stretches and where SIMD is missing.
 */
export function cleanUtf8Leads(chunk: Uint8Array, from: number, to: number): number {
  const view = chunk.subarray(from, to);
  if (!isUtf8(view)) return -1;
  const simd = view.length >= SIMD_MIN_BYTES ? simdTextScanner() : null;
  if (simd) return simd(view);
  return swarUtf8Leads(chunk, from, to);
}

/** cleanUtf8Leads's scan of valid UTF-8, four bytes at a time (exported for the test that holds the SIMD scan to it). */
export function swarUtf8Leads(chunk: Uint8Array, from: number, to: number): number {
  const view = chunk.subarray(from, to);
  const ascii = isAscii(view);
  let leads = 0;
  let i = from;
  const misaligned = (chunk.byteOffset + i) & 3;
  const alignedAt = misaligned ? Math.min(to, i + 4 - misaligned) : i;
  for (; i < alignedAt; i++) {
    const byte = chunk[i]!;
    if (byte >= 0xc0) leads++;
    else if (FORBIDDEN[byte]) return -1;
  }
  const words = (to - i) >>> 2;
  if (words > 0) {
    const view32 = new Uint32Array(chunk.buffer, chunk.byteOffset + i, words);
    let forbidden = 0;
    if (ascii) {
      for (let w = 0; w < words; w++) forbidden |= forbiddenLanes(view32[w]!);
    } else {
      for (let w = 0; w < words; w++) {
        const word = view32[w]!;
        forbidden |= forbiddenLanes(word);
        // Lead bytes have their top two bits set; sum the four lanes' flags in the top byte.
        leads += Math.imul((word & (word << 1) & HIGH) >>> 7, 0x01010101) >>> 24;
      }
    }
    if (forbidden !== 0) return -1;
    i += words * 4;
  }
  for (; i < to; i++) {
    const byte = chunk[i]!;
    if (byte >= 0xc0) leads++;
    else if (FORBIDDEN[byte]) return -1;
  }
  return leads;
}

/**
 * Conservative: the head must be valid UTF-8 (an incomplete last character allowed when the
 * head is cut from a longer entry), without NUL, with under 1 % other disallowed controls.
 * Legacy 8-bit text is left to its extension; other formats are tried first by the registry.
 */
function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  let end = head.length;
  if (head.length >= 64 * 1024) {
    // Drop an incomplete trailing UTF-8 sequence: the entry goes on past the head.
    for (let back = 1; back <= 3 && back <= head.length; back++) {
      const byte = head[head.length - back]!;
      if ((byte & 0xc0) === 0x80) continue;
      if (byte >= 0xc0) end = head.length - back;
      break;
    }
  }
  const text = head.subarray(0, end);
  // Most text has no disallowed control at all: that is checked word-wise.
  if (cleanUtf8Leads(text, 0, text.length) >= 0) return true;
  if (!isUtf8(text)) return false;
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]!;
    if (byte === 0) return false;
    if (FORBIDDEN[byte]) controls++;
  }
  return controls * 100 < text.length;
}

/** The plain-text validator. */
export const textValidator: ValidatorDefinition = {
  type: 'text',
  matches: looksLikeText,
  create(_size: number, _limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new TextValidator());
  },
};
