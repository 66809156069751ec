import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegValidator } from '../../../agent/detection/validators/jpeg.js';
import { findByExtension, findMachineFiles, MACHINE_ROOTS } from '../../helpers/machine-files.js';
import {
  chunkingDisagreements,
  DAMAGE_CASES,
  damageResults,
  describeResult,
  falsePositives,
  loadFiles,
  missedTruncations,
  overwritten,
  validate,
  type LoadedFile,
} from '../../helpers/validator-harness.js';

const PDFS = [
  '/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf',
  '/usr/share/doc/libtasn1-doc/libtasn1.pdf',
];

let dir: string;
/** JPEGs shipped on the machine (few: documentation images, test fixtures). */
let shipped: LoadedFile[] = [];
/** JPEGs written here by libjpeg-turbo's cjpeg/jpegtran and poppler from real images and documents. */
let made: LoadedFile[] = [];
let all: LoadedFile[] = [];

function shell(script: string): void {
  execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'pipe' });
}

/** Distinct contents only: the same fixture ships with many Python versions. */
function distinct(files: LoadedFile[]): LoadedFile[] {
  const seen = new Set<string>();
  return files.filter((file) => {
    const digest = createHash('sha256').update(file.bytes).digest('hex');
    return !seen.has(digest) && seen.add(digest) !== undefined;
  });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-jpeg-validator-'));
  const isJpegName = (name: string): boolean => /\.(jpe?g)$/i.test(name);
  shipped = distinct(
    loadFiles(
      findMachineFiles({
        name: isJpegName,
        limit: 200,
        roots: [...MACHINE_ROOTS, '/root/.pyenv', '/root/.rustup'],
      }),
    ),
  );
  // Rendered document pages: baseline, progressive, optimized Huffman tables, several qualities.
  PDFS.forEach((pdf, n) => {
    shell(`pdftoppm -jpeg -r 40 -f 1 -l 4 ${pdf} page${n}-q75`);
    shell(`pdftoppm -jpeg -jpegopt quality=30,progressive=y -r 50 -f 2 -l 3 ${pdf} page${n}-prog`);
    shell(`pdftoppm -jpeg -jpegopt quality=95,optimize=y -r 60 -f 1 -l 1 ${pdf} page${n}-opt`);
  });
  // Real icons and a page through cjpeg's options: restart intervals, arithmetic coding, grey, sampling.
  const icons = findByExtension(['.png'], 400, { minSize: 4000 })
    .filter((_, index) => index % 60 === 0)
    .slice(0, 5);
  shell(`pdftoppm -r 30 -f 1 -l 1 -singlefile ${PDFS[0]} page`);
  const sources = [
    'page.ppm',
    ...icons.map((icon, n) => (shell(`pngtopnm ${icon.path} > icon${n}.ppm`), `icon${n}.ppm`)),
  ];
  const options: Record<string, string> = {
    baseline: '-quality 85',
    progressive: '-progressive',
    'restart-every-row': '-restart 1',
    'restart-every-2-blocks': '-restart 2B -optimize',
    'progressive-restart': '-progressive -restart 1',
    arithmetic: '-arithmetic',
    'arithmetic-progressive': '-arithmetic -progressive',
    grey: '-grayscale -quality 50',
    'no-subsampling': '-sample 1x1 -quality 95',
  };
  sources.forEach((source, n) => {
    for (const [name, flags] of Object.entries(options))
      shell(`cjpeg ${flags} ${source} > cjpeg${n}-${name}.jpg`);
  });
  // Lossless transforms of the shipped JPEGs.
  shipped.slice(0, 6).forEach((file, n) => {
    shell(`jpegtran -progressive -copy all ${file.path} > tran${n}-progressive.jpg`);
    shell(`jpegtran -rotate 90 -restart 3 ${file.path} > tran${n}-rotate-restart.jpg`);
  });
  made = readdirSync(dir)
    .filter((name) => name.endsWith('.jpg'))
    .sort()
    .map((name) => ({ path: path.join(dir, name), bytes: readFileSync(path.join(dir, name)) }));
  all = [...shipped, ...made];
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('jpeg validator on real files', () => {
  it('has at least 20 real JPEGs (shipped and made by real encoders)', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(8);
    expect(made.length).toBeGreaterThanOrEqual(60);
  });

  it('judges every intact JPEG valid, whole and in varied chunks', () => {
    expect(falsePositives(jpegValidator, all)).toEqual([]);
    expect(falsePositives(jpegValidator, all, 'varied')).toEqual([]);
  });

  it.each(DAMAGE_CASES)('judges JPEGs damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    const result = damageResults(jpegValidator, all, mode, keepHead);
    console.log(describeResult('jpeg', result), result.missed);
    // Sequential Huffman scans are decoded, so damage anywhere in them is found. Progressive,
    // arithmetic-coded and lossless scans are checked only where a 0xFF lands (one byte in 256
    // of ciphertext): 64-byte runs every 256 bytes that stay inside such a scan can pass (one
    // arithmetic-coded file here). Every other case reaches a marker segment or EOI.
    const floor = mode === 'intermittent-64-192' && keepHead > 0 ? 0.95 : 1;
    expect(result.invalid / result.files).toBeGreaterThanOrEqual(floor);
  });

  it('judges truncated JPEGs invalid', () => {
    expect(missedTruncations(jpegValidator, all)).toEqual([]);
  });

  it('gives the same verdict fed 1 byte at a time as in one chunk', () => {
    const files = all.filter((f) => f.bytes.length < 120 * 1024);
    expect(
      chunkingDisagreements(
        jpegValidator,
        files.flatMap((file) => [file, overwritten(file, 2, 0xff)]),
        [1],
      ),
    ).toEqual([]);
  });

  it('checks every image of a multi-image file and accepts other trailing data', () => {
    const [a, b] = made as [LoadedFile, LoadedFile];
    expect(validate(jpegValidator, Buffer.concat([a.bytes, b.bytes]), 'varied')).toMatchObject({
      status: 'valid',
    });
    const second = Buffer.from(b.bytes);
    second.fill(0x5a, 200, 260);
    expect(validate(jpegValidator, Buffer.concat([a.bytes, second])).status).toBe('invalid');
    // A motion-photo style trailer (here a gzip file) after EOI.
    const trailer = readFileSync(findByExtension(['.gz'], 1)[0]!.path);
    expect(validate(jpegValidator, Buffer.concat([a.bytes, trailer])).status).toBe('valid');
  });

  it('rejects trailing data that ends with EOI (the rest of an image after a forged EOI)', () => {
    // Arithmetic-coded scans are not entropy-decoded: the trailing-data rule is what catches this.
    const file = made.find((f) => f.path.endsWith('-arithmetic.jpg'))!.bytes;
    const forged = Buffer.from(file);
    const at = forged.length >> 1;
    forged[at] = 0xff;
    forged[at + 1] = 0xd9;
    expect(validate(jpegValidator, forged)).toMatchObject({
      status: 'invalid',
      offset: at + 2,
      detail: expect.stringContaining('ends with another EOI'),
    });
  });

  it('decodes sequential Huffman scans: a forged EOI leaves the scan short of MCUs', () => {
    const file = made.find((f) => f.path.endsWith('-baseline.jpg'))!.bytes;
    const forged = Buffer.from(file);
    const at = forged.length >> 1;
    forged[at] = 0xff;
    forged[at + 1] = 0xd9;
    expect(validate(jpegValidator, forged, 'varied')).toMatchObject({
      status: 'invalid',
      detail: expect.stringMatching(/MCUs|Huffman|coefficient|range|ends inside/),
    });
  });

  it('finds ciphertext in entropy-coded data even where no 0xFF lands in it', () => {
    const file = made.find((f) => f.path.endsWith('-baseline.jpg'))!.bytes;
    const damaged = Buffer.from(file);
    const at = damaged.length >> 1;
    for (let i = at; i < at + 16; i++) damaged[i] = (i * 37 + 11) & 0x7f; // no 0xFF byte
    expect(validate(jpegValidator, damaged).status).toBe('invalid');
  });

  it('stops decoding scans at the decode budget and keeps to the marker grammar after it', () => {
    const file = made
      .filter((f) => f.path.endsWith('-baseline.jpg'))
      .reduce((a, b) => (b.bytes.length > a.bytes.length ? b : a)).bytes;
    const limits = { maxDecodeBytes: 1024, maxOutputBytes: 2 ** 30 };
    const verdict = validate(jpegValidator, file, 'varied', limits);
    expect(verdict.status).toBe('valid');
    expect(verdict.checkedBytes).toBeLessThan(file.length);
    const damaged = Buffer.from(file);
    damaged.fill(0, damaged.length - 2); // EOI gone
    expect(validate(jpegValidator, damaged, 4096, limits).status).toBe('invalid');
  });

  it('rejects restart markers out of sequence', () => {
    const file = made.find((f) => f.path.endsWith('restart-every-row.jpg'))!.bytes;
    const first = file.indexOf(Buffer.from([0xff, 0xd0]));
    expect(first).toBeGreaterThan(0);
    const swapped = Buffer.from(file);
    swapped[first + 1] = 0xd1;
    expect(validate(jpegValidator, swapped)).toMatchObject({
      status: 'invalid',
      detail: expect.stringContaining('out of sequence'),
      offset: first,
    });
  });
});
