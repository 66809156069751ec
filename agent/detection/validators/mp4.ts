/**
 * ISO base media files (MP4, M4A/M4V, 3GP, QuickTime MOV): the top-level box chain from offset 0
 * — 32-bit sizes, 64-bit large sizes, size 0 only for a last box running to the end — must end
 * exactly at the end of the file; types are four printable characters; `ftyp` comes first (old
 * QuickTime files start with `moov`, `mdat`, `free`, `skip`, `wide` or `pnot`, DASH segments
 * with `styp`); and a `moov`, `moof` or `meta` box must be there, or nothing can be played.
 *
 * Metadata boxes (`moov`, `moof`, `mfra`, `meta`, `udta`) up to MAX_CONTAINER_BYTES are held and
 * walked to the bottom: children must chain exactly to their parent's end; full boxes with
 * tables (`stts`, `stsc`, `stsz`, `stco`, `co64`, `stss`, `ctts`, `trun`, …) must be exactly as
 * long as their entry counts say; and every chunk of every track (offsets from `stco`/`co64`,
 * lengths from `stsc` and `stsz`) must lie inside an `mdat` box. Media data itself is codec
 * output with no checkable grammar here: encryption confined to it is left to statistics.
 */
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { Field, u32be as u32, u64be as u64 } from './bytes.js';
import { Damage, guardedValidator, stopVerdict, type FormatWalk, type Stop } from './validator-kit.js';

/** Metadata boxes are held whole up to this size (a feature film's `moov` is a few MB). */
const MAX_CONTAINER_BYTES = 16 * 1024 * 1024;
const MAX_DEPTH = 32;

/** Top-level boxes held and walked; everything else at the top is skipped. */
const HELD_BOXES = new Set(['moov', 'moof', 'mfra', 'meta', 'udta']);
/** Boxes whose payload is nothing but child boxes. */
const CONTAINERS = new Set([
  'moov',
  'trak',
  'mdia',
  'minf',
  'stbl',
  'dinf',
  'edts',
  'udta',
  'mvex',
  'moof',
  'traf',
  'mfra',
  'tref',
  'ilst',
  'sinf',
  'schi',
  'gmhd',
  'tapt',
  'clip',
  'matt',
  'imap',
  'rmra',
  'rmda',
]);
/** First boxes of files written without `ftyp` (QuickTime before ISO), and of DASH media segments (`styp`). */
const LEGACY_FIRST = new Set(['moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'styp']);
/** A file holds media only with one of these at the top (movie, fragment, or HEIF-style metadata). */
const METADATA_BOXES = new Set(['moov', 'moof', 'meta']);

/** Box types are four printable ASCII characters; iTunes metadata items may start with © (0xA9). */
function isBoxType(b: Uint8Array, at: number, nested: boolean): boolean {
  for (let i = 0; i < 4; i++) {
    const c = b[at + i]!;
    if ((c < 0x20 || c > 0x7e) && !(nested && i === 0 && c === 0xa9)) return false;
  }
  return true;
}

function typeName(b: Uint8Array, at: number): string {
  return Buffer.from(b.subarray(at, at + 4)).toString('latin1');
}

/** One track's sample-table facts, for the chunk-in-mdat check. */
interface SampleTables {
  chunkOffsets?: number[];
  /** stsc runs: first chunk (1-based), samples per chunk. */
  samplesPerChunk?: [number, number][];
  /** stsz: a fixed size, or per-sample sizes. */
  sampleSizes?: { fixed: number; count: number; sizes: Uint32Array | null };
}

/** What walking held boxes found, checked against the top-level chain at the end. */
interface Findings {
  tracks: SampleTables[];
}

/**
 * Walks the children of a held box payload `[start, end)` of `b` (whose byte 0 is file offset
 * `base`); throws Damage.
 */
function walkChildren(
  b: Uint8Array,
  start: number,
  end: number,
  base: number,
  depth: number,
  findings: Findings,
  track: SampleTables | null,
): void {
  if (depth > MAX_DEPTH) throw new Damage('boxes nested too deep', base + start);
  let at = start;
  while (at < end) {
    // Some writers end a container with a 4-byte zero terminator (QuickTime udta).
    if (end - at === 4 && u32(b, at) === 0) return;
    if (end - at < 8) throw new Damage('box header runs past its parent', base + at);
    let size = u32(b, at);
    let header = 8;
    if (size === 1) {
      if (end - at < 16) throw new Damage('box header runs past its parent', base + at);
      size = u64(b, at + 8);
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (!isBoxType(b, at + 4, true)) throw new Damage('box type is not printable', base + at + 4);
    const type = typeName(b, at + 4);
    if (size < header || at + size > end)
      throw new Damage(`box '${type}' of ${size} bytes does not fit its parent`, base + at);
    const payload = at + header;
    const boxEnd = at + size;
    checkBox(b, type, payload, boxEnd, base, depth, findings, track);
    at = boxEnd;
  }
}

/** Checks one box's payload `[p, end)`. */
function checkBox(
  b: Uint8Array,
  type: string,
  p: number,
  end: number,
  base: number,
  depth: number,
  findings: Findings,
  track: SampleTables | null,
): void {
  const length = end - p;
  const fail = (what: string): never => {
    throw new Damage(`box '${type}' ${what}`, base + p);
  };
  if (type === 'trak') {
    const tables: SampleTables = {};
    findings.tracks.push(tables);
    return walkChildren(b, p, end, base, depth + 1, findings, tables);
  }
  if (CONTAINERS.has(type)) return walkChildren(b, p, end, base, depth + 1, findings, track);
  switch (type) {
    case 'meta': {
      // ISO meta is a full box (4 bytes of version and flags); QuickTime's is a plain container.
      const quickTime = length >= 8 && isBoxType(b, p + 4, true) && u32(b, p) >= 8 && u32(b, p) <= length;
      return walkChildren(b, quickTime ? p : p + 4, end, base, depth + 1, findings, track);
    }
    case 'stsd':
    case 'dref': {
      if (length < 8) fail('is too short');
      const count = u32(b, p + 4);
      let at = p + 8;
      for (let i = 0; i < count; i++) {
        if (at + 8 > end) fail(`lists ${count} entries but holds fewer`);
        const size = u32(b, at);
        if (size < 8 || at + size > end || !isBoxType(b, at + 4, false)) fail(`entry ${i + 1} is malformed`);
        at += size;
      }
      if (at !== end) fail('entries do not fill it');
      return;
    }
    case 'ftyp':
      return fail('appears inside another box');
    case 'mvhd':
    case 'mdhd':
    case 'tkhd': {
      const version = b[p];
      if (version !== 0 && version !== 1) fail(`has unknown version ${version}`);
      const minimum = { mvhd: [100, 112], mdhd: [24, 36], tkhd: [84, 96] }[type][version!]!;
      if (length < minimum) fail('is too short for its version');
      return;
    }
    case 'hdlr':
      if (length < 24) fail('is too short');
      return;
    case 'stts':
    case 'ctts':
    case 'stsc':
    case 'stss':
    case 'stps':
    case 'stco':
    case 'co64':
    case 'elst':
    case 'sdtp':
      return checkTable(b, type, p, end, base, track);
    case 'stsz': {
      if (length < 12) fail('is too short');
      const fixed = u32(b, p + 4);
      const count = u32(b, p + 8);
      if (length !== 12 + (fixed === 0 ? count * 4 : 0))
        fail(`is ${length} bytes, not what its ${count} samples need`);
      if (track) {
        const sizes = fixed === 0 ? new Uint32Array(count) : null;
        if (sizes) for (let i = 0; i < count; i++) sizes[i] = u32(b, p + 12 + 4 * i);
        track.sampleSizes = { fixed, count, sizes };
      }
      return;
    }
    case 'trun':
      return checkTrackRun(b, p, end, base);
    case 'mfhd':
      if (length !== 8) fail('is not 8 bytes');
      return;
    default:
      return;
  }
}

/** Entry sizes of full boxes that are a count followed by fixed-size entries. */
function tableEntrySize(type: string, version: number): number {
  switch (type) {
    case 'stts':
    case 'ctts':
      return 8;
    case 'stsc':
      return 12;
    case 'stss':
    case 'stps':
    case 'stco':
      return 4;
    case 'co64':
      return 8;
    case 'elst':
      return version === 1 ? 20 : 12;
    default:
      return 0;
  }
}

function checkTable(
  b: Uint8Array,
  type: string,
  p: number,
  end: number,
  base: number,
  track: SampleTables | null,
): void {
  const length = end - p;
  if (type === 'sdtp') return; // one byte per sample, counted by stsz: nothing to hold it to here
  if (length < 8) throw new Damage(`box '${type}' is too short`, base + p);
  const version = b[p]!;
  const count = u32(b, p + 4);
  const entry = tableEntrySize(type, version);
  if (length !== 8 + count * entry)
    throw new Damage(`box '${type}' is ${length} bytes, not what its ${count} entries need`, base + p);
  if (!track) return;
  if (type === 'stco' || type === 'co64') {
    track.chunkOffsets = Array.from({ length: count }, (_, i) =>
      type === 'co64' ? u64(b, p + 8 + 8 * i) : u32(b, p + 8 + 4 * i),
    );
  } else if (type === 'stsc') {
    const runs: [number, number][] = [];
    for (let i = 0; i < count; i++) {
      const first = u32(b, p + 8 + 12 * i);
      if (first === 0 || (runs.length > 0 && first <= runs[runs.length - 1]![0]))
        throw new Damage("box 'stsc' chunk runs are out of order", base + p);
      runs.push([first, u32(b, p + 12 + 12 * i)]);
    }
    track.samplesPerChunk = runs;
  }
}

/** A fragment's track run: its length follows from its flags and sample count. */
function checkTrackRun(b: Uint8Array, p: number, end: number, base: number): void {
  if (end - p < 8) throw new Damage("box 'trun' is too short", base + p);
  const flags = u32(b, p) & 0xffffff;
  const count = u32(b, p + 4);
  const optional = (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
  const perSample =
    (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0) + (flags & 0x800 ? 4 : 0);
  if (end - p !== 8 + optional + count * perSample)
    throw new Damage(`box 'trun' is ${end - p} bytes, not what its ${count} samples need`, base + p);
}

/** Every track's chunks must lie inside one of the media-data ranges. */
function checkChunks(tracks: SampleTables[], media: [number, number][], fileSize: number): void {
  tracks.forEach((track, index) => {
    const { chunkOffsets, samplesPerChunk, sampleSizes } = track;
    if (!chunkOffsets || !samplesPerChunk || !sampleSizes) return;
    let sample = 0;
    let run = 0;
    for (let chunk = 0; chunk < chunkOffsets.length; chunk++) {
      while (run + 1 < samplesPerChunk.length && samplesPerChunk[run + 1]![0] <= chunk + 1) run++;
      const samples = samplesPerChunk[run]?.[1] ?? 0;
      let length = 0;
      for (let s = 0; s < samples; s++, sample++) {
        if (sample >= sampleSizes.count)
          throw new Damage(`track ${index + 1} chunks hold more samples than its sample sizes list`, 0);
        length += sampleSizes.sizes ? sampleSizes.sizes[sample]! : sampleSizes.fixed;
      }
      const offset = chunkOffsets[chunk]!;
      // Chunk offsets may also point into other boxes' data in odd files; outside the file is never right.
      if (offset + length > fileSize)
        throw new Damage(`track ${index + 1} chunk ${chunk + 1} lies outside the file`, 0);
      if (media.length > 0 && !media.some(([from, to]) => offset >= from && offset + length <= to)) {
        throw new Damage(
          `track ${index + 1} chunk ${chunk + 1} at ${offset} is not inside a media data box`,
          0,
        );
      }
    }
  });
}

class Mp4Validator implements FormatWalk {
  private position = 0;
  /** The current top-level box's header: 8 bytes, or 16 with a large size. */
  private readonly header = new Field(16, 8);
  private boxType = '';
  /** Payload bytes of the current top-level box still to come. */
  private remaining = 0;
  private toEnd = false;
  private held: Uint8Array | null = null;
  private heldFill = 0;
  private boxes = 0;
  private readonly media: [number, number][] = [];
  private sawMetadata = false;
  private readonly findings: Findings = { tracks: [] };

  update(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0 || this.toEnd) {
        const take = this.toEnd ? chunk.length - at : Math.min(this.remaining, chunk.length - at);
        if (this.held) {
          this.held.set(chunk.subarray(at, at + take), this.heldFill);
          this.heldFill += take;
        }
        at += take;
        this.position += take;
        if (!this.toEnd) {
          this.remaining -= take;
          if (this.remaining === 0) this.boxDone();
        }
        continue;
      }
      const take = this.header.take(chunk, at, this.position);
      at += take;
      this.position += take;
      if (this.header.complete) this.boxHeader();
    }
  }

  finish(): StructureVerdict {
    if (this.toEnd) this.boxDone();
    if (this.boxes === 0) throw new Damage('no complete box', this.position);
    if (this.remaining > 0 || this.header.filled > 0)
      throw new Damage(`file ends inside box '${this.boxType || '?'}'`, this.position);
    if (!this.sawMetadata) throw new Damage('no movie, fragment or metadata box', this.position);
    checkChunks(this.findings.tracks, this.media, this.position);
    return { status: 'valid', checkedBytes: this.position, parts: this.boxes };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, this.position, { parts: this.boxes });
  }

  private boxHeader(): void {
    const h = this.header.bytes;
    let size = u32(h, 0);
    if (size === 1 && this.header.need === 8) {
      this.header.need = 16;
      return;
    }
    if (!isBoxType(h, 4, false))
      throw new Damage(`box at ${this.header.start} has an unprintable type`, this.header.start + 4);
    const type = typeName(h, 4);
    if (this.boxes === 0 && type !== 'ftyp' && !LEGACY_FIRST.has(type))
      throw new Damage(`first box is '${type}', not 'ftyp'`, 4);
    if (this.boxes > 0 && type === 'ftyp') throw new Damage("a second 'ftyp' box", this.header.start);
    const headerLength = this.header.need;
    this.header.expect(8);
    this.boxType = type;
    if (METADATA_BOXES.has(type)) this.sawMetadata = true;
    this.toEnd = size === 0;
    if (size === 1) size = u64(h, 8);
    if (!this.toEnd && size < headerLength)
      throw new Damage(`box '${type}' size ${size} is smaller than its header`, this.header.start);
    this.remaining = this.toEnd ? 0 : size - headerLength;
    const holds = type === 'ftyp' || HELD_BOXES.has(type);
    this.held =
      holds && !this.toEnd && this.remaining <= MAX_CONTAINER_BYTES ? new Uint8Array(this.remaining) : null;
    this.heldFill = 0;
    if (this.remaining === 0 && !this.toEnd) this.boxDone();
  }

  private boxDone(): void {
    const type = this.boxType;
    this.boxes += 1;
    if (type === 'mdat') this.media.push([this.header.start, this.position]);
    const held = this.held;
    this.held = null;
    if (!held) return;
    const base = this.position - held.length;
    if (type === 'ftyp') {
      if (held.length < 8 || (held.length - 8) % 4 !== 0)
        throw new Damage("box 'ftyp' has a partial brand list", base);
      for (let i = 0; i < held.length; i += 4)
        if (i !== 4 && !isBoxType(held, i, false))
          throw new Damage("box 'ftyp' has an unprintable brand", base + i);
      return;
    }
    checkBox(held, type, 0, held.length, base, 0, this.findings, null);
  }
}

/** The MP4 validator. */
export const mp4Validator: ValidatorDefinition = {
  type: 'mp4',
  matches(head: Uint8Array): boolean {
    if (head.length < 16 || !isBoxType(head, 4, false)) return false;
    const size = u32(head, 0);
    const type = typeName(head, 4);
    if (type === 'ftyp')
      return size >= 16 && size <= 4096 && (size - 16) % 4 === 0 && isBoxType(head, 8, false);
    // Without ftyp, ask for a second box header where the first box ends, when that is in the head.
    if (!LEGACY_FIRST.has(type) || size < 8) return false;
    if (size + 8 > head.length) return type === 'mdat' || type === 'moov';
    return isBoxType(head, size + 4, false);
  },
  create(_size: number, _limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new Mp4Validator());
  },
};
