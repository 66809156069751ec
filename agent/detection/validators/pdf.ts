/**
 * PDF: the file is walked once, as text between streams and as data inside them.
 *
 * - `%PDF-` within the first 1024 bytes (readers allow leading junk; offsets then count from it).
 * - Every stream whose dictionary names FlateDecode as its only filter must inflate (zlib
 *   header, deflate data to its end), and `endstream` must follow within a few bytes of the
 *   deflate end — the stream's `/Length` may be an indirect reference, so the deflate end is what
 *   says where the data stops. The Adler-32 is not required: readers ignore it, and real writers
 *   get it wrong. Streams whose only filter is DCTDecode are checked by the JPEG validator. Other
 *   streams (other filters, filter chains, external data) are skipped to their `endstream`.
 * - The last `startxref` must be followed by `%%EOF`, and its offset must be where an `xref`
 *   keyword or a cross-reference stream object (`/Type /XRef`) was seen during the walk (the
 *   validator only sees each byte once, so it records those offsets as it passes them).
 *
 * Encrypted PDFs (`/Encrypt` in a trailer or cross-reference stream) are legitimately encrypted:
 * their streams cannot be checked, so they are `unsupported` rather than judged. Since the trailer
 * usually comes last, a stream that fails is remembered and judged at the end.
 *
 * Caps: past the decode budget, or a stream's output cap, Flate streams are skipped to their
 * `endstream` like other streams; `checkedBytes` is where inflating stopped.
 */
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { DecodeBudget, StreamInflater } from './inflate-check.js';
import { jpegValidator } from './jpeg.js';
import { Damage, guardedValidator, stopVerdict, type FormatWalk, type Stop } from './validator-kit.js';

/** `%PDF-` may start this far into the file. */
const HEADER_WINDOW = 1024;
/** Text kept from one chunk to the next so that no token is cut (tokens are short; whitespace between them rarely long). */
const TEXT_CARRY = 256;
/** Text looked at per step. */
const TEXT_SLICE = 16 * 1024;
/** Dictionary text kept per object (from `obj` to `stream`); longer dictionaries are not read for their filter. */
const MAX_DICTIONARY = 64 * 1024;
/** `endstream` must start within this many bytes of the deflate end (Adler-32, end-of-line, padding). */
const ENDSTREAM_WINDOW = 64;
const ENDSTREAM = Buffer.from('endstream');

/** Tokens found in text between streams. */
const TOKENS =
  /(?<![0-9])(\d+)[\0\t\n\f\r ]+\d+[\0\t\n\f\r ]+obj(?![A-Za-z])|(?<![A-Za-z])xref(?![A-Za-z])|startxref[\0\t\n\f\r ]+(\d+)|\/Encrypt(?![A-Za-z])|(?<![A-Za-z])endobj(?![A-Za-z])|(?<![A-Za-z])endstream(?![A-Za-z])|>>[\0\t\n\f\r ]*stream(\r\n|\n|\r)|%%EOF|%PDF-/g;

/** What a stream dictionary asks for. */
type StreamKind = 'flate' | 'dct' | 'other';

/** The single filter a stream dictionary names (`/Filter /X` or `/Filter [/X]`), when it names exactly one and no external file. */
function streamKind(dictionary: string | null): StreamKind {
  if (dictionary === null || /\/F[\0\t\n\f\r (<[/]/.test(dictionary)) return 'other';
  const filter =
    /\/Filter[\0\t\n\f\r ]*(?:\/([A-Za-z0-9]+)|\[[\0\t\n\f\r ]*\/([A-Za-z0-9]+)[\0\t\n\f\r ]*\])/.exec(
      dictionary,
    );
  const name = filter?.[1] ?? filter?.[2];
  if (name === 'FlateDecode') return 'flate';
  if (name === 'DCTDecode') return 'dct';
  return 'other';
}

/** A stream that failed, judged at the end (unless the PDF turns out to be encrypted). */
interface Failure {
  detail: string;
  offset: number;
}

type Phase = 'text' | 'flate' | 'after-flate' | 'skip';

class PdfValidator implements FormatWalk {
  private phase: Phase = 'text';
  /** Offset of the first byte of the data the current step is given. */
  private offset = 0;
  /** Text bytes carried to the next step (tokens may straddle chunks). */
  private carry = new Uint8Array(0);
  /** Where in the next text buffer the token search resumes (after a token that ran into the carry). */
  private resumeAt = 0;
  private headerAt: number | null = null;
  private dictionary: string | null = null;
  private dictionaryAt = 0;
  private xrefTargets = new Set<number>();
  private startxref: number | null = null;
  private startxrefAt = 0;
  private eofAt: number | null = null;
  private encrypted = false;
  private failure: Failure | null = null;
  private streams = 0;
  /** Between an `N G obj` header and its `endobj` or `stream`: a stream must open inside an object. */
  private inObject = false;
  /** The current stream's direct `/Length`, when its dictionary gives one: `endstream` before that is data. */
  private streamLength: number | null = null;
  private streamStart = 0;
  private inflater: StreamInflater | null = null;
  private jpeg: StructureValidator | null = null;
  /** Bytes at the start of the current Flate stream, to recognise an empty one. */
  private streamHead: number[] = [];
  private window: number[] = [];
  private uncheckedFrom: number | null = null;

  constructor(private readonly budget: DecodeBudget) {}

  update(chunk: Uint8Array): void {
    this.walk(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), false);
  }

  finish(): StructureVerdict {
    this.settleAtEnd();
    return this.judge();
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.offset, { parts: this.streams });
  }

  private walk(data: Buffer, atEnd: boolean): void {
    while (data.length > 0 || (atEnd && this.phase === 'text' && this.carry.length > 0)) {
      const rest = this.step(data, atEnd);
      this.offset += data.length - rest.length;
      if (rest.length === 0 && data.length === 0) break;
      data = rest;
    }
  }

  private step(data: Buffer, atEnd: boolean): Buffer {
    switch (this.phase) {
      case 'text':
        return this.scanText(data, atEnd);
      case 'flate':
        return this.inflateStream(data);
      case 'after-flate':
        return this.findEndstreamAfterFlate(data, atEnd);
      case 'skip':
        return this.skipStream(data);
    }
  }

  /**
   * Finds tokens in the text between streams, a slice at a time (the text before the next stream
   * is usually short, and the rest of a large chunk is stream data); returns what follows the
   * slice, or the data after a `stream` keyword.
   */
  private scanText(data: Buffer, atEnd: boolean): Buffer {
    const slice = data.subarray(0, TEXT_SLICE);
    const carried = this.carry.length;
    const buffer = carried > 0 ? Buffer.concat([this.carry, slice]) : slice;
    const bufferAt = this.offset - this.carry.length;
    const text = buffer.toString('latin1');
    const limit = atEnd && slice.length === data.length ? text.length : Math.max(0, text.length - TEXT_CARRY);
    TOKENS.lastIndex = this.resumeAt;
    let dictionaryFrom = this.dictionary === null ? -1 : 0;
    let processedEnd = 0;
    for (let match = TOKENS.exec(text); match && match.index < limit; match = TOKENS.exec(text)) {
      const at = bufferAt + match.index;
      const token = match[0];
      processedEnd = match.index + token.length;
      if (match[1] !== undefined) {
        this.inObject = true;
        this.dictionary = '';
        this.dictionaryAt = at;
        dictionaryFrom = match.index;
      } else if (match[2] !== undefined) {
        this.startxref = Number(match[2]);
        this.startxrefAt = at;
      } else if (match[3] !== undefined) {
        // `stream`: the data starts after the end-of-line.
        if (this.dictionary !== null && dictionaryFrom >= 0)
          this.appendDictionary(text.slice(dictionaryFrom, match.index + 2));
        // Every stream is the data of an indirect object: one with no object header before it lost
        // its header (and the dictionary that says how to check it).
        if (!this.inObject)
          this.failure ??= {
            detail: `stream at byte ${at} belongs to no object (its object header is missing)`,
            offset: at,
          };
        const end = match.index + token.length;
        this.carry = new Uint8Array(0);
        this.resumeAt = 0;
        this.startStream(bufferAt + end);
        return end >= carried
          ? data.subarray(end - carried)
          : Buffer.concat([buffer.subarray(end, carried), data]);
      } else if (token === 'xref') {
        this.xrefTargets.add(at);
      } else if (token === '/Encrypt') {
        this.encrypted = true;
      } else if (token === 'endstream') {
        // Stream data is consumed to its `endstream` by the stream phases: one met in text ends a
        // stream whose `stream` keyword was lost, so its data was read as text.
        this.failure ??= {
          detail: `endstream at byte ${at} ends no stream (the stream's start is missing)`,
          offset: at,
        };
      } else if (token === 'endobj') {
        this.inObject = false;
        this.dictionary = null;
        dictionaryFrom = -1;
      } else if (token === '%%EOF') {
        this.eofAt = at;
      } else if (this.headerAt === null && at <= HEADER_WINDOW) {
        this.headerAt = at;
      }
    }
    if (this.dictionary !== null && dictionaryFrom >= 0)
      this.appendDictionary(text.slice(dictionaryFrom, limit));
    // A token that started before the limit may have run past it: do not find its tail again.
    this.resumeAt = Math.max(0, processedEnd - limit);
    this.carry = Uint8Array.from(buffer.subarray(limit));
    if (this.headerAt === null && bufferAt + limit > HEADER_WINDOW + 5)
      throw new Damage('no %PDF- header in the first 1024 bytes', 0);
    return data.subarray(slice.length);
  }

  private appendDictionary(text: string): void {
    if (this.dictionary === null) return;
    this.dictionary = this.dictionary.length + text.length > MAX_DICTIONARY ? null : this.dictionary + text;
  }

  private startStream(at: number): void {
    const dictionary = this.dictionary;
    this.streams++;
    this.streamStart = at;
    if (dictionary !== null && /\/Type[\0\t\n\f\r ]*\/XRef(?![A-Za-z])/.test(dictionary))
      this.xrefTargets.add(this.dictionaryAt);
    if (dictionary !== null && /\/Encrypt(?![A-Za-z])/.test(dictionary)) this.encrypted = true;
    const kind = streamKind(dictionary);
    const length =
      dictionary === null
        ? null
        : /\/Length[\0\t\n\f\r ]+(\d+)(?![\0\t\n\f\r ]+\d+[\0\t\n\f\r ]+R)(?![0-9])/.exec(dictionary);
    this.streamLength = length ? Number(length[1]) : null;
    this.dictionary = null;
    this.inObject = false;
    const checking = !this.encrypted && this.failure === null;
    this.inflater = null;
    this.jpeg = null;
    if (kind === 'flate' && checking) {
      if (this.budget.remaining > 0) {
        this.inflater = new StreamInflater({ wrapper: 'zlib', budget: this.budget });
        this.streamHead = [];
        this.phase = 'flate';
        return;
      }
      this.uncheckedFrom ??= at;
    }
    if (kind === 'dct' && checking) this.jpeg = jpegValidator.create(0, this.budget.limits);
    this.window = [];
    this.phase = 'skip';
  }

  private inflateStream(data: Buffer): Buffer {
    const inflater = this.inflater!;
    for (let i = 0; this.streamHead.length < 16 && i < data.length; i++) this.streamHead.push(data[i]!);
    const rest = inflater.push(data);
    return this.settleInflater(rest);
  }

  /** Acts on the stream's inflater after it was fed; returns the bytes after what it took. */
  private settleInflater(rest: Uint8Array): Buffer {
    const inflater = this.inflater!;
    const restBuffer = Buffer.from(rest.buffer, rest.byteOffset, rest.length);
    switch (inflater.state) {
      case 'running':
        return restBuffer;
      case 'ended':
        this.window = [];
        this.phase = 'after-flate';
        return restBuffer;
      case 'capped':
        this.uncheckedFrom ??= this.streamStart;
        this.window = [];
        this.phase = 'skip';
        return restBuffer;
      case 'failed': {
        // An empty stream (`stream` EOL `endstream`) has no zlib header to find.
        const head = Buffer.from(this.streamHead).toString('latin1');
        if (!/^[\0\t\n\f\r ]*endstream/.test(head))
          this.failure ??= {
            detail: `Flate stream ${this.streams} does not inflate (${inflater.failure})`,
            offset: this.streamStart,
          };
        // The inflater hands back the input from where decoding failed: skip it to `endstream`.
        this.window = [];
        this.phase = 'skip';
        return restBuffer;
      }
    }
  }

  /** After the deflate end: `endstream` within a few bytes, then text again. */
  private findEndstreamAfterFlate(data: Buffer, atEnd: boolean): Buffer {
    const take = Math.min(ENDSTREAM_WINDOW + ENDSTREAM.length - this.window.length, data.length);
    for (let i = 0; i < take; i++) this.window.push(data[i]!);
    const window = Buffer.from(this.window);
    const found = window.indexOf(ENDSTREAM);
    if (found >= 0) {
      this.phase = 'text';
      const used = found + ENDSTREAM.length;
      // The window's bytes after `endstream` go back to the text scan.
      return Buffer.concat([window.subarray(used), data.subarray(take)]);
    }
    if (this.window.length >= ENDSTREAM_WINDOW + ENDSTREAM.length || atEnd) {
      this.failure ??= {
        detail: `Flate stream ${this.streams} is not followed by endstream`,
        offset: this.streamStart,
      };
      this.window = [];
      this.phase = 'skip';
      return Buffer.concat([window, data.subarray(take)]);
    }
    return data.subarray(take);
  }

  /** Stream data not inflated: to the next `endstream` (fed to the JPEG validator for DCT images). */
  private skipStream(data: Buffer): Buffer {
    const carried = this.window.length;
    const buffer = carried > 0 ? Buffer.concat([Buffer.from(this.window), data]) : data;
    const bufferAt = this.offset - carried;
    // `endstream` inside the declared length is data (an uncompressed embedded PDF holds the word).
    const from =
      this.streamLength === null ? 0 : Math.max(0, this.streamStart + this.streamLength - bufferAt);
    const found = from >= buffer.length ? -1 : buffer.indexOf(ENDSTREAM, from);
    if (found >= 0) {
      this.jpeg?.update(buffer.subarray(0, found));
      this.endSkippedStream();
      this.window = [];
      this.phase = 'text';
      return buffer.subarray(found + ENDSTREAM.length);
    }
    const keep = Math.min(buffer.length, ENDSTREAM.length - 1);
    this.jpeg?.update(buffer.subarray(0, buffer.length - keep));
    this.window = [...buffer.subarray(buffer.length - keep)];
    return data.subarray(data.length);
  }

  private endSkippedStream(): void {
    if (!this.jpeg) return;
    const verdict = this.jpeg.finish();
    if (verdict.status === 'invalid')
      this.failure ??= {
        detail: `DCT image stream ${this.streams}: ${verdict.detail}`,
        offset: this.streamStart + (verdict.offset ?? 0),
      };
    this.jpeg = null;
  }

  /** Input is over: drain what is staged or carried, then the file must end in text. */
  private settleAtEnd(): void {
    // Staged input may hold the rest of the file (all of it, for a small one fed in small chunks): stream after stream.
    while (this.phase === 'flate' || this.phase === 'after-flate') {
      const rest =
        this.phase === 'flate'
          ? this.settleInflater(this.inflater!.end())
          : this.findEndstreamAfterFlate(Buffer.alloc(0), true);
      this.offset -= rest.length;
      this.walk(rest, true);
    }
    if (this.phase === 'text') this.walk(Buffer.alloc(0), true);
    if (this.phase !== 'text') throw new Damage(`PDF ends inside stream ${this.streams}`, this.offset);
    if (this.headerAt === null) throw new Damage('no %PDF- header in the first 1024 bytes', 0);
  }

  /** The verdict once the whole file was walked in text. */
  private judge(): StructureVerdict {
    const end = this.offset;
    if (this.startxref === null) throw new Damage('no startxref', end);
    if (this.eofAt === null || this.eofAt < this.startxrefAt)
      throw new Damage('no %%EOF after startxref', this.startxrefAt);
    if (this.failure && !this.encrypted) throw new Damage(this.failure.detail, this.failure.offset);
    const header = this.headerAt ?? 0;
    const target = [this.startxref, this.startxref + header].some((at) =>
      [0, 1, 2, 3, 4].some((ahead) => this.xrefTargets.has(at + ahead)),
    );
    if (!target)
      throw new Damage(`startxref ${this.startxref} points at no cross-reference section`, this.startxrefAt);
    if (this.encrypted)
      return {
        status: 'unsupported',
        detail: 'PDF is encrypted (standard security handler)',
        checkedBytes: end,
        parts: this.streams,
      };
    return { status: 'valid', checkedBytes: this.uncheckedFrom ?? end, parts: this.streams };
  }
}

/**
 * PDF: `%PDF-` and a version at the start, or within the first 1024 bytes after binary junk
 * (readers accept both). A text file that merely mentions `%PDF-1.7` near its top is not claimed:
 * judged as a PDF it would look damaged.
 */
export const pdfValidator: ValidatorDefinition = {
  type: 'pdf',
  matches(head: Uint8Array): boolean {
    const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, HEADER_WINDOW + 8)).toString(
      'latin1',
    );
    const at = text.search(/%PDF-\d\.\d/);
    return at === 0 || (at > 0 && at <= HEADER_WINDOW && /[\0-\x08\x0e-\x1f]/.test(text.slice(0, at)));
  },
  create(_size: number, limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new PdfValidator(new DecodeBudget(limits)));
  },
};
