import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarValidator } from '../../../agent/detection/validators/tar.js';
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

let dir: string;
const fixtures: Fixture[] = [];

function tarOf(name: string, args: string[]): void {
  const out = path.join(dir, `${name}.tar`);
  execFileSync('tar', ['-cf', out, ...args], { stdio: 'pipe' });
  fixtures.push({ path: name, bytes: readFileSync(out) });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-tar-validator-'));
  // Real archives shipped on the machine (Python's tarfile test archives exercise GNU, PAX, sparse and v7 members).
  for (const file of findMachineFiles({
    name: (name) => name === 'testtar.tar',
    limit: 3,
    roots: ['/root/.pyenv', '/usr/lib'],
  })) {
    fixtures.push({ path: file.path, bytes: readFileSync(file.path) });
  }
  // Real directories archived by GNU tar in every format it writes.
  const sources = [
    '/usr/share/common-licenses',
    '/usr/share/doc/git',
    '/usr/share/doc/zstd',
    '/usr/share/doc/bzip2',
    '/usr/share/zoneinfo/Europe',
  ];
  for (const format of ['gnu', 'oldgnu', 'pax', 'ustar']) {
    for (const source of sources)
      tarOf(`${format}-${path.basename(source)}`, [
        `--format=${format}`,
        '-C',
        path.dirname(source),
        path.basename(source),
      ]);
  }
  tarOf('v7-licenses', ['--format=v7', '-C', '/usr/share', 'common-licenses']);
  tarOf('pax-blocking-1', ['--format=pax', '-b', '1', '-C', '/usr/share/doc', 'zstd']);
  // Long names, symlinks, an empty file and a sparse file with a hole, in GNU and PAX forms.
  const tree = path.join(dir, 'tree');
  const deep = path.join(
    tree,
    'a-directory-with-a-rather-long-name',
    'and-another-level-with-an-even-longer-name-to-pass-100-bytes',
    'x'.repeat(60),
  );
  mkdirSync(deep, { recursive: true });
  writeFileSync(path.join(deep, 'notes.txt'), readFileSync('/usr/share/common-licenses/GPL-3'));
  writeFileSync(path.join(tree, 'empty'), '');
  symlinkSync('a-directory-with-a-rather-long-name/' + 'y'.repeat(120), path.join(tree, 'long-link'));
  const sparse = openSync(path.join(tree, 'sparse.bin'), 'w');
  writeSync(sparse, readFileSync('/usr/share/common-licenses/Apache-2.0'), 0, undefined, 0);
  writeSync(sparse, Buffer.from('tail of a sparse file\n'), 0, undefined, 5 * 2 ** 20);
  closeSync(sparse);
  for (const format of ['gnu', 'pax', 'oldgnu'])
    tarOf(`tree-${format}`, [`--format=${format}`, '--sparse', '-C', tree, '.']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tar validator', () => {
  it('finds at least 20 real archives to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it('judges every intact archive valid and walks all of it', () => {
    expect(intactProblems(tarValidator, fixtures, { countsParts: true })).toEqual([]);
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    const files = fixtures.slice(0, 6);
    expect(chunkingDisagreements(tarValidator, files)).toEqual([]);
    expect(
      chunkingDisagreements(
        tarValidator,
        files.map((file) => damagedCopy(file, 'intermittent-64-192')),
        [1],
      ),
    ).toEqual([]);
  });

  it.each(DAMAGE_CASES)(
    'judges every archive damaged by %s (first %i bytes kept) invalid',
    (mode, keepHead) => {
      const result = damageResults(tarValidator, fixtures, mode, keepHead);
      console.info(describeResult('tar', result));
      expect(result.missed).toEqual([]);
      expect(result.invalid).toBe(result.files);
    },
  );

  it.each(['intermittent-16-16', 'intermittent-64-192', 'chunks-3x10'] as const)(
    'judges %s invalid even when the whole first header survives',
    (mode) => {
      // Families that skip the first bytes leave a valid first header: later headers or the zero padding at the end still break.
      const result = damageResults(tarValidator, fixtures, mode, 512);
      console.info(describeResult('tar', result));
      expect(result.missed).toEqual([]);
    },
  );

  it('judges truncated archives invalid', () => {
    expect(
      missedTruncations(tarValidator, fixtures, (bytes) => [
        ...truncationPoints(bytes.length),
        bytes.length - 1,
        Math.floor(bytes.length / 2),
        700,
      ]),
    ).toEqual([]);
  });

  it('names the member whose header checksum broke', () => {
    const { bytes } = fixtures.find((f) => f.path === 'gnu-common-licenses')!;
    const damaged = Buffer.from(bytes);
    damaged[512 + 10] = damaged[512 + 10]! ^ 0x20; // the second header: the first is the directory's, with no data
    const verdict = validate(tarValidator, damaged);
    expect(verdict.status).toBe('invalid');
    expect(verdict.detail).toMatch(/checksum mismatch|unknown header|malformed/);
  });

  it('rejects data appended after the end-of-archive blocks', () => {
    const { bytes } = fixtures.find((f) => f.path === 'pax-common-licenses')!;
    const verdict = validate(tarValidator, Buffer.concat([bytes, Buffer.from('a ransom key blob')]));
    expect(verdict).toMatchObject({
      status: 'invalid',
      offset: bytes.length,
      detail: 'non-zero bytes after the end-of-archive blocks',
    });
  });

  it('accepts the signed header checksums old Sun tars wrote', () => {
    const { bytes } = fixtures.find((f) => f.path === 'ustar-common-licenses')!;
    const archive = Buffer.from(bytes);
    archive[0] = 0xe9; // a Latin-1 name byte: signed and unsigned sums differ by 512
    let signed = 0;
    for (let i = 0; i < 512; i++) {
      const byte = i >= 148 && i < 156 ? 0x20 : archive[i]!;
      signed += byte < 0x80 ? byte : byte - 256;
    }
    archive.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(validate(tarValidator, archive).status).toBe('valid');
  });

  it('does not claim other formats or random bytes', () => {
    expect(tarValidator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    expect(tarValidator.matches(applyRansomware(Buffer.alloc(4096), 'whole', 'zeros'))).toBe(false);
    expect(tarValidator.matches(Buffer.alloc(4096))).toBe(false);
  });
});
