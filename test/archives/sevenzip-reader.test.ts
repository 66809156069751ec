import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type ArchiveInput, type ArchiveLimits } from '../../agent/archives/entry-reader.js';
import {
  parseSevenZipListing,
  sevenZipReader,
  SevenZipListingError,
} from '../../agent/archives/sevenzip-reader.js';
import {
  bufferInput,
  fileInput,
  recordingVisitor,
  sha256,
  type RecordingVisitor,
} from '../helpers/buffer-input.js';
import { renameIn7z, sevenZip } from '../helpers/sevenzip.js';

let dir: string;
/** Real files from this machine, with their bytes. */
const sources = new Map<string, Buffer>();

async function make(
  name: string,
  files: Record<string, Buffer | string | { link: string }>,
  ...switches: string[]
): Promise<Buffer> {
  const root = path.join(dir, `${name}-src`);
  await rm(root, { recursive: true, force: true });
  for (const [file, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    if (typeof data === 'object' && 'link' in data) await symlink(data.link, path.join(root, file));
    else await writeFile(path.join(root, file), data, { mode: file.startsWith('bin/') ? 0o755 : 0o644 });
  }
  const archive = path.join(dir, `${name}.7z`);
  await rm(archive, { force: true });
  sevenZip(root, archive, ...switches);
  return readFile(archive);
}

async function read(
  archive: Buffer,
  limits: Partial<ArchiveLimits> = {},
  extras: Partial<ArchiveInput> = {},
) {
  const visitor = recordingVisitor();
  const summary = await sevenZipReader.read({ ...bufferInput('test.7z', archive), ...extras }, visitor, {
    ...DEFAULT_LIMITS,
    ...limits,
  });
  return { summary, visitor };
}

const text = (visitor: RecordingVisitor) => visitor.problems.map((p) => `${p.kind} ${p.path}: ${p.detail}`);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-7z-'));
  // Real files: licences (text), a program (ELF), a compressed man page, plus random bytes and an empty file.
  for (const [name, from] of [
    ['docs/GPL-3', '/usr/share/common-licenses/GPL-3'],
    ['bin/ls', '/bin/ls'],
    ['man/tar.1.gz', '/usr/share/man/man1/tar.1.gz'],
  ] as const) {
    sources.set(name, await readFile(from));
  }
  sources.set('data/random.bin', randomBytes(1536 * 1024 + 7));
  sources.set('empty', Buffer.alloc(0));
  sources.set('caf\u00e9.txt', Buffer.from('non-ASCII name\n'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('7z: normal archives', () => {
  function expectWholeTree(visitor: RecordingVisitor): void {
    expect(text(visitor)).toEqual([]);
    const files = visitor.entries.filter((entry) => entry.type === 'file');
    expect(files.map((entry) => entry.path).sort()).toEqual([...sources.keys()].sort());
    for (const entry of files) {
      const source = sources.get(entry.path)!;
      expect(entry.size, entry.path).toBe(source.length);
      expect(entry.bodyBytes, entry.path).toBe(source.length);
      expect(entry.sha256, entry.path).toBe(sha256(source));
    }
    expect(visitor.entries.find((entry) => entry.path === 'link')).toMatchObject({
      type: 'symlink',
      linkTarget: 'docs/GPL-3',
      size: 0,
    });
    expect(
      visitor.entries
        .filter((entry) => entry.type === 'directory')
        .map((entry) => entry.path)
        .sort(),
    ).toEqual(['bin', 'data', 'docs', 'man']);
    expect(visitor.entries.find((entry) => entry.path === 'bin/ls')!.mode! & 0o111).not.toBe(0);
  }

  it.each([
    ['solid (one LZMA2 block)', []],
    ['non-solid, one block per file', ['-ms=off']],
    [
      'with BCJ2 and headers uncompressed',
      ['-m0=BCJ2', '-m1=LZMA2', '-m2=LZMA', '-m3=LZMA', '-mb0:1', '-mb0s1:2', '-mb0s2:3', '-mhc=off'],
    ],
  ] as const)(
    'visits every entry of a %s archive with correct sizes, bodies and a recorded symlink',
    async (_label, switches) => {
      const archive = await make(
        'normal',
        { ...Object.fromEntries(sources), link: { link: 'docs/GPL-3' } },
        ...switches,
      );
      const { summary, visitor } = await read(archive);
      expectWholeTree(visitor);
      expect(summary.complete).toBe(true);
      expect(summary.bytes).toBe([...sources.values()].reduce((sum, data) => sum + data.length, 0));
    },
  );

  it('reads a local archive in place (7-Zip opens the file the source checked) and a copied one alike', async () => {
    const archive = await make('local', { ...Object.fromEntries(sources), link: { link: 'docs/GPL-3' } });
    const file = path.join(dir, 'local.7z');
    const visitor = recordingVisitor();
    const input = {
      ...(await fileInput(file)),
      localFile: async () => file,
      open: () => Promise.reject(new Error('must not copy a local file')),
    };
    expect((await sevenZipReader.read(input, visitor, DEFAULT_LIMITS)).complete).toBe(true);
    expectWholeTree(visitor);
    const copied = await read(archive);
    expect(copied.visitor.entries.map((entry) => [entry.path, entry.sha256])).toEqual(
      visitor.entries.map((entry) => [entry.path, entry.sha256]),
    );
  });

  it('parses 7-Zip listings strictly: a name with a line break that forges fields is refused', () => {
    const good =
      'Path = a\nSize = 3\nModified = 2025-10-19 02:00:00.1234567\nAttributes = A -rw-r--r--\nCRC = 352441C2\nEncrypted = -\n\nPath = d\nSize = 0\nAttributes = D drwxr-xr-x\n';
    expect(parseSevenZipListing(good)).toEqual([
      {
        path: 'a',
        size: 3,
        type: 'file',
        mode: 0o644,
        mtime: new Date('2025-10-19T02:00:00.123Z'),
        crc: 0x352441c2,
        encrypted: false,
      },
      { path: 'd', size: 0, type: 'directory', mode: 0o755, encrypted: false },
    ]);
    expect(() => parseSevenZipListing('Path = a\nSize = 1\nSize = 99999\n')).toThrow(SevenZipListingError);
    expect(() => parseSevenZipListing('Path = evil\n../../etc/passwd\nSize = 1\n')).toThrow(/line break/);
    expect(() => parseSevenZipListing('Size = 1\nPath = a\n')).toThrow(/does not start with its path/);
  });
});

describe('7z: hostile names and entry types', () => {
  it('reports ../ names and reads the entries around them; control characters come out of 7-Zip as _', async () => {
    const plain = await make(
      'hostile',
      { 'aa/etc/passwd': 'root::0:0', 'ok1.txt': 'one', newXline: 'x', 'ok2.txt': 'two' },
      '-mhc=off',
    );
    const archive = renameIn7z(renameIn7z(plain, 'aa/etc/passwd', '../etc/passwd'), 'newXline', 'new\nline');
    const { summary, visitor } = await read(archive);
    // 7-Zip itself shows a control character in a name as '_': that name is safe.
    expect(visitor.paths()).toEqual(['aa', 'aa/etc', 'new_line', 'ok1.txt', 'ok2.txt']);
    expect(text(visitor)).toEqual([
      "unsafe-entry ../etc/passwd: entry '../etc/passwd': path escapes the archive root",
    ]);
    expect(summary.complete).toBe(true);
  });

  it('reports absolute names that 7-Zip stored with -spf', async () => {
    const root = path.join(dir, 'abs-src');
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'f.txt'), 'absolute');
    const archive = path.join(dir, 'abs.7z');
    execFileSync('7zz', ['a', '-bd', '-spf', archive, path.join(root, 'f.txt')], { stdio: 'ignore' });
    const { visitor } = await read(await readFile(archive));
    expect(visitor.entries).toEqual([]);
    expect(text(visitor)).toEqual([`unsafe-entry ${root}/f.txt: entry '${root}/f.txt': path is absolute`]);
  });

  it('records symlinks whatever their target and refuses a file written through one (link/passwd)', async () => {
    const plain = await make(
      'links',
      { link: { link: '/etc' }, 'linx/passwd': 'root::0:0', up: { link: '../../x' } },
      '-mhc=off',
    );
    const { visitor } = await read(renameIn7z(plain, 'linx/passwd', 'link/passwd'));
    expect(
      visitor.entries
        .filter((entry) => entry.type === 'symlink')
        .map(({ path: p, linkTarget }) => [p, linkTarget]),
    ).toEqual([
      ['link', '/etc'],
      ['up', '../../x'],
    ]);
    // Links are recorded whatever their target (every filesystem backup has absolute ones); only
    // writing through one is refused.
    expect(text(visitor)).toEqual([
      "unsafe-entry link/passwd: entry 'link/passwd': parent 'link' is a symlink; the entry would be written through it",
    ]);
  });

  it('refuses duplicate names and NFC/NFD twin names, reading the first of each', async () => {
    const plain = await make(
      'twins',
      { 'a.txt': 'first', 'b.txt': 'second', 'caf\u00e9': 'composed', 'cafe\u0301': 'decomposed' },
      '-mhc=off',
    );
    const { visitor } = await read(renameIn7z(plain, 'b.txt', 'a.txt'));
    expect(visitor.entries.map((entry) => [entry.path, entry.sha256])).toEqual([
      ['a.txt', sha256(Buffer.from('first'))],
      ['caf\u00e9', expect.any(String)],
    ]);
    expect(text(visitor)).toEqual([
      "unsafe-entry a.txt: entry 'a.txt': duplicate of an earlier entry",
      expect.stringMatching(
        /^unsafe-entry caf\u00e9: entry 'caf(e\u0301|\u00e9)': collides with an earlier entry whose name differs only in Unicode normalisation$/,
      ),
    ]);
  });
});

describe('7z: damaged archives', () => {
  it('reports an archive cut short as a read-error quoting 7-Zip', async () => {
    const archive = await make('cut', { 'a.bin': randomBytes(300_000), 'b.txt': 'b' });
    const { summary, visitor } = await read(archive.subarray(0, Math.floor(archive.length * 0.6)));
    expect(visitor.entries.filter((entry) => entry.type === 'file')).toEqual([]);
    expect(visitor.problems).toEqual([
      { kind: 'read-error', path: '', detail: expect.stringMatching(/^cannot list test\.7z: 7-Zip: .+/) },
    ]);
    expect(summary.complete).toBe(false);
  });

  it("reports a corrupted byte in the packed data as a read-error naming the entry, with 7-Zip's words", async () => {
    const archive = await make(
      'flip',
      { 'a.txt': 'a'.repeat(200_000), 'b.bin': sources.get('bin/ls')! },
      '-ms=off',
    );
    const damaged = Buffer.from(archive);
    damaged[32 + 1000]! ^= 0xff; // inside a.txt's packed stream
    const { summary, visitor } = await read(damaged);
    expect(visitor.problems.length).toBeGreaterThan(0);
    expect(visitor.problems.at(-1)).toMatchObject({
      kind: 'read-error',
      detail: expect.stringMatching(/7-Zip|CRC-32 mismatch/),
    });
    expect(summary.complete).toBe(false);
  });

  it('stops a 7z bomb (200 MiB of zeros) early with maxRatio 100', async () => {
    const zeros = path.join(dir, 'bomb-src');
    await mkdir(zeros, { recursive: true });
    execFileSync('sh', ['-c', `head -c ${200 * 1024 * 1024} /dev/zero > '${zeros}/zeros.bin'`]);
    const archive = path.join(dir, 'bomb.7z');
    sevenZip(zeros, archive);
    const { summary, visitor } = await read(await readFile(archive), { maxRatio: 100 });
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'zeros.bin',
        detail: expect.stringMatching(/^archive expands more than 100×/),
      },
    ]);
    expect(summary.bytes).toBe(0);
    expect(summary.complete).toBe(false);
  });

  it('stops at maxEntries and at maxEntryBytes before reading data', async () => {
    const archive = await make('caps', { a: 'x', b: 'y', c: 'z'.repeat(5000) });
    const entries = await read(archive, { maxEntries: 2 });
    expect(entries.visitor.paths()).toEqual(['a', 'b']);
    expect(text(entries.visitor)).toEqual([
      "read-error : archive has more than 2 entries (the limit); stopped before entry 'c'",
    ]);
    const big = await read(archive, { maxEntryBytes: 1000 });
    expect(text(big.visitor)).toEqual([
      "read-error c: entry 'c' declares 5000 bytes, over the 1000-byte entry limit; stopped reading the archive",
    ]);
    expect(big.summary.complete).toBe(false);
  });
});

describe('7z: encryption', () => {
  let passwordFile: string;
  let wrongFile: string;
  beforeAll(async () => {
    passwordFile = path.join(dir, '7z.pw');
    wrongFile = path.join(dir, 'wrong.pw');
    await writeFile(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
    await writeFile(wrongFile, 'tr0ub4dor&3\n', { mode: 0o600 });
  });

  const files = () => ({ 'docs/GPL-3': sources.get('docs/GPL-3')!, 'bin/ls': sources.get('bin/ls')! });

  it('reads an encrypted archive with the password file, fed to 7-Zip on stdin (never its command line)', async () => {
    const archive = await make('enc', files(), '-pcorrect horse battery staple');
    const { summary, visitor } = await read(archive, {}, { passwordFile });
    expect(text(visitor)).toEqual([]);
    expect(visitor.entries.find((entry) => entry.path === 'bin/ls')!.sha256).toBe(
      sha256(sources.get('bin/ls')!),
    );
    expect(summary.complete).toBe(true);
  });

  it('says an encrypted archive needs snapshots.passwordFile, and that a password is wrong', async () => {
    const archive = await make('enc2', files(), '-pcorrect horse battery staple');
    const none = await read(archive);
    expect(text(none.visitor)).toEqual([
      expect.stringMatching(
        /^read-error : 2 entries are encrypted \(7z AES, e\.g\. entry '.+'\) and the set has no snapshots\.passwordFile to read them$/,
      ),
    ]);
    expect(none.summary.complete).toBe(false);
    const wrong = await read(archive, {}, { passwordFile: wrongFile });
    expect(text(wrong.visitor).at(-1)).toMatch(/Wrong password\?.*\(check snapshots\.passwordFile\)$/);
    expect(wrong.summary.complete).toBe(false);
  });

  it('reads an archive with encrypted names (-mhe=on) only with the right password', async () => {
    const archive = await make('enc-headers', files(), '-pcorrect horse battery staple', '-mhe=on');
    expect(text((await read(archive)).visitor)).toEqual([
      expect.stringMatching(
        /^read-error : the archive's names are encrypted and the set has no snapshots\.passwordFile/,
      ),
    ]);
    expect(text((await read(archive, {}, { passwordFile: wrongFile })).visitor)).toEqual([
      expect.stringMatching(/^read-error : wrong password in .*wrong\.pw \(7-Zip: .*Wrong password/),
    ]);
    const right = await read(archive, {}, { passwordFile });
    expect(right.summary.complete).toBe(true);
    expect(right.visitor.paths().sort()).toEqual(['bin', 'bin/ls', 'docs', 'docs/GPL-3']);
  });
});

describe('7z: stopping', () => {
  it('kills 7-Zip when the read is aborted (a stopped scan or drill)', async () => {
    const archive = await make(
      'abort',
      { 'a.txt': 'first', 'big.bin': randomBytes(8 * 1024 * 1024), 'z.txt': 'last' },
      '-ms=off',
      '-mx=0',
    );
    const controller = new AbortController();
    const visitor = recordingVisitor();
    const original = visitor.entry.bind(visitor);
    visitor.entry = async (entry, body) => {
      if (entry.path === 'big.bin') controller.abort();
      await original(entry, body);
    };
    const summary = await sevenZipReader.read(
      { ...bufferInput('test.7z', archive), signal: controller.signal },
      visitor,
      DEFAULT_LIMITS,
    );
    expect(summary.complete).toBe(false);
    expect(visitor.paths()).not.toContain('z.txt');
    expect(visitor.problems.at(-1)).toMatchObject({
      kind: 'read-error',
      detail: expect.stringMatching(/read aborted/),
    });
  });
});

describe('7z: the tool', () => {
  it('says how to install 7-Zip when it is missing', async () => {
    const archive = await make('tool', { a: 'x' });
    const saved = process.env.VOUCH_7ZZ;
    process.env.VOUCH_7ZZ = '/nonexistent/7zz';
    process.env.VOUCH_7Z = '/nonexistent/7z';
    try {
      const { visitor } = await read(archive);
      expect(text(visitor)).toEqual([
        'read-error : cannot list test.7z: 7zz or 7z is not installed: install it (Debian/Ubuntu: apt-get install 7zip), or set VOUCH_7ZZ to its path',
      ]);
    } finally {
      if (saved === undefined) delete process.env.VOUCH_7ZZ;
      else process.env.VOUCH_7ZZ = saved;
      delete process.env.VOUCH_7Z;
    }
  });

  it('is Debian 7-Zip as the tests expect', () => {
    expect(spawnSync('7zz', { encoding: 'utf8' }).stdout).toMatch(/7-Zip/);
  });
});
