import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bzip2Validator } from '../../../agent/detection/validators/bzip2.js';
import { DEFAULT_VALIDATOR_LIMITS, type StructureVerdict, type ValidatorDefinition, type ValidatorLimits } from '../../../agent/detection/validator.js';
import { findMachineFiles } from '../../helpers/machine-files.js';
import { applyRansomware, type RansomwareMode } from '../../helpers/ransomware-modes.js';

/** Feeds `bytes` in pieces of `chunk` bytes (or of seeded random sizes when `chunk` is 'random'). */
function validate(definition: ValidatorDefinition, bytes: Uint8Array, chunk: number | 'random' = 64 * 1024, limits: ValidatorLimits = DEFAULT_VALIDATOR_LIMITS): StructureVerdict {
  const validator = definition.create(bytes.length, limits);
  let seed = 7;
  for (let at = 0; at < bytes.length; ) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const size = chunk === 'random' ? 1 + (seed % 3000) : chunk;
    validator.update(bytes.subarray(at, at + size));
    at += size;
  }
  return validator.finish();
}

const MODES: RansomwareMode[] = ['header-kept', 'intermittent-16-16', 'intermittent-64-192', 'chunks-3x10'];

interface Fixture {
  name: string;
  bytes: Buffer;
}

const fixtures: Fixture[] = [];

function bzip2(input: Buffer, level: number): Buffer {
  return execFileSync('bzip2', ['-c', `-${level}`], { input, maxBuffer: 1 << 30 });
}

beforeAll(() => {
  // Real .bz2 files shipped on the machine, then the bzip2 tool on real files at every level.
  for (const file of findMachineFiles({ name: (name) => name.endsWith('.bz2'), roots: ['/root/.pyenv/versions/3.11.7', '/usr/share', '/usr/lib'], limit: 6 })) {
    fixtures.push({ name: file.path, bytes: readFileSync(file.path) });
  }
  const inputs = [
    ...findMachineFiles({ name: () => true, roots: ['/usr/share/common-licenses'], limit: 5 }),
    ...findMachineFiles({ name: () => true, roots: ['/usr/bin'], minSize: 100_000, maxSize: 1_500_000, limit: 5 }),
    ...findMachineFiles({ name: (name) => name.endsWith('.deb'), roots: ['/var/cache/apt/archives'], minSize: 100_000, maxSize: 400_000, limit: 3 }),
    ...findMachineFiles({ name: (name) => name.endsWith('.png'), roots: ['/usr/share'], minSize: 20_000, limit: 2 }),
  ];
  inputs.forEach((input, i) => fixtures.push({ name: `${input.path} -${(i % 9) + 1}`, bytes: bzip2(readFileSync(input.path), (i % 9) + 1) }));
  // A run-heavy input (long RLE1 runs), an empty stream, and two streams in one file as pbzip2 writes them.
  fixtures.push({ name: 'runs', bytes: bzip2(Buffer.concat([Buffer.alloc(300_000, 0x41), readFileSync('/usr/share/common-licenses/GPL-2'), Buffer.alloc(1000, 0)]), 2) });
  fixtures.push({ name: 'empty', bytes: bzip2(Buffer.alloc(0), 9) });
  fixtures.push({ name: 'two streams', bytes: Buffer.concat([bzip2(readFileSync('/usr/share/common-licenses/GPL-3'), 9), bzip2(readFileSync(inputs[6]!.path), 1)]) });
}, 120_000);

describe('bzip2 validator', () => {
  it('has at least 20 real bzip2 files to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it('decodes every intact file to the end with all block and stream CRCs matching', () => {
    for (const { name, bytes } of fixtures) {
      expect(validate(bzip2Validator, bytes), name).toMatchObject({ status: 'valid', checkedBytes: bytes.length });
      expect(bzip2Validator.matches(bytes.subarray(0, 64 * 1024)), name).toBe(true);
    }
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    for (const { name, bytes } of [fixtures[0]!, fixtures[8]!, fixtures.find((f) => f.name === 'two streams')!]) {
      const whole = validate(bzip2Validator, bytes, bytes.length);
      expect(validate(bzip2Validator, bytes, 1), name).toEqual(whole);
      expect(validate(bzip2Validator, bytes, 'random'), name).toEqual(whole);
      const damaged = applyRansomware(bytes, 'intermittent-64-192', name);
      bytes.copy(damaged, 0, 0, 64);
      expect(validate(bzip2Validator, damaged, 1), name).toEqual(validate(bzip2Validator, damaged, damaged.length));
    }
  });

  it.each(MODES)('judges every file damaged by %s invalid', (mode) => {
    for (const { name, bytes } of fixtures) {
      const damaged = applyRansomware(bytes, mode, name);
      if (damaged.equals(bytes)) continue; // header-kept leaves a file of 64 bytes or less alone
      expect(validate(bzip2Validator, damaged).status, `${mode} ${name}`).toBe('invalid');
    }
  });

  it.each(MODES)('judges %s invalid when the stream header and first block header survive', (mode) => {
    for (const { name, bytes } of fixtures) {
      if (bytes.length <= 64) continue;
      const damaged = applyRansomware(bytes, mode, name);
      bytes.copy(damaged, 0, 0, 64);
      expect(validate(bzip2Validator, damaged).status, `${mode} ${name}`).toBe('invalid');
    }
  });

  it('judges truncated files invalid', () => {
    for (const { name, bytes } of fixtures) {
      for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 12]) {
        expect(validate(bzip2Validator, bytes.subarray(0, cut)).status, `${name} cut at ${cut}`).toBe('invalid');
      }
    }
  });

  it('finds a single flipped bit through the block CRC', () => {
    const { bytes } = fixtures.find((f) => f.name.startsWith('/usr/share/common-licenses/'))!;
    const damaged = Buffer.from(bytes);
    const at = Math.floor(bytes.length * 0.7);
    damaged[at] = damaged[at]! ^ 0x10;
    expect(validate(bzip2Validator, damaged).status).toBe('invalid');
  });

  it('stops decoding at the caps, then still walks blocks and the combined CRC to the end', () => {
    const input = Buffer.concat(findMachineFiles({ name: () => true, roots: ['/usr/lib/x86_64-linux-gnu'], minSize: 1_000_000, maxSize: 4_000_000, limit: 3 }).map((f) => readFileSync(f.path)));
    const compressed = bzip2(input, 1);
    const limits = { maxDecodeBytes: 300_000, maxOutputBytes: 256 * 2 ** 20 };
    const capped = validate(bzip2Validator, compressed, 64 * 1024, limits);
    expect(capped.status).toBe('valid');
    expect(capped.checkedBytes).toBeGreaterThan(0);
    expect(capped.checkedBytes).toBeLessThanOrEqual(300_000);
    expect(capped.parts).toBeGreaterThan(20);
    expect(validate(bzip2Validator, compressed, 1000, limits)).toEqual(capped);
    const outputCapped = validate(bzip2Validator, compressed, 64 * 1024, { maxDecodeBytes: 2 ** 30, maxOutputBytes: 1_000_000 });
    expect(outputCapped.status).toBe('valid');
    expect(outputCapped.checkedBytes).toBeLessThan(compressed.length);
    // Past the cap: a broken end, trailing bytes and encrypted stretches that cover magics or stored CRCs still show.
    expect(validate(bzip2Validator, compressed.subarray(0, compressed.length - 3), 64 * 1024, limits).status).toBe('invalid');
    expect(validate(bzip2Validator, Buffer.concat([compressed, Buffer.from('footer')]), 64 * 1024, limits).status).toBe('invalid');
    const damaged = applyRansomware(compressed, 'intermittent-16-16', 'big');
    compressed.copy(damaged, 0, 0, 400_000);
    expect(validate(bzip2Validator, damaged, 64 * 1024, limits).status).toBe('invalid');
  });

  it('does not claim other formats', () => {
    expect(bzip2Validator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(bzip2Validator.matches(Buffer.from('BZh9 is how a bzip2 file starts'))).toBe(false);
  });
});
