import { execFileSync } from 'node:child_process';
import { crc32, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { gzipValidator } from '../../../agent/detection/validators/gzip.js';
import { findByExtension } from '../../helpers/machine-files.js';
import {
  chunkingDisagreements,
  DAMAGE_CASES,
  damageResults,
  describeResult,
  falsePositives,
  loadFiles,
  missedTruncations,
  validate,
  type LoadedFile,
} from '../../helpers/validator-harness.js';

const isGzip = (head: Buffer): boolean => gzipValidator.matches(head);

/** Rewrites a real member's header with every optional field (FEXTRA, FNAME, FCOMMENT, FHCRC), as bgzip/pigz-style writers do. */
function withFullHeader(member: Buffer, corruptHcrc = false): Buffer {
  const extra = Buffer.from([0x42, 0x43, 2, 0, 0x34, 0x12]);
  const fixed = Buffer.from(member.subarray(0, 10));
  fixed[3] = 0x04 | 0x08 | 0x10 | 0x02;
  const header = Buffer.concat([
    fixed,
    Buffer.from([extra.length, 0]),
    extra,
    Buffer.from('name.txt\0'),
    Buffer.from('a comment\0'),
  ]);
  const hcrc = Buffer.alloc(2);
  hcrc.writeUInt16LE((crc32(header) & 0xffff) ^ (corruptHcrc ? 1 : 0));
  return Buffer.concat([header, hcrc, member.subarray(10)]);
}

describe('gzip validator on real files', () => {
  let intact: LoadedFile[] = [];
  let sample: LoadedFile[] = [];

  beforeAll(() => {
    // man pages, changelogs, dictionaries and package indexes: gzip as Debian writes it.
    intact = loadFiles(findByExtension(['.gz'], 2000, { head: isGzip, maxSize: 8 * 2 ** 20 }));
    sample = intact.filter((file, index) => index % 10 === 0 && file.bytes.length > 64);
  });

  it('finds enough real gzip files', () => {
    expect(intact.length).toBeGreaterThanOrEqual(1000);
    expect(sample.length).toBeGreaterThanOrEqual(100);
  });

  it('judges every intact gzip file valid', () => {
    expect(falsePositives(gzipValidator, intact)).toEqual([]);
  });

  it('judges every intact gzip file valid when fed in varied chunks', () => {
    expect(falsePositives(gzipValidator, sample, 'varied')).toEqual([]);
  });

  // Every damaged byte lands in a header, the deflate data or a trailer, and each is checked (CRC-32 covers the data).
  it.each(DAMAGE_CASES)('judges every file damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    const result = damageResults(gzipValidator, sample, mode, keepHead);
    console.log(describeResult('gzip', result));
    expect(result.missed).toEqual([]);
    expect(result.invalid).toBe(result.files);
  });

  it('judges truncated files invalid', () => {
    expect(missedTruncations(gzipValidator, sample.slice(0, 40))).toEqual([]);
  });

  it('gives the same verdict fed 1 byte at a time as in one chunk', () => {
    const small = sample.filter((file) => file.bytes.length < 48 * 1024).slice(0, 15);
    expect(small.length).toBeGreaterThan(5);
    const variants = small.flatMap((file) => [
      file,
      { path: `${file.path} without its last 3 bytes`, bytes: file.bytes.subarray(0, file.bytes.length - 3) },
      {
        path: `${file.path} with bytes 40-47 overwritten`,
        bytes: Buffer.concat([file.bytes.subarray(0, 40), Buffer.alloc(8, 0x55), file.bytes.subarray(48)]),
      },
    ]);
    expect(chunkingDisagreements(gzipValidator, variants, [1])).toEqual([]);
  });

  it('accepts concatenated members and checks each one', () => {
    const [a, b, c] = sample as [LoadedFile, LoadedFile, LoadedFile];
    const joined = Buffer.concat([a.bytes, b.bytes, c.bytes]);
    expect(validate(gzipValidator, joined, 'varied')).toMatchObject({
      status: 'valid',
      parts: 3,
      checkedBytes: joined.length,
    });
    const damaged = Buffer.from(joined);
    damaged[a.bytes.length + b.bytes.length - 5]! ^= 0xff; // inside member 2's trailer CRC/ISIZE
    expect(validate(gzipValidator, damaged)).toMatchObject({
      status: 'invalid',
      detail: expect.stringContaining('member 2'),
    });
  });

  it('walks small concatenated members fed 1 byte at a time (all staged until the end)', () => {
    const tiny = sample.filter((file) => file.bytes.length < 2048).slice(0, 3);
    const joined = Buffer.concat(tiny.map((file) => file.bytes));
    expect(validate(gzipValidator, joined, 1)).toMatchObject({
      status: 'valid',
      parts: 3,
      checkedBytes: joined.length,
    });
  });

  it('checks every optional header field, including the header CRC', () => {
    const member = sample[0]!.bytes;
    expect(validate(gzipValidator, withFullHeader(member), 1)).toMatchObject({ status: 'valid', parts: 1 });
    expect(validate(gzipValidator, withFullHeader(member, true))).toMatchObject({
      status: 'invalid',
      detail: 'gzip header CRC-16 mismatch',
    });
  });

  it('accepts zero padding after the last member and rejects anything else', () => {
    const file = sample[1]!.bytes;
    expect(validate(gzipValidator, Buffer.concat([file, Buffer.alloc(512)])).status).toBe('valid');
    expect(
      validate(gzipValidator, Buffer.concat([file, Buffer.from('appended ransom key blob')])),
    ).toMatchObject({ status: 'invalid', offset: file.length });
  });

  it('reads gzip files written by the gzip tool with a stored name', () => {
    const written = execFileSync('gzip', ['-c', '-N', '--best', sample[2]!.path]);
    expect(written[3]! & 0x08).toBe(0x08);
    expect(validate(gzipValidator, written, 'varied').status).toBe('valid');
  });

  it('stops decoding at the decode cap and still judges the walked part valid', () => {
    const large = [...intact].sort((x, y) => y.bytes.length - x.bytes.length)[0]!;
    expect(large.bytes.length).toBeGreaterThan(512 * 1024);
    const verdict = validate(gzipValidator, large.bytes, 64 * 1024, {
      maxDecodeBytes: 128 * 1024,
      maxOutputBytes: 2 ** 30,
    });
    expect(verdict.status).toBe('valid');
    expect(verdict.checkedBytes).toBeGreaterThan(100 * 1024);
    expect(verdict.checkedBytes).toBeLessThanOrEqual(128 * 1024 + 64);
  });

  it('stops decoding a bomb at the output cap', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 2 ** 20), { level: 9 });
    const verdict = validate(gzipValidator, bomb, 64 * 1024, {
      maxDecodeBytes: 2 ** 30,
      maxOutputBytes: 4 * 2 ** 20,
    });
    expect(verdict.status).toBe('valid');
    expect(verdict.checkedBytes).toBeLessThan(bomb.length);
  });
});
