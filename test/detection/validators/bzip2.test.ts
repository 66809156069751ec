import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bzip2Validator } from '../../../agent/detection/validators/bzip2.js';
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

function bzip2(input: Buffer, level: number): Buffer {
  return execFileSync('bzip2', ['-c', `-${level}`], { input, maxBuffer: 1 << 30 });
}

beforeAll(() => {
  // Real .bz2 files shipped on the machine, then the bzip2 tool on real files at every level.
  for (const file of findMachineFiles({
    name: (name) => name.endsWith('.bz2'),
    roots: ['/root/.pyenv/versions/3.11.7', '/usr/share', '/usr/lib'],
    limit: 6,
  })) {
    fixtures.push({ path: file.path, bytes: readFileSync(file.path) });
  }
  const inputs = [
    ...findMachineFiles({ name: () => true, roots: ['/usr/share/common-licenses'], limit: 8 }),
    ...findMachineFiles({
      name: () => true,
      roots: ['/usr/bin'],
      minSize: 100_000,
      maxSize: 1_500_000,
      limit: 5,
    }),
    ...findMachineFiles({
      name: (name) => name.endsWith('.gz'),
      roots: ['/usr/share/doc'],
      minSize: 100_000,
      maxSize: 400_000,
      limit: 3,
    }),
    ...findMachineFiles({
      name: (name) => name.endsWith('.png'),
      roots: ['/usr/share'],
      minSize: 20_000,
      limit: 2,
    }),
  ];
  inputs.forEach((input, i) =>
    fixtures.push({
      path: `${input.path} -${(i % 9) + 1}`,
      bytes: bzip2(readFileSync(input.path), (i % 9) + 1),
    }),
  );
  // A run-heavy input (long RLE1 runs), an empty stream, and two streams in one file as pbzip2 writes them.
  fixtures.push({
    path: 'runs',
    bytes: bzip2(
      Buffer.concat([
        Buffer.alloc(300_000, 0x41),
        readFileSync('/usr/share/common-licenses/GPL-2'),
        Buffer.alloc(1000, 0),
      ]),
      2,
    ),
  });
  fixtures.push({ path: 'empty', bytes: bzip2(Buffer.alloc(0), 9) });
  fixtures.push({
    path: 'two streams',
    bytes: Buffer.concat([
      bzip2(readFileSync('/usr/share/common-licenses/GPL-3'), 9),
      bzip2(readFileSync(inputs[6]!.path), 1),
    ]),
  });
});

describe('bzip2 validator', () => {
  it('has at least 20 real bzip2 files to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it('decodes every intact file to the end with all block and stream CRCs matching', () => {
    expect(intactProblems(bzip2Validator, fixtures)).toEqual([]);
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    const files = [fixtures[0]!, fixtures[8]!, fixtures.find((f) => f.path === 'two streams')!];
    expect(chunkingDisagreements(bzip2Validator, files)).toEqual([]);
    expect(
      chunkingDisagreements(
        bzip2Validator,
        files.map((file) => damagedCopy(file, 'intermittent-64-192', 64)),
        [1],
      ),
    ).toEqual([]);
  });

  it.each(DAMAGE_CASES)('judges every file damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    // Everything is decoded and CRC-checked within the caps: any changed byte is found.
    const result = damageResults(bzip2Validator, fixtures, mode, keepHead);
    console.info(describeResult('bzip2', result));
    expect(result.missed).toEqual([]);
    expect(result.invalid).toBe(result.files);
  });

  it('judges truncated files invalid', () => {
    expect(
      missedTruncations(bzip2Validator, fixtures, (bytes) => [
        ...truncationPoints(bytes.length),
        bytes.length - 1,
        Math.floor(bytes.length / 2),
        12,
      ]),
    ).toEqual([]);
  });

  it('finds a single flipped bit through the block CRC', () => {
    const { bytes } = fixtures.find((f) => f.path.startsWith('/usr/share/common-licenses/'))!;
    const damaged = Buffer.from(bytes);
    const at = Math.floor(bytes.length * 0.7);
    damaged[at] = damaged[at]! ^ 0x10;
    expect(validate(bzip2Validator, damaged).status).toBe('invalid');
  });

  it('stops decoding at the caps, then still walks blocks and the combined CRC to the end', () => {
    const input = Buffer.concat(
      findMachineFiles({
        name: () => true,
        roots: ['/usr/lib/x86_64-linux-gnu'],
        minSize: 1_000_000,
        maxSize: 4_000_000,
        limit: 3,
      }).map((f) => readFileSync(f.path)),
    );
    const compressed = bzip2(input, 1);
    const limits = { maxDecodeBytes: 300_000, maxOutputBytes: 256 * 2 ** 20 };
    const capped = validate(bzip2Validator, compressed, 64 * 1024, limits);
    expect(capped.status).toBe('valid');
    expect(capped.checkedBytes).toBeGreaterThan(0);
    expect(capped.checkedBytes).toBeLessThanOrEqual(300_000);
    expect(capped.parts).toBeGreaterThan(20);
    expect(validate(bzip2Validator, compressed, 1000, limits)).toEqual(capped);
    const outputCapped = validate(bzip2Validator, compressed, 64 * 1024, {
      maxDecodeBytes: 2 ** 30,
      maxOutputBytes: 1_000_000,
    });
    expect(outputCapped.status).toBe('valid');
    expect(outputCapped.checkedBytes).toBeLessThan(compressed.length);
    // Past the cap: a broken end, trailing bytes and encrypted stretches that cover magics or stored CRCs still show.
    expect(
      validate(bzip2Validator, compressed.subarray(0, compressed.length - 3), 64 * 1024, limits).status,
    ).toBe('invalid');
    expect(
      validate(bzip2Validator, Buffer.concat([compressed, Buffer.from('footer')]), 64 * 1024, limits).status,
    ).toBe('invalid');
    const damaged = applyRansomware(compressed, 'intermittent-16-16', 'big');
    compressed.copy(damaged, 0, 0, 400_000);
    expect(validate(bzip2Validator, damaged, 64 * 1024, limits).status).toBe('invalid');
  });

  it('does not claim other formats', () => {
    expect(bzip2Validator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(bzip2Validator.matches(Buffer.from('BZh9 is how a bzip2 file starts'))).toBe(false);
  });
});
