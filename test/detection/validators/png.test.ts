import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngValidator } from '../../../agent/detection/validators/png.js';
import { findByExtension } from '../../helpers/machine-files.js';
import {
  chunkingDisagreements,
  DAMAGE_CASES,
  damageResults,
  describeResult,
  falsePositives,
  fullyValid,
  loadFiles,
  missedTruncations,
  overwritten,
  validate,
  verdictsOf,
  type LoadedFile,
} from '../../helpers/validator-harness.js';

const PDF = '/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf';

let dir: string;
/** PNGs written here by real tools (poppler, netpbm) from real documents and icons. */
let made: LoadedFile[] = [];
let intact: LoadedFile[] = [];
let sample: LoadedFile[] = [];

function shell(script: string): void {
  execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'pipe' });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-png-validator-'));
  // Icons, screenshots and documentation images as their packages ship them.
  intact = loadFiles(findByExtension(['.png'], 2000, { head: (head) => pngValidator.matches(head) }));
  sample = intact.filter((_, index) => index % 10 === 0);
  // Rendered pages (RGB, grey, 1-bit) and netpbm re-encodings: interlaced, uncompressed, 16-bit.
  for (const page of [1, 2, 3])
    shell(`pdftoppm -png -singlefile -r 60 -f ${page} -l ${page} ${PDF} rgb-${page}`);
  shell(
    `pdftoppm -png -singlefile -gray -r 50 -f 2 -l 2 ${PDF} gray-2 && pdftoppm -png -singlefile -mono -r 80 -f 1 -l 1 ${PDF} mono-1`,
  );
  shell(
    `pngtopnm ${sample[3]!.path} > icon.pnm && pnmtopng -interlace icon.pnm > interlaced.png && pnmtopng -compression 0 icon.pnm > stored.png && pnmdepth 65535 icon.pnm | pnmtopng > deep.png`,
  );
  shell('pngtopnm rgb-1.png | pnmtopng -interlace > page-interlaced.png');
  made = readdirSync(dir)
    .filter((name) => name.endsWith('.png'))
    .sort()
    .map((name) => ({ path: path.join(dir, name), bytes: readFileSync(path.join(dir, name)) }));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('png validator on real files', () => {
  it('finds enough real PNGs and makes the variants', () => {
    expect(intact.length).toBeGreaterThanOrEqual(1000);
    expect(made.map((file) => path.basename(file.path))).toEqual(
      expect.arrayContaining([
        'interlaced.png',
        'stored.png',
        'deep.png',
        'page-interlaced.png',
        'rgb-1.png',
        'gray-2.png',
        'mono-1.png',
      ]),
    );
  });

  it('judges every intact PNG valid', () => {
    expect(falsePositives(pngValidator, intact)).toEqual([]);
  });

  it('judges every PNG written by poppler and netpbm valid, in any chunking', () => {
    expect(verdictsOf(pngValidator, made).filter((result) => !fullyValid(result))).toEqual([]);
    expect(chunkingDisagreements(pngValidator, made, ['varied'])).toEqual([]);
  });

  it('judges every intact PNG valid when fed in varied chunks', () => {
    expect(falsePositives(pngValidator, sample, 'varied')).toEqual([]);
  });

  it.each(DAMAGE_CASES)('judges every PNG damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    const result = damageResults(pngValidator, [...sample, ...made], mode, keepHead);
    console.log(describeResult('png', result));
    // Every byte after the signature is under a chunk CRC-32.
    expect(result.missed).toEqual([]);
    expect(result.invalid).toBe(result.files);
  });

  it('judges truncated PNGs invalid', () => {
    expect(missedTruncations(pngValidator, [...sample.slice(0, 40), ...made])).toEqual([]);
  });

  it('gives the same verdict fed 1 byte at a time as in one chunk', () => {
    const small = [
      ...sample.filter((file) => file.bytes.length < 32 * 1024).slice(0, 12),
      ...made.filter((file) => file.bytes.length < 200 * 1024),
    ];
    expect(
      chunkingDisagreements(
        pngValidator,
        small.flatMap((file) => [file, overwritten(file, 8, 0x44)]),
        [1],
      ),
    ).toEqual([]);
  });

  it('checks that the image data inflates to the size IHDR implies', () => {
    // An intact chunk walk whose IDAT holds a complete zlib stream of too few bytes (CRCs recomputed).
    const file = made.find((f) => f.path.endsWith('stored.png'))!.bytes;
    const at = file.indexOf('IHDR') - 4;
    const forged = Buffer.from(file);
    forged.writeUInt32BE(forged.readUInt32BE(at + 12) + 1, at + 12); // one more row
    forged.writeUInt32BE(crc32(forged.subarray(at + 4, at + 8 + 13)), at + 8 + 13);
    expect(validate(pngValidator, forged)).toMatchObject({
      status: 'invalid',
      detail: expect.stringContaining('IHDR needs'),
    });
  });

  it('accepts bytes after IEND, as decoders do', () => {
    const file = sample[0]!.bytes;
    expect(validate(pngValidator, Buffer.concat([file, Buffer.from('\n')])).status).toBe('valid');
  });

  it('calls an Apple CgBI PNG unsupported', () => {
    const file = sample[0]!.bytes;
    const cgbi = Buffer.from([0, 0, 0, 4, 0x43, 0x67, 0x42, 0x49, 0x50, 0, 0x20, 0x06, 0, 0, 0, 0]);
    cgbi.writeUInt32BE(crc32(cgbi.subarray(4, 12)), 12);
    expect(validate(pngValidator, Buffer.concat([file.subarray(0, 8), cgbi, file.subarray(8)])).status).toBe(
      'unsupported',
    );
  });

  it('walks chunks and checks CRCs past the decode cap', () => {
    shell(`pdftoppm -png -singlefile -r 300 -f 1 -l 1 ${PDF} large`);
    const large = readFileSync(path.join(dir, 'large.png'));
    expect(large.length).toBeGreaterThan(200 * 1024);
    const limits = { maxDecodeBytes: 64 * 1024, maxOutputBytes: 2 ** 30 };
    const verdict = validate(pngValidator, large, 64 * 1024, limits);
    expect(verdict.status).toBe('valid');
    expect(verdict.checkedBytes).toBeLessThan(100 * 1024);
    const damaged = Buffer.from(large);
    damaged[large.length - 1000]! ^= 0x01;
    expect(validate(pngValidator, damaged, 64 * 1024, limits)).toMatchObject({
      status: 'invalid',
      detail: expect.stringMatching(/^CRC-32 mismatch in chunk IDAT/),
      localized: {},
    });
    // The output cap stops inflating too.
    expect(
      validate(pngValidator, large, 64 * 1024, { maxDecodeBytes: 2 ** 30, maxOutputBytes: 1024 * 1024 }),
    ).toMatchObject({ status: 'valid' });
  });
});
