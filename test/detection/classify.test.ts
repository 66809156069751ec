import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../agent/detection/classify.js';
import { classifyBytes, featuresOf } from '../helpers/detect.js';
import { findByExtension, findMachineFiles } from '../helpers/machine-files.js';
import { applyRansomware } from '../helpers/ransomware-modes.js';

const text = readFileSync('/usr/share/common-licenses/GPL-3');
const library = readFileSync(
  findByExtension(['.so'], 1, { minSize: 1024 * 1024, maxSize: 8 * 2 ** 20 })[0]!.path,
);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-classify-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('classifying real files hit by real ciphers', () => {
  it('calls a whole-file encrypted text file encrypted: the name promises text, the bytes are random', () => {
    const result = classifyBytes('docs/GPL-3.txt', applyRansomware(text, 'whole', 'gpl'));
    expect(result).toMatchObject({ encrypted: true, strength: 'strong' });
    expect(result.reasons[0]).toBe('magic-mismatch');
  });

  it('judges a renamed file by the extension before the ransomware one', () => {
    const result = classifyBytes('lib/libfoo.so.kandalock', applyRansomware(library, 'footer', 'lib'));
    expect(result).toMatchObject({ encrypted: true, strength: 'strong' });
  });

  it('reads a versioned shared library name (libfoo.so.1.2.3) as a promise of ELF, renamed or not', () => {
    const small = applyRansomware(library.subarray(0, 40_000), 'whole', 'versioned');
    expect(classifyBytes('lib/libfoo.so.1.2.3', small)).toMatchObject({
      encrypted: true,
      strength: 'strong',
    });
    expect(classifyBytes('lib/libfoo.so.1.2.3.akira', small)).toMatchObject({
      encrypted: true,
      strength: 'strong',
    });
    expect(classifyBytes('lib/libfoo.so.1.2.3', library)).toMatchObject({ encrypted: false });
    // A version number alone promises nothing.
    expect(classifyBytes('lib/release.1.2.3', small)).toMatchObject({ encrypted: false });
  });

  it('catches LockBit-style first-4-KiB encryption of a library', () => {
    expect(classifyBytes('lib/libfoo.so', applyRansomware(library, 'first-4k', 'lib'))).toMatchObject({
      encrypted: true,
      strength: 'strong',
    });
  });

  it('catches 16-on/16-off and 64-on/192-off intermittent encryption of a library by its periodic pattern', () => {
    for (const mode of ['intermittent-16-16', 'intermittent-64-192'] as const) {
      const result = classifyBytes('bin/tool', applyRansomware(library, mode, 'lib'));
      expect(result.encrypted, mode).toBe(true);
      expect(result.reasons.join(' '), mode).toMatch(/periodic|structure-invalid/);
    }
  });

  it('uses history: a file with no name hint that turned uniformly random is strongly encrypted', () => {
    const hit = applyRansomware(library, 'whole', 'lib');
    expect(classifyBytes('bin/tool', hit)).toMatchObject({ encrypted: true, strength: 'weak' });
    const withHistory = classifyBytes('bin/tool', hit, { data: library });
    expect(withHistory).toMatchObject({ encrypted: true, strength: 'strong' });
    expect(withHistory.reasons).toContain('chi2-collapsed');
  });

  it('never decides on statistics alone below 64 KiB', () => {
    const small = applyRansomware(library.subarray(0, 40_000), 'whole', 'small');
    expect(classifyBytes('blob', small)).toMatchObject({ encrypted: false });
    // …but a name that promises a format is a structural fact.
    expect(classifyBytes('blob.so', small)).toMatchObject({ encrypted: true });
  });

  it('keeps the judgement of an unchanged file and of a path the previous snapshot held legitimately encrypted', () => {
    const features = featuresOf(applyRansomware(library, 'whole', 'vault'));
    const legit = classify({ path: 'vault.bin', features, digest: 'd1', allowed: true });
    expect(legit).toMatchObject({
      encrypted: false,
      judgement: 'legit-encrypted',
      reasons: ['allowed-by-policy'],
    });
    const next = classify({
      path: 'vault.bin',
      features,
      digest: 'd1',
      previous: { path: 'vault.bin', size: library.length, digest: 'd1', content: legit.summary },
    });
    expect(next).toMatchObject({ encrypted: false, judgement: 'legit-encrypted' });
  });

  it('keeps calling an unchanged encrypted file encrypted in later snapshots', () => {
    const features = featuresOf(applyRansomware(library, 'whole', 'hit'));
    const first = classify({ path: 'x.so', features, digest: 'd2' });
    const later = classify({
      path: 'x.so',
      features,
      digest: 'd2',
      previous: { path: 'x.so', size: library.length, digest: 'd2', content: first.summary },
    });
    expect(later).toMatchObject({ encrypted: true, strength: 'strong' });
    expect(later.reasons).toContain('encrypted-before');
  });
});

describe('legitimately encrypted files made by real tools', () => {
  const made: [string, string][] = [];
  beforeAll(() => {
    const plain = path.join(dir, 'plain.txt');
    writeFileSync(plain, text);
    // gpg's own home (keyring, agent) in this test's directory: the user's ~/.gnupg and its agent
    // are shared with every other test file running at the same time.
    const gnupg = path.join(dir, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    const run = (file: string, args: string[], input?: string) =>
      execFileSync(file, args, {
        cwd: dir,
        input,
        stdio: ['pipe', 'ignore', 'ignore'],
        env: { ...process.env, GNUPGHOME: gnupg },
      });
    run('gpg', [
      '--batch',
      '--yes',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      'pw',
      '-c',
      '-o',
      'plain.gpg',
      'plain.txt',
    ]);
    run('gpg', [
      '--batch',
      '--yes',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      'pw',
      '-c',
      '--armor',
      '-o',
      'plain.asc',
      'plain.txt',
    ]);
    run('openssl', ['enc', '-aes-256-cbc', '-pbkdf2', '-k', 'pw', '-in', 'plain.txt', '-out', 'plain.enc']);
    run('age-keygen', ['-o', 'key.txt']);
    const recipient = readFileSync(path.join(dir, 'key.txt'), 'utf8').match(/public key: (\S+)/)![1]!;
    run('age', ['-r', recipient, '-o', 'plain.age', 'plain.txt']);
    run('7zr', ['a', '-pSecret', '-mhe=on', 'plain.7z', 'plain.txt']);
    writeFileSync(path.join(dir, 'luks.img'), Buffer.alloc(20 * 2 ** 20));
    run(
      'cryptsetup',
      [
        'luksFormat',
        '--batch-mode',
        '--type',
        'luks2',
        '--pbkdf',
        'pbkdf2',
        '--pbkdf-force-iterations',
        '1000',
        'luks.img',
        '-',
      ],
      'pw',
    );
    made.push(
      ['plain.gpg', 'openpgp'],
      ['plain.asc', 'openpgp'],
      ['plain.enc', 'openssl-salted'],
      ['plain.age', 'age'],
      ['plain.7z', '7z'],
      ['luks.img', 'luks'],
    );
  });

  it('names gpg, age, openssl enc, 7-Zip AES and LUKS files as encrypted by design, never as ransomware', () => {
    for (const [file, type] of made) {
      expect(classifyBytes(file, readFileSync(path.join(dir, file))), file).toMatchObject({
        encrypted: false,
        type,
        judgement: 'legit-encrypted',
      });
    }
  });
});

describe('formats without a usable magic, and changes of format', () => {
  it('decodes .br files (brotli has no magic): intact ones are intact, encrypted ones are not', () => {
    const source = path.join(dir, 'GPL-3.txt');
    writeFileSync(source, text);
    execFileSync('brotli', ['-f', '-o', path.join(dir, 'GPL-3.txt.br'), source]);
    const compressed = readFileSync(path.join(dir, 'GPL-3.txt.br'));
    expect(classifyBytes('site/GPL-3.txt.br', compressed)).toMatchObject({
      encrypted: false,
      type: 'brotli',
      judgement: 'intact',
    });
    expect(
      classifyBytes('site/GPL-3.txt.br', compressed, { path: 'site/GPL-3.txt', data: text }),
    ).toMatchObject({ encrypted: false, type: 'brotli' });
    const hit = classifyBytes('site/GPL-3.txt.br', applyRansomware(compressed, 'whole', 'br'));
    expect(hit).toMatchObject({ encrypted: true, strength: 'strong' });
    expect(hit.reasons[0]).toBe('structure-invalid');
  });

  it('does not take random bytes that start with MZ for a Windows executable', () => {
    const hit = applyRansomware(library, 'whole', 'mz');
    hit[0] = 0x4d;
    hit[1] = 0x5a;
    expect(classifyBytes('bin/tool.exe', hit).type).toBe('unknown');
  });

  it('calls a file recompressed in place into another valid format intact', () => {
    const gz = readFileSync(findByExtension(['.gz'], 1, { minSize: 20_000 })[0]!.path);
    expect(classifyBytes('docs/manual', gz, { data: text })).toMatchObject({
      encrypted: false,
      judgement: 'intact',
    });
  });

  it('catches a font encrypted after its header: the content became uniform where it was structured', () => {
    const font = findMachineFiles({
      name: (name) => /\.(ttf|otf)$/.test(name),
      limit: 1,
      minSize: 100_000,
    })[0];
    expect(font, 'a TrueType/OpenType font on this machine').toBeDefined();
    const data = readFileSync(font!.path);
    const hit = classifyBytes('fonts/face.ttf', applyRansomware(data, 'header-kept', 'font'), { data });
    expect(hit).toMatchObject({ encrypted: true, strength: 'strong' });
    expect(hit.reasons).toContain('chi2-collapsed');
  });
});

describe('intact real files', () => {
  it('calls none of 300 real files of mixed types encrypted', () => {
    const files = [
      ...findByExtension(['.gz'], 60, { minSize: 2000 }),
      ...findByExtension(['.png'], 60, { minSize: 2000 }),
      ...findByExtension(['.jar', '.whl', '.zip'], 40, { minSize: 2000 }),
      ...findByExtension(['.so'], 40, { minSize: 2000 }),
      ...findMachineFiles({ name: (name) => /\.(txt|html|py|md|conf)$/.test(name), limit: 60, minSize: 500 }),
      ...findMachineFiles({ name: () => true, roots: ['/usr/bin'], limit: 40, minSize: 2000 }),
    ];
    expect(files.length).toBeGreaterThan(250);
    const flagged = files
      .map((file) => ({
        file: file.path,
        result: classifyBytes(path.basename(file.path), readFileSync(file.path)),
      }))
      .filter(({ result }) => result.encrypted);
    expect(
      flagged.map(({ file, result }) => `${file}: ${result.detail} [${result.reasons.join(', ')}]`),
    ).toEqual([]);
  });
});
