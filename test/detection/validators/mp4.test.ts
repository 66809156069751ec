import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mp4Validator } from '../../../agent/detection/validators/mp4.js';
import { findMachineFiles } from '../../helpers/machine-files.js';
import { applyRansomware } from '../../helpers/ransomware-modes.js';
import {
  chunkingDisagreements,
  DAMAGE_CASES,
  damagedCopy,
  damageResults,
  describeResult,
  intactProblems,
  missedTruncations,
  truncationPoints,
  validate,
  type LoadedFile,
} from '../../helpers/validator-harness.js';

/*
 * This machine has no MP4/M4A/MOV files, and the tools that write them (ffmpeg, gpac's MP4Box,
 * GStreamer's muxers) are large installs. So the files are built here, box by box after ISO/IEC
 * 14496-12 and Apple's QuickTime layout, as muxers write them: ftyp, moov with mvhd and tracks
 * (tkhd, mdhd, hdlr, media header, dref, stsd, stts, stss, stsc, stsz, stco/co64), udta/meta/ilst
 * tags, fragmented files (mvex, moof/traf/trun, mfra), QuickTime files without ftyp, and media
 * data cut from real gzip files on this machine (codec output is as random as that).
 */
function box(type: string, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version << 24) | flags) >>> 0);
  return box(type, vf, ...parts);
}

function u32s(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => out.writeUInt32BE(v >>> 0, 4 * i));
  return out;
}

function u64s(...values: number[]): Buffer {
  const out = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => out.writeBigUInt64BE(BigInt(v), 8 * i));
  return out;
}

interface TrackPlan {
  handler: 'vide' | 'soun';
  /** Sample sizes, chunk by chunk. */
  chunks: number[][];
}

/** A track's boxes, with its chunks placed at `offsets`. */
function trak(id: number, plan: TrackPlan, offsets: number[], wide: boolean): Buffer {
  const sizes = plan.chunks.flat();
  const runs: number[] = [];
  plan.chunks.forEach((chunk, i) => {
    if (i === 0 || chunk.length !== plan.chunks[i - 1]!.length) runs.push(i + 1, chunk.length, 1);
  });
  const sampleEntry =
    plan.handler === 'vide'
      ? box('avc1', Buffer.alloc(78, 0), box('avcC', Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe1])))
      : box('mp4a', Buffer.alloc(28, 0), fullBox('esds', 0, 0, Buffer.alloc(30, 3)));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32s(1), sampleEntry),
    fullBox('stts', 0, 0, u32s(1, sizes.length, 1001)),
    ...(plan.handler === 'vide' ? [fullBox('stss', 0, 0, u32s(2, 1, Math.min(sizes.length, 30)))] : []),
    fullBox('stsc', 0, 0, u32s(runs.length / 3, ...runs)),
    fullBox('stsz', 0, 0, u32s(0, sizes.length, ...sizes)),
    wide
      ? fullBox('co64', 0, 0, u32s(offsets.length), u64s(...offsets))
      : fullBox('stco', 0, 0, u32s(offsets.length, ...offsets)),
  );
  const mediaHeader =
    plan.handler === 'vide' ? fullBox('vmhd', 0, 1, Buffer.alloc(8)) : fullBox('smhd', 0, 0, Buffer.alloc(4));
  const minf = box(
    'minf',
    mediaHeader,
    box('dinf', fullBox('dref', 0, 0, u32s(1), fullBox('url ', 0, 1))),
    stbl,
  );
  const hdlr = fullBox(
    'hdlr',
    0,
    0,
    u32s(0),
    Buffer.from(plan.handler),
    Buffer.alloc(12),
    Buffer.from(`${plan.handler === 'vide' ? 'Video' : 'Sound'}Handler\0`),
  );
  const mdia = box(
    'mdia',
    fullBox('mdhd', 0, 0, u32s(0, 0, 90000, sizes.length * 3003), Buffer.from([0x55, 0xc4, 0, 0])),
    hdlr,
    minf,
  );
  const tkhd = fullBox('tkhd', 0, 3, u32s(0, 0, id, 0, sizes.length * 1001), Buffer.alloc(64));
  return box(
    'trak',
    tkhd,
    box('edts', fullBox('elst', 0, 0, u32s(1, sizes.length * 1001, 0, 0x10000))),
    mdia,
  );
}

function mvhd(tracks: number): Buffer {
  return fullBox(
    'mvhd',
    0,
    0,
    u32s(0, 0, 1000, 60000, 0x10000),
    Buffer.from([1, 0]),
    Buffer.alloc(10),
    Buffer.alloc(36),
    Buffer.alloc(24),
    u32s(tracks + 1),
  );
}

function tags(title: string, quickTime: boolean): Buffer {
  const item = (type: string, data: Buffer): Buffer =>
    Buffer.concat([box(type, fullBox('data', 0, 1, u32s(0), data))]);
  const ilst = box(
    'ilst',
    item('\u00a9nam', Buffer.from(title)),
    item('\u00a9too', Buffer.from('vouch test muxer')),
    item('trkn', Buffer.from([0, 0, 0, 3, 0, 12, 0, 0])),
  );
  const hdlr = fullBox('hdlr', 0, 0, u32s(0), Buffer.from('mdir'), Buffer.from('appl'), Buffer.alloc(9));
  return box('udta', quickTime ? box('meta', hdlr, ilst) : fullBox('meta', 0, 0, hdlr, ilst));
}

interface FileOptions {
  brand?: string;
  moovFirst?: boolean;
  wide?: boolean;
  largeMdat?: boolean;
  sizeZeroMdat?: boolean;
  quickTime?: boolean;
  withTags?: boolean;
}

/** A progressive (non-fragmented) file: samples are cut from `media` and laid out chunk by chunk, tracks interleaved. */
function buildMovie(media: Buffer, plans: TrackPlan[], options: FileOptions): Buffer {
  const ftyp = options.quickTime
    ? Buffer.alloc(0)
    : box('ftyp', Buffer.from(options.brand ?? 'isom'), u32s(0x200), Buffer.from('isomiso2avc1mp41'));
  const prefix = options.quickTime ? box('wide') : Buffer.alloc(0);
  const order: [number, number][] = [];
  const longest = Math.max(...plans.map((p) => p.chunks.length));
  for (let c = 0; c < longest; c++) plans.forEach((plan, t) => c < plan.chunks.length && order.push([t, c]));
  const layout = (mdatStart: number): number[][] => {
    const offsets = plans.map(() => [] as number[]);
    let at = mdatStart;
    for (const [t, c] of order) {
      offsets[t]![c] = at;
      at += plans[t]!.chunks[c]!.reduce((a, b) => a + b, 0);
    }
    return offsets;
  };
  const moovFor = (offsets: number[][]): Buffer =>
    box(
      'moov',
      mvhd(plans.length),
      ...plans.map((plan, t) => trak(t + 1, plan, offsets[t]!, options.wide ?? false)),
      ...(options.withTags ? [tags('A real sample', options.quickTime ?? false)] : []),
    );
  const payloadLength = plans.flatMap((p) => p.chunks.flat()).reduce((a, b) => a + b, 0);
  const payload = Buffer.alloc(payloadLength);
  for (let at = 0; at < payloadLength; at += media.length)
    media.copy(payload, at, 0, Math.min(media.length, payloadLength - at));
  const mdatHeader = options.largeMdat
    ? Buffer.concat([u32s(1), Buffer.from('mdat'), u64s(16 + payloadLength)])
    : Buffer.concat([u32s(options.sizeZeroMdat ? 0 : 8 + payloadLength), Buffer.from('mdat')]);
  if (options.moovFirst) {
    const free = options.sizeZeroMdat ? Buffer.alloc(0) : box('free', Buffer.alloc(32));
    const placeholder = moovFor(layout(0));
    const moov = moovFor(
      layout(ftyp.length + prefix.length + placeholder.length + free.length + mdatHeader.length),
    );
    return Buffer.concat([ftyp, prefix, moov, free, mdatHeader, payload]);
  }
  const moov = moovFor(layout(ftyp.length + prefix.length + mdatHeader.length));
  if (options.sizeZeroMdat) throw new Error('size-0 mdat must be last');
  return Buffer.concat([ftyp, prefix, mdatHeader, payload, moov]);
}

/** A fragmented file: an initialization segment, then moof/mdat pairs, then the random-access index. */
function buildFragmented(media: Buffer, fragments: number[][]): Buffer {
  const ftyp = box('ftyp', Buffer.from('iso6'), u32s(0), Buffer.from('iso6dashcmfc'));
  const init = box(
    'moov',
    mvhd(1),
    trak(1, { handler: 'vide', chunks: [] }, [], false),
    box('mvex', fullBox('trex', 0, 0, u32s(1, 1, 0, 0, 0))),
  );
  const parts: Buffer[] = [ftyp, init];
  let cursor = 0;
  let at = ftyp.length + init.length;
  const moofOffsets: number[] = [];
  fragments.forEach((sizes, n) => {
    const trun = fullBox('trun', 0, 0x201, u32s(sizes.length, 0), u32s(...sizes));
    const traf = box(
      'traf',
      fullBox('tfhd', 0, 0x20000, u32s(1)),
      fullBox('tfdt', 1, 0, u64s(n * 90000)),
      trun,
    );
    const moof = box('moof', fullBox('mfhd', 0, 0, u32s(n + 1)), traf);
    moof.writeUInt32BE(moof.length + 8, moof.length - 4 * sizes.length - 4); // data offset: just past the mdat header
    const length = sizes.reduce((a, b) => a + b, 0);
    const data = Buffer.alloc(length);
    for (let i = 0; i < length; i++) data[i] = media[(cursor + i) % media.length]!;
    cursor += length;
    moofOffsets.push(at);
    parts.push(moof, box('mdat', data));
    at += moof.length + 8 + length;
  });
  const tfra = fullBox(
    'tfra',
    1,
    0,
    u32s(1, 0, moofOffsets.length),
    ...moofOffsets.map((o, i) => Buffer.concat([u64s(i * 90000, o), Buffer.from([1, 1, 1])])),
  );
  const mfra = box('mfra', tfra, fullBox('mfro', 0, 0, u32s(0)));
  mfra.writeUInt32BE(mfra.length, mfra.length - 4);
  parts.push(mfra);
  return Buffer.concat(parts);
}

type Fixture = LoadedFile;

const fixtures: Fixture[] = [];

/** Sample sizes varying like a real stream: a big key frame every `gop`, smaller ones between. */
function frames(count: number, seed: number, gop = 12): number[] {
  return Array.from({ length: count }, (_, i) =>
    i % gop === 0 ? 6000 + ((i * 7919 + seed) % 4000) : 300 + ((i * 104729 + seed) % 2500),
  );
}

function chunked(sizes: number[], perChunk: number): number[][] {
  const chunks: number[][] = [];
  for (let i = 0; i < sizes.length; i += perChunk) chunks.push(sizes.slice(i, i + perChunk));
  return chunks;
}

beforeAll(() => {
  const media = findMachineFiles({
    name: (name) => name.endsWith('.gz'),
    roots: ['/usr/share/doc'],
    minSize: 50_000,
    maxSize: 2_000_000,
    limit: 12,
  }).map((f) => readFileSync(f.path));
  const variants: [string, FileOptions][] = [
    ['faststart', { moovFirst: true }],
    ['moov at end', {}],
    ['co64 + large mdat', { wide: true, largeMdat: true, moovFirst: true }],
    ['m4a tags', { brand: 'M4A ', withTags: true }],
    ['quicktime', { quickTime: true, withTags: true, brand: 'qt  ' }],
    ['mdat to end of file', { moovFirst: true, sizeZeroMdat: true }],
  ];
  media.forEach((data, i) => {
    const [label, options] = variants[i % variants.length]!;
    const video: TrackPlan = { handler: 'vide', chunks: chunked(frames(60 + 13 * i, i), 1 + (i % 5)) };
    const audio: TrackPlan = {
      handler: 'soun',
      chunks: chunked(
        Array.from({ length: 90 + 7 * i }, (_, k) => 370 + ((k * 31 + i) % 40)),
        10,
      ),
    };
    const plans = options.brand === 'M4A ' ? [audio] : [video, audio];
    fixtures.push({ path: `${label} (${i})`, bytes: buildMovie(data, plans, options) });
  });
  for (let i = 0; i < 4; i++)
    fixtures.push({
      path: `fragmented (${i})`,
      bytes: buildFragmented(
        media[i]!,
        Array.from({ length: 3 + i }, (_, n) => frames(24, n * 31 + i)),
      ),
    });
  fixtures.push({
    path: 'large moov',
    bytes: buildMovie(media[0]!, [{ handler: 'vide', chunks: chunked(frames(3000, 5), 1) }], {
      moovFirst: true,
    }),
  });
  for (let i = 0; i < 4; i++) {
    const plans: TrackPlan[] = [{ handler: 'vide', chunks: chunked(frames(40, 100 + i, 8), 2) }];
    fixtures.push({
      path: `short clip (${i})`,
      bytes: buildMovie(media[(i + 5) % media.length]!, plans, { moovFirst: i % 2 === 0 }),
    });
  }
});

describe('mp4 validator', () => {
  it('has at least 20 files of every layout to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it('judges every intact file valid, walking its metadata to the bottom', () => {
    expect(intactProblems(mp4Validator, fixtures)).toEqual([]);
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    const files = fixtures.slice(0, 6);
    expect(chunkingDisagreements(mp4Validator, files)).toEqual([]);
    expect(
      chunkingDisagreements(
        mp4Validator,
        files.map((file) => damagedCopy(file, 'chunks-3x10', 64)),
        [1],
      ),
    ).toEqual([]);
  });

  it.each(DAMAGE_CASES)('judges every file damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    // Media data has no grammar: damage is found where it lands on box headers, tables or the
    // chain's end. Intermittent patterns always hit the metadata; header-kept breaks the chain
    // after the first box. Three 10 % chunks could all fall inside a large mdat when a small moov
    // sits between them; these files do not have that layout, and all are caught.
    const result = damageResults(mp4Validator, fixtures, mode, keepHead);
    console.info(describeResult('mp4', result));
    expect(result.missed).toEqual([]);
  });

  it('judges truncated files invalid', () => {
    const missed = missedTruncations(mp4Validator, fixtures, (bytes) => [
      ...truncationPoints(bytes.length),
      bytes.length - 1,
      Math.floor(bytes.length / 2),
      20,
    ]);
    // A file whose last box runs to the end (size 0) has no length to miss: cut there, it is whole.
    expect(
      missed.filter((miss) => !(miss.path.startsWith('mdat to end') && miss.cut > miss.size / 3)),
    ).toEqual([]);
  });

  it('finds a chunk offset that points outside the media data', () => {
    const { bytes } = fixtures.find((f) => f.path.startsWith('faststart'))!;
    const damaged = Buffer.from(bytes);
    const stco = damaged.indexOf('stco');
    damaged.writeUInt32BE(16, stco + 12); // the first chunk now points into ftyp
    expect(validate(mp4Validator, damaged)).toMatchObject({
      status: 'invalid',
      detail: expect.stringMatching(/chunk 1 at \d+ is not inside a media data box/),
    });
  });

  it('does not claim other formats', () => {
    expect(mp4Validator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(mp4Validator.matches(applyRansomware(fixtures[0]!.bytes, 'whole', 'x'))).toBe(false);
  });
});
