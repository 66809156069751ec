import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { xzValidator } from '../../../agent/detection/validators/xz.js';
import { DEFAULT_VALIDATOR_LIMITS, type StructureVerdict, type ValidatorDefinition } from '../../../agent/detection/validator.js';
import { findMachineFiles } from '../../helpers/machine-files.js';
import { applyRansomware, type RansomwareMode } from '../../helpers/ransomware-modes.js';

/** Feeds `bytes` in pieces of `chunk` bytes (or of seeded random sizes when `chunk` is 'random'). */
function validate(definition: ValidatorDefinition, bytes: Uint8Array, chunk: number | 'random' = 64 * 1024): StructureVerdict {
  const validator = definition.create(bytes.length, DEFAULT_VALIDATOR_LIMITS);
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

function xz(input: Buffer, args: string[]): Buffer {
  return execFileSync('xz', ['-q', '-c', ...args], { input, maxBuffer: 1 << 30 });
}

beforeAll(() => {
  // Real xz files: the machine's own, and the control and data members of cached Debian packages (written by dpkg-deb).
  for (const file of findMachineFiles({ name: (name) => name.endsWith('.xz'), roots: ['/var/log', '/root/.pyenv/versions/3.12.1'], limit: 2 })) {
    fixtures.push({ name: file.path, bytes: readFileSync(file.path) });
  }
  for (const deb of findMachineFiles({ name: (name) => name.endsWith('.deb'), roots: ['/var/cache/apt/archives'], maxSize: 3_000_000, limit: 6 })) {
    const members = execFileSync('ar', ['t', deb.path], { encoding: 'utf8' }).split('\n').filter((m) => m.endsWith('.xz'));
    for (const member of members) fixtures.push({ name: `${deb.path}:${member}`, bytes: execFileSync('ar', ['p', deb.path, member], { maxBuffer: 1 << 30 }) });
  }
  // The xz tool on real files, across presets, checks, filters, block sizes and streams.
  const text = readFileSync('/usr/share/common-licenses/GPL-3');
  const program = readFileSync(findMachineFiles({ name: () => true, roots: ['/usr/bin'], minSize: 200_000, maxSize: 2_000_000, limit: 1 })[0]!.path);
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
  for (const [name, input, args] of settings) fixtures.push({ name, bytes: xz(input, args) });
  const streams = Buffer.concat([xz(text, ['-3']), Buffer.alloc(8), xz(program, ['-1', '--check=crc32'])]);
  fixtures.push({ name: 'two streams with padding', bytes: streams });
}, 120_000);

describe('xz validator', () => {
  it('has at least 20 real xz files to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it('judges every intact file valid and walks all of it', () => {
    for (const { name, bytes } of fixtures) {
      expect(validate(xzValidator, bytes), name).toMatchObject({ status: 'valid', checkedBytes: bytes.length });
      expect(xzValidator.matches(bytes.subarray(0, 64 * 1024)), name).toBe(true);
    }
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    for (const { name, bytes } of fixtures.filter((f) => f.bytes.length < 3_000_000).slice(0, 8)) {
      const whole = validate(xzValidator, bytes, bytes.length);
      expect(validate(xzValidator, bytes, 1), name).toEqual(whole);
      expect(validate(xzValidator, bytes, 'random'), name).toEqual(whole);
      const damaged = applyRansomware(bytes, 'intermittent-16-16', name);
      bytes.copy(damaged, 0, 0, 64);
      expect(validate(xzValidator, damaged, 1), name).toEqual(validate(xzValidator, damaged, damaged.length));
    }
  });

  it.each(MODES)('judges every file damaged by %s invalid', (mode) => {
    for (const { name, bytes } of fixtures) {
      const damaged = applyRansomware(bytes, mode, name);
      if (damaged.equals(bytes)) continue; // header-kept leaves a file of 64 bytes or less alone
      expect(validate(xzValidator, damaged).status, `${mode} ${name}`).toBe('invalid');
    }
  });

  it.each(MODES)('reports how often %s is caught when the stream header survives', (mode) => {
    // The walk sees chunk headers, block tails, the index and the footer, not compressed data
    // (no block-check without a decoder): a small single-chunk file hit by 64 on / 192 off can
    // leave all of those alone. Multi-chunk files must always be caught.
    let caught = 0;
    let tested = 0;
    for (const { name, bytes } of fixtures) {
      if (bytes.length <= 64) continue;
      const damaged = applyRansomware(bytes, mode, name);
      bytes.copy(damaged, 0, 0, 64);
      const invalid = validate(xzValidator, damaged).status === 'invalid';
      tested += 1;
      caught += invalid ? 1 : 0;
      if (bytes.length > 200_000) expect(invalid, `${mode} ${name}`).toBe(true);
    }
    console.info(`xz ${mode} with the first 64 bytes kept: ${caught}/${tested} detected`);
    if (mode !== 'intermittent-64-192' && mode !== 'chunks-3x10') expect(caught).toBe(tested);
  });

  it('judges truncated files invalid', () => {
    for (const { name, bytes } of fixtures) {
      for (const cut of [bytes.length - 1, bytes.length - 4, Math.floor(bytes.length / 2), 11]) {
        expect(validate(xzValidator, bytes.subarray(0, cut)).status, `${name} cut at ${cut}`).toBe('invalid');
      }
    }
  });

  it('finds an index record that disagrees with the block walked, even under a correct index CRC', () => {
    const { bytes } = fixtures.find((f) => f.name === 'program 64 KiB blocks')!;
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
    expect(validate(xzValidator, damaged)).toMatchObject({ status: 'invalid', detail: 'index records do not match the blocks' });
  });

  it('rejects bytes after the last stream that are not stream padding', () => {
    const { bytes } = fixtures.find((f) => f.name === 'text -0 crc32')!;
    expect(validate(xzValidator, Buffer.concat([bytes, Buffer.alloc(4)])).status).toBe('valid');
    expect(validate(xzValidator, Buffer.concat([bytes, Buffer.alloc(3)])).status).toBe('invalid');
    expect(validate(xzValidator, Buffer.concat([bytes, Buffer.from('ransom footer!!!')])).status).toBe('invalid');
  });

  it('does not claim other formats', () => {
    expect(xzValidator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(xzValidator.matches(xz(Buffer.from('legacy'), ['--format=lzma']))).toBe(false);
    expect(xzValidator.matches(applyRansomware(fixtures[0]!.bytes, 'first-4k', 'x'))).toBe(false);
  });
});
