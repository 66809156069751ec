import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { elfValidator } from '../../../agent/detection/validators/elf.js';
import { DEFAULT_VALIDATOR_LIMITS, type StructureVerdict, type ValidatorDefinition } from '../../../agent/detection/validator.js';
import { findMachineFiles } from '../../helpers/machine-files.js';
import { applyRansomware, RANSOMWARE_MODES, type RansomwareMode } from '../../helpers/ransomware-modes.js';

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
const isElf = (head: Buffer): boolean => head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));

beforeAll(() => {
  // Programs, shared libraries (small and over 2 MiB, so head/tail limits are crossed), object files and a Go binary.
  const found = [
    ...findMachineFiles({ name: () => true, head: isElf, roots: ['/usr/bin'], maxSize: 2_000_000, limit: 14 }),
    ...findMachineFiles({ name: (name) => name.includes('.so'), head: isElf, roots: ['/usr/lib/x86_64-linux-gnu'], maxSize: 2_000_000, limit: 12 }),
    ...findMachineFiles({ name: (name) => name.includes('.so'), head: isElf, roots: ['/usr/lib/x86_64-linux-gnu'], minSize: 3_000_000, maxSize: 12_000_000, limit: 3 }),
    ...findMachineFiles({ name: (name) => name.endsWith('.o'), head: isElf, roots: ['/root/.pyenv/versions/3.13.0', '/usr/lib/x86_64-linux-gnu', '/usr/lib/gcc'], limit: 3 }),
    ...findMachineFiles({ name: (name) => name === 'age' || name === 'age-keygen', head: isElf, roots: ['/usr/bin'], limit: 1 }),
  ];
  for (const file of found) fixtures.push({ name: file.path, bytes: readFileSync(file.path) });
}, 120_000);

describe('elf validator', () => {
  it('has at least 20 real ELF files to test, of every kind', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    expect(fixtures.some((f) => f.bytes.readUInt16LE(16) === 1)).toBe(true); // relocatable
    expect(fixtures.some((f) => f.bytes.length > 2 * 2 ** 20)).toBe(true);
  });

  it('judges every intact file valid and checks its sections', () => {
    for (const { name, bytes } of fixtures) {
      const verdict = validate(elfValidator, bytes);
      expect(verdict, name).toMatchObject({ status: 'valid', checkedBytes: bytes.length });
      expect(verdict.parts, name).toBeGreaterThan(0);
      expect(elfValidator.matches(bytes.subarray(0, 64 * 1024)), name).toBe(true);
    }
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    for (const { name, bytes } of [...fixtures.slice(0, 3), fixtures.find((f) => f.bytes.length > 3 * 2 ** 20)!]) {
      const whole = validate(elfValidator, bytes, bytes.length);
      expect(validate(elfValidator, bytes, 'random'), name).toEqual(whole);
      const damaged = applyRansomware(bytes, 'intermittent-64-192', name);
      bytes.copy(damaged, 0, 0, 64);
      expect(validate(elfValidator, damaged, 'random'), name).toEqual(validate(elfValidator, damaged, damaged.length));
      if (bytes.length < 300_000) expect(validate(elfValidator, bytes, 1), name).toEqual(whole);
    }
  });

  it.each(MODES)('judges every file damaged by %s invalid', (mode) => {
    for (const { name, bytes } of fixtures) {
      expect(validate(elfValidator, applyRansomware(bytes, mode, name)).status, `${mode} ${name}`).toBe('invalid');
    }
  });

  it.each([64, 4096])('reports per-mode detection when the first %i bytes survive', (keep) => {
    // With the header (or the first page) restored, damage must land on something with a grammar:
    // program headers, string and symbol tables, relocations, notes, .dynamic, .eh_frame, or the
    // section headers at the end. Encryption confined to machine code and data is not a
    // structure violation — the statistics layer judges that.
    const rates: string[] = [];
    for (const mode of RANSOMWARE_MODES.filter((m) => m !== 'whole' && m !== 'rename' && m !== 'footer')) {
      let caught = 0;
      let damagedFiles = 0;
      for (const { name, bytes } of fixtures) {
        if (bytes.length <= keep + 4096) continue;
        const damaged = applyRansomware(bytes, mode, name);
        bytes.copy(damaged, 0, 0, keep);
        if (damaged.equals(bytes)) continue;
        damagedFiles += 1;
        caught += validate(elfValidator, damaged).status === 'invalid' ? 1 : 0;
      }
      rates.push(`${mode} ${caught}/${damagedFiles}`);
      if (mode !== 'first-4k') expect(caught, mode).toBeGreaterThanOrEqual(Math.ceil(damagedFiles * 0.9));
    }
    console.info(`elf with the first ${keep} bytes kept: ${rates.join(', ')}`);
  });

  it('judges truncated files invalid', () => {
    for (const { name, bytes } of fixtures) {
      for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 40]) {
        expect(validate(elfValidator, bytes.subarray(0, cut)).status, `${name} cut at ${cut}`).toBe('invalid');
      }
    }
  });

  it('finds a damaged symbol name in the dynamic string table', () => {
    const { bytes } = fixtures.find((f) => f.name.includes('.so') && f.bytes.length < 2_000_000)!;
    const damaged = Buffer.from(bytes);
    const at = bytes.indexOf('GLIBC_2.', 0, 'latin1');
    damaged[at + 2] = 0x07;
    expect(validate(elfValidator, damaged)).toMatchObject({ status: 'invalid', detail: expect.stringMatching(/string table .* holds a control byte/) });
  });

  it('does not claim other formats', () => {
    expect(elfValidator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(elfValidator.matches(applyRansomware(fixtures[0]!.bytes, 'whole', 'x'))).toBe(false);
  });
});
