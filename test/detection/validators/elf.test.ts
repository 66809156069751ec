import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VALIDATOR_LIMITS } from '../../../agent/detection/validator.js';
import { elfValidator } from '../../../agent/detection/validators/elf.js';
import { findMachineFiles } from '../../helpers/machine-files.js';
import { applyRansomware } from '../../helpers/ransomware-modes.js';
import {
  chunkingDisagreements,
  DAMAGE_CASES,
  damagedCopy,
  damageResults,
  describeResult,
  intactProblems,
  loadFiles,
  missedTruncations,
  truncationPoints,
  validate,
  type LoadedFile,
} from '../../helpers/validator-harness.js';

type Fixture = LoadedFile;

const fixtures: Fixture[] = [];
const isElf = (head: Buffer): boolean => head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));

beforeAll(() => {
  // Programs, shared libraries (small and over 2 MiB, so head/tail limits are crossed), object files and a Go binary.
  const found = [
    ...findMachineFiles({
      name: () => true,
      head: isElf,
      roots: ['/usr/bin'],
      maxSize: 2_000_000,
      limit: 14,
    }),
    ...findMachineFiles({
      name: (name) => name.includes('.so'),
      head: isElf,
      roots: ['/usr/lib/x86_64-linux-gnu'],
      maxSize: 2_000_000,
      limit: 12,
    }),
    ...findMachineFiles({
      name: (name) => name.includes('.so'),
      head: isElf,
      roots: ['/usr/lib/x86_64-linux-gnu'],
      minSize: 3_000_000,
      maxSize: 12_000_000,
      limit: 3,
    }),
    ...findMachineFiles({
      name: (name) => name.endsWith('.o'),
      head: isElf,
      roots: ['/root/.pyenv/versions/3.13.0', '/usr/lib/x86_64-linux-gnu', '/usr/lib/gcc'],
      limit: 3,
    }),
    ...findMachineFiles({
      name: (name) => name === 'age' || name === 'age-keygen',
      head: isElf,
      roots: ['/usr/bin'],
      limit: 1,
    }),
  ];
  fixtures.push(...loadFiles(found));
});

describe('elf validator', () => {
  it('has at least 20 real ELF files to test, of every kind', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    expect(fixtures.some((f) => f.bytes.readUInt16LE(16) === 1)).toBe(true); // relocatable
    expect(fixtures.some((f) => f.bytes.length > 2 * 2 ** 20)).toBe(true);
  });

  it('judges every intact file valid and checks its sections', () => {
    expect(intactProblems(elfValidator, fixtures, { countsParts: true })).toEqual([]);
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    const files = [...fixtures.slice(0, 3), fixtures.find((f) => f.bytes.length > 3 * 2 ** 20)!];
    expect(chunkingDisagreements(elfValidator, files, ['varied'])).toEqual([]);
    expect(
      chunkingDisagreements(
        elfValidator,
        files.map((file) => damagedCopy(file, 'intermittent-64-192', 64)),
        ['varied'],
      ),
    ).toEqual([]);
    // Byte by byte only where that is quick.
    expect(
      chunkingDisagreements(
        elfValidator,
        files.filter((file) => file.bytes.length < 300_000),
        [1],
      ),
    ).toEqual([]);
  });

  it.each([
    ...DAMAGE_CASES,
    ['header-kept', 4096],
    ['intermittent-16-16', 4096],
    ['intermittent-64-192', 4096],
    ['chunks-3x10', 4096],
  ] as const)('judges files damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    // With the header (or the first page) kept, damage must land on something with a grammar:
    // program headers, string and symbol tables, relocations, notes, .dynamic, .eh_frame, or the
    // section headers at the end. Encryption confined to machine code and data is no structure
    // violation — the statistics layer judges that — so the bar is 90 %, and it reaches 100 % here.
    const result = damageResults(elfValidator, fixtures, mode, keepHead);
    console.info(describeResult('elf', result));
    expect(result.invalid).toBeGreaterThanOrEqual(Math.ceil(result.files * 0.9));
    if (keepHead === 0) expect(result.missed).toEqual([]);
  });

  it('judges truncated files invalid', () => {
    expect(
      missedTruncations(elfValidator, fixtures, (bytes) => [
        ...truncationPoints(bytes.length),
        bytes.length - 1,
        Math.floor(bytes.length / 2),
        40,
      ]),
    ).toEqual([]);
  });

  it('judges a large file that ends before its declared size as the bytes it has', () => {
    // The tail ring keeps only chunks near the declared end; a file that shrank while it was read
    // must not be checked against ring bytes that were never copied.
    const large = fixtures.find((f) => f.bytes.length > 3 * 2 ** 20)!;
    for (const fraction of [0.5, 0.8, 0.95]) {
      const cut = large.bytes.subarray(0, Math.floor(large.bytes.length * fraction));
      const declaredLonger = elfValidator.create(large.bytes.length, DEFAULT_VALIDATOR_LIMITS);
      for (let at = 0; at < cut.length; at += 256 * 1024)
        declaredLonger.update(cut.subarray(at, at + 256 * 1024));
      expect(declaredLonger.finish(), `${large.path} cut at ${fraction}`).toEqual(
        validate(elfValidator, cut, 256 * 1024),
      );
    }
  });

  it('finds a damaged symbol name in the dynamic string table', () => {
    const { bytes } = fixtures.find((f) => f.path.includes('.so') && f.bytes.length < 2_000_000)!;
    const damaged = Buffer.from(bytes);
    const at = bytes.indexOf('GLIBC_2.', 0, 'latin1');
    damaged[at + 2] = 0x07;
    expect(validate(elfValidator, damaged)).toMatchObject({
      status: 'invalid',
      detail: expect.stringMatching(/string table .* holds a control byte/),
    });
  });

  it('does not claim other formats', () => {
    expect(elfValidator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(elfValidator.matches(applyRansomware(fixtures[0]!.bytes, 'whole', 'x'))).toBe(false);
  });
});
