import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipValidator } from '../../../agent/detection/validators/zip.js';
import { findByExtension, MACHINE_ROOTS } from '../../helpers/machine-files.js';
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

const ZIP_EXTENSIONS = ['.jar', '.whl', '.zip', '.egg', '.epub', '.docx', '.xlsx', '.odt', '.apk'];

let dir: string;
/** Archives written here by real tools from real files, by how they were made. */
const made: Record<string, Buffer> = {};

function run(command: string, args: string[], cwd = dir): void {
  execFileSync(command, args, { cwd, stdio: 'pipe' });
}

/** Inserts an APK Signing Block (v2 signature scheme layout) between the last member and the central directory, as apksigner does. */
function withApkSigningBlock(zip: Buffer): Buffer {
  const end = zip.length - 22;
  expect(zip.readUInt32LE(end)).toBe(0x06054b50);
  const centralOffset = zip.readUInt32LE(end + 16);
  const value = Buffer.alloc(300, 0x5a);
  const pair = Buffer.alloc(12);
  pair.writeBigUInt64LE(BigInt(4 + value.length));
  pair.writeUInt32LE(0x7109871a, 8);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(pair.length + value.length + 8 + 16));
  const block = Buffer.concat([size, pair, value, size, Buffer.from('APK Sig Block 42')]);
  const out = Buffer.concat([zip.subarray(0, centralOffset), block, zip.subarray(centralOffset)]);
  out.writeUInt32LE(centralOffset + block.length, end + block.length + 16);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-zip-validator-'));
  const docs = '/usr/share/doc';
  run('zip', ['-q', '-r', 'info-zip.zip', 'zstd', 'bzip2'], docs.replace(/$/, ''));
  made['Info-ZIP, stored and deflated'] = readFileSync(path.join(docs, 'info-zip.zip'));
  rmSync(path.join(docs, 'info-zip.zip'));
  run('zip', ['-q', '-r', '-z', path.join(dir, 'comment.zip'), '/usr/share/doc/zstd'], dir);
  made['Info-ZIP with an archive comment'] = readFileSync(path.join(dir, 'comment.zip'));
  made['Info-ZIP streamed to a pipe (data descriptors)'] = execFileSync(
    'zip',
    ['-q', '-r', '-', '/usr/share/doc/bzip2'],
    { maxBuffer: 1 << 28 },
  );
  run('zip', ['-q', '-r', '-fz', 'zip64.zip', '/usr/share/doc/xz-utils']);
  made['Info-ZIP with ZIP64 extra fields'] = readFileSync(path.join(dir, 'zip64.zip'));
  run('jar', ['cf', 'tool.jar', '-C', '/usr/share/doc', 'zstd']);
  made['OpenJDK jar (deflated with descriptors)'] = readFileSync(path.join(dir, 'tool.jar'));
  // CPython's zipfile on an unseekable stream writes descriptors after stored members too.
  const script = [
    'import sys, zipfile',
    'class Pipe:',
    '  def __init__(self, f): self.f = f',
    '  def write(self, b): return self.f.write(b)',
    '  def flush(self): self.f.flush()',
    'with zipfile.ZipFile(Pipe(sys.stdout.buffer), "w") as z:',
    '  z.write("/usr/share/common-licenses/GPL-3", "gpl3.txt", compress_type=zipfile.ZIP_STORED)',
    '  z.write("/usr/share/common-licenses/Apache-2.0", "apache.txt", compress_type=zipfile.ZIP_DEFLATED)',
    '  z.write("/usr/share/common-licenses/GPL-2", "gpl2.txt", compress_type=zipfile.ZIP_STORED)',
  ].join('\n');
  made['CPython zipfile streamed (stored members with descriptors)'] = execFileSync('/usr/bin/python3', [
    '-c',
    script,
  ]);
  const many = [
    'import zipfile',
    'with zipfile.ZipFile("many.zip", "w") as z:',
    '  for i in range(66000): z.writestr(f"d/{i}.txt", str(i))',
  ].join('\n');
  run('/usr/bin/python3', ['-c', many]);
  made['CPython zipfile with 66,000 members (ZIP64 end record)'] = readFileSync(path.join(dir, 'many.zip'));
  run('/usr/bin/python3', ['-c', 'import zipfile; zipfile.ZipFile("empty.zip", "w").close()']);
  made['empty archive'] = readFileSync(path.join(dir, 'empty.zip'));
  made['APK-style signing block before the central directory'] = withApkSigningBlock(
    made['Info-ZIP, stored and deflated'],
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('zip validator on real files', () => {
  let intact: LoadedFile[] = [];
  let sample: LoadedFile[] = [];

  beforeAll(() => {
    // Java libraries, Python wheels and eggs, SDK bundles: the zip writers of many toolchains.
    const found = findByExtension(ZIP_EXTENSIONS, 500, {
      head: (head) => zipValidator.matches(head),
      maxSize: 8 * 2 ** 20,
      roots: [...MACHINE_ROOTS, '/root/.m2'],
    });
    intact = loadFiles(found);
    sample = intact.filter((_, index) => index % 8 === 0);
  });

  it('finds enough real zip-family files', () => {
    expect(intact.length).toBeGreaterThanOrEqual(300);
    expect(sample.length).toBeGreaterThanOrEqual(40);
  });

  it('judges every intact archive valid', () => {
    expect(falsePositives(zipValidator, intact)).toEqual([]);
  });

  it('judges every intact archive valid when fed in varied chunks', () => {
    expect(falsePositives(zipValidator, sample, 'varied')).toEqual([]);
  });

  it.each(DAMAGE_CASES)(
    'judges every archive damaged by %s (first %i bytes kept) invalid',
    (mode, keepHead) => {
      const result = damageResults(zipValidator, sample, mode, keepHead);
      console.log(describeResult('zip', result), result.unsupported);
      // Member data is CRC-checked, and headers, the central directory and the end record are compared with one another.
      expect(result.missed).toEqual([]);
      expect(result.invalid).toBe(result.files);
    },
  );

  it('judges truncated archives invalid', () => {
    expect(missedTruncations(zipValidator, sample.slice(0, 30))).toEqual([]);
  });

  it('gives the same verdict fed 1 byte at a time as in one chunk', () => {
    const small = sample.filter((file) => file.bytes.length < 64 * 1024).slice(0, 10);
    expect(small.length).toBeGreaterThan(4);
    const variants = small.flatMap((file) => [
      file,
      overwritten(file, 16, 0x33),
      {
        path: `${file.path} without its last 30 bytes`,
        bytes: file.bytes.subarray(0, file.bytes.length - 30),
      },
    ]);
    expect(chunkingDisagreements(zipValidator, variants, [1])).toEqual([]);
  });
});

describe('zip validator on archives written by real tools', () => {
  const variants = (): LoadedFile[] => Object.entries(made).map(([how, bytes]) => ({ path: how, bytes }));

  it('judges every variant valid, whole and fed in 1-byte and varied chunks', () => {
    expect(
      verdictsOf(zipValidator, variants()).filter(
        (result) => !fullyValid(result) || result.verdict.encryptedMembers !== 0,
      ),
    ).toEqual([]);
    expect(chunkingDisagreements(zipValidator, variants(), ['varied'])).toEqual([]);
    expect(
      chunkingDisagreements(
        zipValidator,
        variants().filter((file) => file.bytes.length < 600 * 1024),
        [1],
      ),
    ).toEqual([]);
  });

  it('judges every variant damaged by header-kept encryption invalid', () => {
    const damageable = variants().filter((file) => file.path !== 'empty archive');
    const result = damageResults(zipValidator, damageable, 'header-kept');
    expect(result.missed).toEqual([]);
    expect(result.invalid).toBe(damageable.length);
  });

  it('counts members encrypted by zip itself without judging them', () => {
    run('zip', ['-q', '-r', '-e', '-P', 'secret', 'traditional.zip', '/usr/share/doc/zstd']);
    run('7zz', ['a', '-tzip', '-mem=AES256', '-psecret', 'aes.zip', '/usr/share/doc/zstd']);
    for (const name of ['traditional.zip', 'aes.zip']) {
      const bytes = readFileSync(path.join(dir, name));
      const verdict = validate(zipValidator, bytes, 'varied');
      expect(verdict, name).toMatchObject({ status: 'valid', checkedBytes: bytes.length });
      expect(verdict.encryptedMembers, name).toBeGreaterThanOrEqual(5);
      // The members' bytes are not checked, but the walk is: damage elsewhere is still found.
      expect(damageResults(zipValidator, [{ path: name, bytes }], 'header-kept').invalid, name).toBe(1);
    }
  });

  it('rejects a central directory entry that disagrees with its local header', () => {
    const bytes = Buffer.from(made['Info-ZIP, stored and deflated']!);
    const centralOffset = bytes.readUInt32LE(bytes.length - 22 + 16);
    bytes.writeUInt32LE(bytes.readUInt32LE(centralOffset + 16) ^ 1, centralOffset + 16);
    expect(validate(zipValidator, bytes)).toMatchObject({
      status: 'invalid',
      detail: 'central directory entry 1: CRC-32 differs from its member',
      offset: centralOffset,
    });
  });

  it('rejects a local header whose encryption flag the central directory does not share (damage must not skip checks)', () => {
    const bytes = Buffer.from(made['Info-ZIP, stored and deflated']!);
    const second = bytes.indexOf(Buffer.from([0x50, 0x4b, 3, 4]), 4);
    bytes[second + 6]! |= 0x01;
    expect(validate(zipValidator, bytes)).toMatchObject({
      status: 'invalid',
      detail: expect.stringContaining('encryption flags differ'),
    });
    const masked = Buffer.from(made['Info-ZIP, stored and deflated']!);
    masked[second + 7]! |= 0x20;
    expect(validate(zipValidator, masked).status).toBe('invalid');
  });

  it('rejects data appended after the end record', () => {
    const bytes = made['Info-ZIP, stored and deflated']!;
    expect(validate(zipValidator, Buffer.concat([bytes, Buffer.alloc(64, 7)]))).toMatchObject({
      status: 'invalid',
      offset: bytes.length,
    });
  });

  it('walks past the decode cap without inflating, and still checks the structure there', () => {
    const large = findByExtension(['.jar'], 400, {
      minSize: 6 * 2 ** 20,
      maxSize: 64 * 2 ** 20,
      roots: [...MACHINE_ROOTS, '/root/.m2'],
    })[0]!;
    const bytes = readFileSync(large.path);
    const limits = { maxDecodeBytes: 512 * 1024, maxOutputBytes: 2 ** 30 };
    const verdict = validate(zipValidator, bytes, 64 * 1024, limits);
    expect(verdict.status, large.path).toBe('valid');
    expect(verdict.checkedBytes).toBeLessThan(600 * 1024);
    // Past the cap, the central directory is still compared with the local headers walked.
    const centralOffset = bytes.readUInt32LE(bytes.length - 22 + 16);
    const damaged = Buffer.from(bytes);
    damaged.fill(0, centralOffset + 10, centralOffset + 30);
    expect(validate(zipValidator, damaged, 64 * 1024, limits).status).toBe('invalid');
  });

  it('stops inflating a member at the output cap', () => {
    const bomb = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        'import io, sys, zipfile\nb = io.BytesIO()\nwith zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z: z.writestr("zeros", bytes(64 << 20))\nsys.stdout.buffer.write(b.getvalue())',
      ],
      { maxBuffer: 1 << 26 },
    );
    const verdict = validate(zipValidator, bomb, 64 * 1024, {
      maxDecodeBytes: 2 ** 30,
      maxOutputBytes: 4 * 2 ** 20,
    });
    expect(verdict.status).toBe('valid');
    expect(verdict.checkedBytes).toBeLessThan(bomb.length);
  });
});
