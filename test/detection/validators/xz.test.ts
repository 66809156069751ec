import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { xzValidator } from '../../../agent/detection/validators/xz.js';
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

type Fixture = LoadedFile;

const fixtures: Fixture[] = [];

/** Members of a Debian package, which is an `ar` archive (read here: binutils' `ar` is not a test dependency). */
function arMembers(archive: Buffer): { name: string; bytes: Buffer }[] {
  const members: { name: string; bytes: Buffer }[] = [];
  if (archive.toString('latin1', 0, 8) !== '!<arch>\n') return members;
  for (let at = 8; at + 60 <= archive.length;) {
    const name = archive
      .toString('latin1', at, at + 16)
      .trim()
      .replace(/\/$/, '');
    const size = Number(archive.toString('latin1', at + 48, at + 58).trim());
    members.push({ name, bytes: archive.subarray(at + 60, at + 60 + size) });
    at += 60 + size + (size % 2);
  }
  return members;
}

function xz(input: Buffer, args: string[]): Buffer {
  return execFileSync('xz', ['-q', '-c', ...args], { input, maxBuffer: 1 << 30 });
}

beforeAll(() => {
  // Real xz files: the machine's own, and the control and data members of cached Debian packages (written by dpkg-deb).
  for (const file of findMachineFiles({
    name: (name) => name.endsWith('.xz'),
    roots: ['/var/log', '/root/.pyenv/versions/3.12.1'],
    limit: 2,
  })) {
    fixtures.push({ path: file.path, bytes: readFileSync(file.path) });
  }
  for (const deb of findMachineFiles({
    name: (name) => name.endsWith('.deb'),
    roots: ['/var/cache/apt/archives'],
    maxSize: 3_000_000,
    limit: 6,
  })) {
    for (const member of arMembers(readFileSync(deb.path))) {
      if (member.name.endsWith('.xz'))
        fixtures.push({ path: `${deb.path}:${member.name}`, bytes: Buffer.from(member.bytes) });
    }
  }
  // The xz tool on real files, across presets, checks, filters, block sizes and streams.
  const text = readFileSync('/usr/share/common-licenses/GPL-3');
  const program = readFileSync(
    findMachineFiles({
      name: () => true,
      roots: ['/usr/bin'],
      minSize: 200_000,
      maxSize: 2_000_000,
      limit: 1,
    })[0]!.path,
  );
  const settings: [string, Buffer, string[]][] = [
    ['text -0 crc32', text, ['-0', '--check=crc32']],
    ['text -6 sha256', text, ['-6', '--check=sha256']],
    ['text -9e no check', text, ['-9e', '--check=none']],
    ['program x86+lzma2', program, ['--x86', '--lzma2=preset=6']],
    ['program delta+lzma2', program, ['--delta=dist=4', '--lzma2=preset=1']],
    ['program 64 KiB blocks', program, ['-T2', '--block-size=65536']],
    ['program uncompressible', xz(program, ['-6']), ['-1']],
    ['empty', Buffer.alloc(0), []],
  ];
  for (const [name, input, args] of settings) fixtures.push({ path: name, bytes: xz(input, args) });
  // Every preset on the machine's licences, so there are enough files even where no package cache exists.
  findMachineFiles({ name: () => true, roots: ['/usr/share/common-licenses'], limit: 10 }).forEach(
    (file, i) => {
      fixtures.push({ path: `${file.path} -${i % 10}`, bytes: xz(readFileSync(file.path), [`-${i % 10}`]) });
    },
  );
  const streams = Buffer.concat([xz(text, ['-3']), Buffer.alloc(8), xz(program, ['-1', '--check=crc32'])]);
  fixtures.push({ path: 'two streams with padding', bytes: streams });
});

describe('xz validator', () => {
  it('has at least 20 real xz files to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it('judges every intact file valid and walks all of it', () => {
    expect(intactProblems(xzValidator, fixtures)).toEqual([]);
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    const files = fixtures.filter((f) => f.bytes.length < 3_000_000).slice(0, 8);
    expect(chunkingDisagreements(xzValidator, files)).toEqual([]);
    expect(
      chunkingDisagreements(
        xzValidator,
        files.map((file) => damagedCopy(file, 'intermittent-16-16', 64)),
        [1],
      ),
    ).toEqual([]);
  });

  it.each(DAMAGE_CASES)('judges files damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    // The walk sees chunk headers, block tails, the index and the footer, not compressed data
    // (no block check without a decoder): with the stream header kept, a small single-chunk file
    // hit by 64 on / 192 off can leave all of those alone. Files with many chunks (over 200 KB)
    // must always be caught, and so must every file whose header the mode reaches.
    const result = damageResults(xzValidator, fixtures, mode, keepHead);
    console.info(describeResult('xz', result));
    const sizes = new Map(fixtures.map((f) => [f.path, f.bytes.length]));
    expect(result.missed.filter((path) => sizes.get(path)! > 200_000)).toEqual([]);
    if (keepHead === 0 || mode === 'intermittent-16-16') expect(result.missed).toEqual([]);
  });

  it('judges truncated files invalid', () => {
    expect(
      missedTruncations(xzValidator, fixtures, (bytes) => [
        ...truncationPoints(bytes.length),
        bytes.length - 1,
        bytes.length - 4,
        Math.floor(bytes.length / 2),
        11,
      ]),
    ).toEqual([]);
  });

  it('finds an index record that disagrees with the block walked, even under a correct index CRC', () => {
    const { bytes } = fixtures.find((f) => f.path === 'program 64 KiB blocks')!;
    expect(validate(xzValidator, bytes).parts).toBeGreaterThan(2);
    const damaged = Buffer.from(bytes);
    const indexSize = (damaged.readUInt32LE(damaged.length - 8) + 1) * 4;
    const index = damaged.subarray(damaged.length - 12 - indexSize, damaged.length - 12);
    let at = 1;
    while (index[at]! & 0x80) at++; // number of records
    at++;
    while (index[at]! & 0x80) at++; // first record's unpadded size
    at++;
    index[at] = index[at]! ^ 1; // first record's uncompressed size, one off
    index.writeUInt32LE(crc32(index.subarray(0, indexSize - 4)), indexSize - 4);
    expect(validate(xzValidator, damaged)).toMatchObject({
      status: 'invalid',
      detail: 'index records do not match the blocks',
    });
  });

  it('rejects bytes after the last stream that are not stream padding', () => {
    const { bytes } = fixtures.find((f) => f.path === 'text -0 crc32')!;
    expect(validate(xzValidator, Buffer.concat([bytes, Buffer.alloc(4)])).status).toBe('valid');
    expect(validate(xzValidator, Buffer.concat([bytes, Buffer.alloc(3)])).status).toBe('invalid');
    expect(validate(xzValidator, Buffer.concat([bytes, Buffer.from('ransom footer!!!')])).status).toBe(
      'invalid',
    );
  });

  it('does not claim other formats', () => {
    expect(xzValidator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(xzValidator.matches(xz(Buffer.from('legacy'), ['--format=lzma']))).toBe(false);
    expect(xzValidator.matches(applyRansomware(fixtures[0]!.bytes, 'first-4k', 'x'))).toBe(false);
  });
});
