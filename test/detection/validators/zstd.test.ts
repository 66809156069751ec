import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { zstdValidator } from '../../../agent/detection/validators/zstd.js';
import { DEFAULT_VALIDATOR_LIMITS } from '../../../agent/detection/validator.js';
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

function zstd(input: Buffer, args: string[]): Buffer {
  return execFileSync('zstd', ['-q', '-c', ...args], { input, maxBuffer: 1 << 30 });
}

/** Real inputs: licences (text), programs (ELF), and gzipped docs (already compressed, so raw blocks). */
function realInputs(): { name: string; bytes: Buffer }[] {
  const text = findMachineFiles({ name: () => true, roots: ['/usr/share/common-licenses'], limit: 10 });
  const programs = findMachineFiles({
    name: () => true,
    roots: ['/usr/bin'],
    minSize: 50_000,
    maxSize: 3_000_000,
    limit: 8,
  });
  const packages = findMachineFiles({
    name: (name) => name.endsWith('.gz'),
    roots: ['/usr/share/doc'],
    minSize: 100_000,
    maxSize: 1_500_000,
    limit: 4,
  });
  return [...text, ...programs, ...packages].map((file) => ({
    name: file.path,
    bytes: readFileSync(file.path),
  }));
}

beforeAll(async () => {
  await zstdValidator.prepare!();
  const inputs = realInputs();
  const settings = [
    ['-3'],
    ['-1', '--no-check'],
    ['-19'],
    ['--ultra', '-22', '--no-content-size'],
    ['-5', '--long=24'],
  ];
  inputs.forEach((input, i) =>
    fixtures.push({
      path: `${input.name} ${settings[i % settings.length]!.join(' ')}`,
      bytes: zstd(input.bytes, settings[i % settings.length]!),
    }),
  );
  // Several frames in one file (concatenated outputs), pzstd's skippable-frame framing, and an empty frame.
  fixtures.push({
    path: 'two frames',
    bytes: Buffer.concat([zstd(inputs[0]!.bytes, ['-3']), zstd(inputs[5]!.bytes, ['-9', '--no-check'])]),
  });
  fixtures.push({
    path: 'pzstd',
    bytes: execFileSync('pzstd', ['-q', '-c', '-p', '2', '-3'], {
      input: Buffer.concat([inputs[6]!.bytes, inputs[7]!.bytes]),
      maxBuffer: 1 << 30,
    }),
  });
  fixtures.push({ path: 'empty content', bytes: zstd(Buffer.alloc(0), ['-3']) });
});

describe('zstd validator', () => {
  it('has at least 20 real compressed files to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it('judges every intact file valid, decoded and checksummed to the end', () => {
    expect(intactProblems(zstdValidator, fixtures)).toEqual([]);
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    const files = [...fixtures.slice(0, 3), fixtures.find((f) => f.path === 'pzstd')!];
    expect(chunkingDisagreements(zstdValidator, files)).toEqual([]);
    expect(
      chunkingDisagreements(
        zstdValidator,
        files.map((file) => damagedCopy(file, 'intermittent-64-192', 64)),
        [1],
      ),
    ).toEqual([]);
  });

  it.each(DAMAGE_CASES)(
    'judges every file damaged by %s (first %i bytes kept) invalid, whenever the frame has a checksum',
    (mode, keepHead) => {
      // Without a content checksum, bytes changed inside raw blocks (incompressible input) cannot be
      // seen by structure: only block headers and declared sizes are left to break. Such misses are
      // printed; every checksummed file must be caught.
      const result = damageResults(zstdValidator, fixtures, mode, keepHead);
      console.info(describeResult('zstd', result));
      expect(result.missed.filter((path) => !path.includes('--no-check'))).toEqual([]);
      expect(result.unsupported).toEqual([]);
    },
  );

  it('judges truncated files invalid', () => {
    expect(
      missedTruncations(zstdValidator, fixtures, (bytes) => [
        ...truncationPoints(bytes.length),
        bytes.length - 1,
        Math.floor(bytes.length / 2),
        7,
      ]),
    ).toEqual([]);
  });

  it('finds a changed byte in a raw block through the content checksum', () => {
    const { bytes } = fixtures.find((f) => f.path.includes('.gz ') && !f.path.includes('--no-check'))!;
    const damaged = Buffer.from(bytes);
    const at = Math.floor(bytes.length / 2);
    damaged[at] = damaged[at]! ^ 1;
    expect(validate(zstdValidator, damaged)).toMatchObject({
      status: 'invalid',
      detail: 'content checksum mismatch in frame 1',
    });
  });

  it('keeps separate checksum state for validators fed in turn', () => {
    const [a, b] = [fixtures[0]!.bytes, fixtures[2]!.bytes];
    const [va, vb] = [
      zstdValidator.create(a.length, DEFAULT_VALIDATOR_LIMITS),
      zstdValidator.create(b.length, DEFAULT_VALIDATOR_LIMITS),
    ];
    for (let at = 0; at < Math.max(a.length, b.length); at += 1000) {
      va.update(a.subarray(at, at + 1000));
      vb.update(b.subarray(at, at + 1000));
    }
    expect([va.finish().status, vb.finish().status]).toEqual(['valid', 'valid']);
  });

  it('stops decoding at the caps and walks block headers to the end', () => {
    const big = Buffer.concat(
      findMachineFiles({
        name: () => true,
        roots: ['/usr/lib/x86_64-linux-gnu'],
        minSize: 1_000_000,
        maxSize: 8_000_000,
        limit: 6,
      }).map((f) => readFileSync(f.path)),
    );
    const compressed = zstd(big, ['-3']);
    const limits = { maxDecodeBytes: 1 << 20, maxOutputBytes: 256 * 2 ** 20 };
    const capped = validate(zstdValidator, compressed, 64 * 1024, limits);
    expect(capped.status).toBe('valid');
    expect(capped.checkedBytes).toBeGreaterThan(0);
    expect(capped.checkedBytes).toBeLessThanOrEqual(1 << 20);
    const outputCapped = validate(zstdValidator, compressed, 64 * 1024, {
      maxDecodeBytes: 2 ** 30,
      maxOutputBytes: 2 << 20,
    });
    expect(outputCapped.status).toBe('valid');
    expect(outputCapped.checkedBytes).toBeLessThan(compressed.length);
    // Past the cap, the walk still finds damage that breaks the block chain, and a cut end.
    const damaged = applyRansomware(compressed, 'intermittent-16-16', 'big');
    compressed.copy(damaged, 0, 0, 2 << 20);
    expect(validate(zstdValidator, damaged, 64 * 1024, limits).status).toBe('invalid');
    expect(
      validate(zstdValidator, compressed.subarray(0, compressed.length - 100), 64 * 1024, limits).status,
    ).toBe('invalid');
  });

  it('checks to the end a frame whose declared window dwarfs its content (--ultra -22, no content size), for every real input', () => {
    // zstd 1.5's block splitter cuts such frames into many small blocks; decoding each against a
    // 128 MiB window buffer would cost gigabytes of copying and stop at the work cap.
    const programs = findMachineFiles({
      name: () => true,
      roots: ['/usr/bin'],
      minSize: 300_000,
      maxSize: 2_000_000,
      limit: 4,
    });
    const frames = programs.map((file) => ({
      path: `${file.path} --ultra -22 --no-content-size`,
      bytes: zstd(readFileSync(file.path), ['--ultra', '-22', '--no-content-size']),
    }));
    expect(intactProblems(zstdValidator, frames)).toEqual([]);
  }, 180_000);

  it('widens the decode window as a frame without a content size outgrows it, and still finds a changed byte near its end', () => {
    // ~20 MB of real programs and libraries, streamed (no content size) with a 128 MiB window: the
    // decoder starts at 8 MiB and decodes the frame again at 32 MiB once the output nears 8 MiB.
    const big = Buffer.concat(
      findMachineFiles({
        name: () => true,
        roots: ['/usr/lib/x86_64-linux-gnu', '/usr/bin'],
        minSize: 500_000,
        maxSize: 6_000_000,
        limit: 40,
      }).map((f) => readFileSync(f.path)),
    ).subarray(0, 20_000_000);
    expect(big.length).toBeGreaterThan(10_000_000);
    const compressed = zstd(big, ['-3', '--long=27', '--no-content-size']);
    expect(validate(zstdValidator, compressed)).toMatchObject({
      status: 'valid',
      checkedBytes: compressed.length,
      parts: 1,
    });
    const damaged = Buffer.from(compressed);
    damaged[compressed.length - 2000] = damaged[compressed.length - 2000]! ^ 0x10;
    expect(validate(zstdValidator, damaged).status).toBe('invalid');
  });

  it('rejects bytes after the last frame and does not claim other formats', () => {
    const { bytes } = fixtures[0]!;
    expect(validate(zstdValidator, Buffer.concat([bytes, Buffer.from('ransom footer')])).status).toBe(
      'invalid',
    );
    expect(zstdValidator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(zstdValidator.matches(execFileSync('xz', ['-c'], { input: bytes }))).toBe(false);
  });
});
