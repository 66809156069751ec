import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type ArchiveLimits, type EntryReader } from '../../agent/archives/entry-reader.js';
import { tarGzReader, tarReader, tarZstReader } from '../../agent/archives/tar-reader.js';
import {
  bufferInput,
  fileInput,
  generatedInput,
  recordingVisitor,
  sha256,
  type RecordingVisitor,
} from '../helpers/buffer-input.js';
import {
  gzipAll,
  headerOffset,
  manyEmptyEntries,
  paxHeader,
  tarArchive,
  tarEntry,
  tarHeader,
  zeroFileTar,
} from '../helpers/hostile-archives.js';

/** zstd is a required dev dependency (scripts/system-deps.sh installs it): fail loudly without it. */
function zstd(input: Buffer, ...args: string[]): Buffer {
  return execFileSync('/usr/bin/zstd', ['-q', '-c', ...args], { input, maxBuffer: 1024 ** 3 });
}

async function zstdStream(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const child = spawn('/usr/bin/zstd', ['-q', '-c', '-3'], { stdio: ['pipe', 'pipe', 'inherit'] });
  Readable.from(chunks).pipe(child.stdin);
  const out: Buffer[] = [];
  for await (const chunk of child.stdout) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

async function read(
  reader: EntryReader,
  archive: Buffer,
  limits: Partial<ArchiveLimits> = {},
  visitor = recordingVisitor(),
) {
  const summary = await reader.read(bufferInput(`test.${reader.format}`, archive), visitor, {
    ...DEFAULT_LIMITS,
    ...limits,
  });
  return { summary, visitor };
}

function file(name: string, data: Buffer | string): Buffer {
  return tarEntry({ name }, Buffer.from(data));
}

const text = (visitor: RecordingVisitor) => visitor.problems.map((p) => `${p.kind} ${p.path}: ${p.detail}`);

describe('tar family: normal archives', () => {
  let dir: string;
  const sources = new Map<string, Buffer>();
  const longName = `long/${'n'.repeat(110)}.txt`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vouch-tar-'));
    const src = path.join(dir, 'src');
    sources.set('hello.txt', Buffer.from('hello, world\n'));
    sources.set('empty', Buffer.alloc(0));
    sources.set('nested/deeper/random.bin', randomBytes(1536 * 1024 + 7));
    sources.set(longName, Buffer.from('a name longer than 100 bytes needs a GNU or PAX header\n'));
    sources.set('caf\u00e9.txt', Buffer.from('non-ASCII name\n'));
    for (const [name, data] of sources) {
      await mkdir(path.dirname(path.join(src, name)), { recursive: true });
      await writeFile(path.join(src, name), data);
    }
    await symlink('hello.txt', path.join(src, 'link'));
    execFileSync('tar', ['-C', src, '--format=gnu', '-cf', path.join(dir, 'gnu.tar'), '.']);
    execFileSync('tar', ['-C', src, '--format=pax', '-cf', path.join(dir, 'pax.tar'), '.']);
    execFileSync('tar', ['-C', src, '-czf', path.join(dir, 'a.tar.gz'), '.']);
    await writeFile(path.join(dir, 'a.tar.zst'), zstd(await readFile(path.join(dir, 'gnu.tar'))));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

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
      linkTarget: 'hello.txt',
      size: 0,
    });
    expect(
      visitor.entries
        .filter((entry) => entry.type === 'directory')
        .map((entry) => entry.path)
        .sort(),
    ).toEqual(['long', 'nested', 'nested/deeper']);
  }

  it.each([
    ['tar (GNU format)', tarReader, 'gnu.tar'],
    ['tar (PAX format)', tarReader, 'pax.tar'],
    ['tar.gz', tarGzReader, 'a.tar.gz'],
    ['tar.zst', tarZstReader, 'a.tar.zst'],
  ] as const)('visits every entry of a %s with correct sizes and bodies', async (_label, reader, name) => {
    const visitor = recordingVisitor();
    const summary = await reader.read(await fileInput(path.join(dir, name)), visitor, DEFAULT_LIMITS);
    expectWholeTree(visitor);
    expect(summary.complete).toBe(true);
    expect(summary.entries).toBe(visitor.entries.length);
    expect(summary.bytes).toBe([...sources.values()].reduce((sum, data) => sum + data.length, 0));
  });

  it('reads multi-member gzip and multi-frame zstd (with a skippable frame)', async () => {
    const tar = await readFile(path.join(dir, 'gnu.tar'));
    const half = Math.floor(tar.length / 2) + 123;
    const gz = Buffer.concat([gzipSync(tar.subarray(0, half)), gzipSync(tar.subarray(half))]);
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]); // as pzstd writes
    const zst = Buffer.concat([
      zstd(tar.subarray(0, half)),
      skippable,
      zstd(tar.subarray(half), '--no-check'),
    ]);
    for (const [reader, archive] of [
      [tarGzReader, gz],
      [tarZstReader, zst],
    ] as const) {
      const { summary, visitor } = await read(reader, archive);
      expectWholeTree(visitor);
      expect(summary.complete).toBe(true);
    }
  });

  it('skips the ./ root entry of `tar -C dir .` without a problem', async () => {
    const { visitor } = await read(tarReader, await readFile(path.join(dir, 'gnu.tar')));
    expect(visitor.entries.some((entry) => entry.rawName === './')).toBe(false);
    expect(visitor.problems).toEqual([]);
  });
});

describe('tar family: hostile names and entry types', () => {
  it('reports ../ names and absolute names, and reads the entries around them', async () => {
    const archive = tarArchive(
      file('ok1.txt', 'one'),
      file('../etc/passwd', 'root::0:0'),
      file('/etc/shadow', 'x'),
      file('a/../../b', 'x'),
      file('ok2.txt', 'two'),
    );
    const { summary, visitor } = await read(tarReader, archive);
    expect(visitor.paths()).toEqual(['ok1.txt', 'ok2.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: '../etc/passwd',
        detail: "entry '../etc/passwd': path escapes the archive root",
      },
      { kind: 'unsafe-entry', path: '/etc/shadow', detail: "entry '/etc/shadow': path is absolute" },
      { kind: 'unsafe-entry', path: 'a/../../b', detail: "entry 'a/../../b': path escapes the archive root" },
    ]);
    expect(summary.complete).toBe(true);
  });

  it('reports Windows drive-letter names', async () => {
    const { visitor } = await read(
      tarReader,
      tarArchive(file('C:/Windows/win.ini', 'x'), file('d:\\boot.ini', 'x')),
    );
    expect(visitor.entries).toEqual([]);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: 'C:/Windows/win.ini',
        detail: "entry 'C:/Windows/win.ini': path starts with a Windows drive letter",
      },
      {
        kind: 'unsafe-entry',
        path: 'd:\\boot.ini',
        detail: "entry 'd:\\\\boot.ini': path starts with a Windows drive letter",
      },
    ]);
  });

  it('reports a NUL in a (PAX) name and control characters in a ustar name', async () => {
    const archive = tarArchive(
      paxHeader({ path: 'evil\u0000.txt' }),
      file('placeholder', 'x'),
      file('new\nline', 'x'),
      file('fine', 'x'),
    );
    const { visitor } = await read(tarReader, archive);
    expect(visitor.paths()).toEqual(['fine']);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: 'evil\u0000.txt',
        detail: "entry 'evil\\u0000.txt': name contains control character U+0000",
      },
      {
        kind: 'unsafe-entry',
        path: 'new\nline',
        detail: "entry 'new\\u000aline': name contains control character U+000A",
      },
    ]);
  });

  it('reports names that are not valid UTF-8', async () => {
    const archive = tarArchive(
      tarEntry({ name: Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe]) }, Buffer.from('x')),
    );
    const { visitor } = await read(tarReader, archive);
    expect(visitor.entries).toEqual([]);
    expect(visitor.problems).toHaveLength(1);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'unsafe-entry',
      path: 'bad\ufffd\ufffd',
      detail: expect.stringMatching(/^entry 'bad\ufffd\ufffd': name is not valid UTF-8/),
    });
  });

  it('records a symlink to /etc and refuses a file written through it (link/passwd)', async () => {
    const archive = tarArchive(
      tarEntry({ name: 'link', type: '2', linkname: '/etc' }),
      file('link/passwd', 'root::0:0'),
      tarEntry({ name: 'up', type: '2', linkname: '../../x' }),
    );
    const { visitor } = await read(tarReader, archive);
    expect(visitor.entries.map(({ path: p, type, linkTarget }) => ({ path: p, type, linkTarget }))).toEqual([
      { path: 'link', type: 'symlink', linkTarget: '/etc' },
      { path: 'up', type: 'symlink', linkTarget: '../../x' },
    ]);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: 'link/passwd',
        detail: "entry 'link/passwd': parent 'link' is a symlink; the entry would be written through it",
      },
    ]);
  });

  it('refuses hardlinks to outside the root and to targets not seen earlier', async () => {
    const archive = tarArchive(
      tarEntry({ name: 'shadow', type: '1', linkname: '../../etc/shadow' }),
      tarEntry({ name: 'early', type: '1', linkname: 'data.txt' }),
      file('data.txt', 'data'),
      tarEntry({ name: 'same', type: '1', linkname: 'data.txt' }),
    );
    const { visitor } = await read(tarReader, archive);
    expect(visitor.entries.map(({ path: p, type, linkTarget }) => ({ path: p, type, linkTarget }))).toEqual([
      { path: 'data.txt', type: 'file', linkTarget: undefined },
      { path: 'same', type: 'hardlink', linkTarget: 'data.txt' },
    ]);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: 'shadow',
        detail: "entry 'shadow': hardlink target '../../etc/shadow': path escapes the archive root",
      },
      {
        kind: 'unsafe-entry',
        path: 'early',
        detail: "entry 'early': hardlink target 'data.txt' is not an earlier entry of the archive",
      },
    ]);
  });

  it('refuses character devices, block devices and FIFOs without visiting them', async () => {
    const archive = tarArchive(
      tarEntry({ name: 'dev/null', type: '3' }),
      tarEntry({ name: 'dev/sda', type: '4' }),
      tarEntry({ name: 'pipe', type: '6' }, Buffer.from('bytes a FIFO should not have')),
      file('after.txt', 'still read'),
    );
    const { summary, visitor } = await read(tarReader, archive);
    expect(visitor.paths()).toEqual(['after.txt']);
    expect(visitor.entries[0]!.sha256).toBe(sha256(Buffer.from('still read')));
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: 'dev/null',
        detail: "entry 'dev/null': device entries are never restored",
      },
      { kind: 'unsafe-entry', path: 'dev/sda', detail: "entry 'dev/sda': device entries are never restored" },
      { kind: 'unsafe-entry', path: 'pipe', detail: "entry 'pipe': FIFO entries are never restored" },
    ]);
    expect(summary.complete).toBe(true);
  });

  it('reads GNU incremental directories (typeflag D) as directories and other unknown types as unsafe', async () => {
    const archive = tarArchive(
      tarEntry({ name: 'dir/', type: 'D' }, Buffer.from('Yfile\0\0')),
      file('dir/file', 'x'),
      tarEntry({ name: 'sparse.img', type: 'S' }, Buffer.alloc(600)),
      file('after', 'y'),
    );
    const { visitor } = await read(tarReader, archive);
    expect(visitor.entries.map(({ path, type }) => [path, type])).toEqual([
      ['dir', 'directory'],
      ['dir/file', 'file'],
      ['after', 'file'],
    ]);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: 'sparse.img',
        detail: "entry 'sparse.img': entries of this type are not supported and never restored",
      },
    ]);
  });

  it('refuses duplicate names and NFC/NFD twin names (é composed vs decomposed)', async () => {
    const archive = tarArchive(
      file('a.txt', 'first'),
      file('./a.txt', 'second'),
      file('caf\u00e9', 'composed'),
      file('cafe\u0301', 'decomposed'),
    );
    const { visitor } = await read(tarReader, archive);
    expect(visitor.entries.map((entry) => [entry.path, entry.sha256])).toEqual([
      ['a.txt', sha256(Buffer.from('first'))],
      ['caf\u00e9', sha256(Buffer.from('composed'))],
    ]);
    expect(visitor.problems).toEqual([
      { kind: 'unsafe-entry', path: 'a.txt', detail: "entry 'a.txt': duplicate of an earlier entry" },
      {
        kind: 'unsafe-entry',
        path: 'caf\u00e9',
        detail:
          "entry 'caf\u00e9': collides with an earlier entry whose name differs only in Unicode normalisation",
      },
    ]);
  });

  it('sends a PAX path override (../../evil) through the safe-path rules', async () => {
    const archive = tarArchive(
      paxHeader({ path: '../../evil' }),
      file('innocent.txt', 'payload'),
      file('next.txt', 'next'),
    );
    const { visitor } = await read(tarReader, archive);
    expect(visitor.paths()).toEqual(['next.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: '../../evil',
        detail: "entry '../../evil': path escapes the archive root",
      },
    ]);
  });
});

describe('tar family: damaged archives', () => {
  const small = Buffer.from('small file\n');
  const big = randomBytes(100_000);
  const archive = tarArchive(file('small.txt', small), file('big.bin', big), file('last.txt', 'last'));

  it('reports a tar cut mid-entry as a read-error naming the entry, complete:false', async () => {
    const cut = archive.subarray(0, headerOffset(archive, 'big.bin') + 512 + 5000);
    const { summary, visitor } = await read(tarReader, cut);
    expect(visitor.paths()).toEqual(['small.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'big.bin',
        detail: "archive ended inside entry 'big.bin' after 5000 of 100000 bytes",
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  it('reports a tar.gz cut mid-entry as a read-error naming the entry', async () => {
    const gz = gzipSync(archive);
    const { summary, visitor } = await read(tarGzReader, gz.subarray(0, Math.floor(gz.length * 0.6)));
    expect(visitor.paths()).toEqual(['small.txt']);
    expect(visitor.problems).toHaveLength(1);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'read-error',
      path: 'big.bin',
      detail: expect.stringMatching(
        /^archive ended inside entry 'big\.bin' after \d+ of 100000 bytes \(gzip data is truncated/,
      ),
    });
    expect(summary.complete).toBe(false);
  });

  it('reports a tar cut exactly between entries (no end-of-archive marker)', async () => {
    const cut = archive.subarray(0, headerOffset(archive, 'last.txt'));
    const { summary, visitor } = await read(tarReader, cut);
    expect(visitor.paths()).toEqual(['small.txt', 'big.bin']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: '',
        detail:
          "archive ends without the end-of-archive marker (two zero blocks): it was probably cut after entry 'big.bin'",
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  it('reports a gzip with a bad CRC as a read-error after visiting every entry before it', async () => {
    const gz = gzipSync(archive);
    gz[gz.length - 8]! ^= 0xff;
    const { summary, visitor } = await read(tarGzReader, gz);
    expect(visitor.paths()).toEqual(['small.txt', 'big.bin', 'last.txt']);
    expect(visitor.entries[1]!.sha256).toBe(sha256(big));
    expect(visitor.problems).toHaveLength(1);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'read-error',
      path: '',
      detail: expect.stringMatching(
        /^gzip data is corrupt: CRC-32 mismatch in member 1 .* after entry 'last\.txt'$/,
      ),
    });
    expect(summary.complete).toBe(false);
  });

  it('reports a zstd frame whose content checksum does not match', async () => {
    const zst = zstd(archive);
    zst[zst.length - 1]! ^= 0xff;
    const { summary, visitor } = await read(tarZstReader, zst);
    expect(visitor.paths()).toEqual(['small.txt', 'big.bin', 'last.txt']);
    expect(visitor.problems).toHaveLength(1);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'read-error',
      detail: expect.stringMatching(/zstd data is corrupt: content checksum mismatch in frame 1/),
    });
    expect(summary.complete).toBe(false);
  });

  it('reports a tar.zst cut mid-entry as a read-error naming the entry', async () => {
    // zstd only emits whole blocks (up to 128 KiB): the entry must span several.
    const zst = zstd(tarArchive(file('small.txt', small), file('large.bin', randomBytes(1_000_000))));
    const { summary, visitor } = await read(tarZstReader, zst.subarray(0, Math.floor(zst.length * 0.6)));
    expect(visitor.paths()).toEqual(['small.txt']);
    expect(visitor.problems).toHaveLength(1);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'read-error',
      path: 'large.bin',
      detail: expect.stringMatching(
        /^archive ended inside entry 'large\.bin' after \d+ of 1000000 bytes \(zstd data ends inside a frame\)$/,
      ),
    });
    expect(summary.complete).toBe(false);
  });

  it('reports a corrupt tar header as a read-error naming the entry before it', async () => {
    const damaged = Buffer.from(archive);
    damaged[headerOffset(archive, 'last.txt') + 1]! ^= 0x55;
    const { summary, visitor } = await read(tarReader, damaged);
    expect(visitor.paths()).toEqual(['small.txt', 'big.bin']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: '',
        detail: expect.stringMatching(/^tar data is corrupt after entry 'big\.bin': Invalid tar header/),
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  it('reports an input that cannot be opened', async () => {
    const visitor = recordingVisitor();
    const input = {
      ...bufferInput('s3://b/k.tar', archive),
      open: () => Promise.reject(new Error('AccessDenied')),
    };
    const summary = await tarReader.read(input, visitor, DEFAULT_LIMITS);
    expect(visitor.problems).toEqual([
      { kind: 'read-error', path: '', detail: 'cannot open s3://b/k.tar: AccessDenied' },
    ]);
    expect(summary).toEqual({ entries: 0, bytes: 0, complete: false });
  });

  it('reports a stream that fails mid-read, naming the entry being read', async () => {
    const visitor = recordingVisitor();
    const input = {
      ...bufferInput('s3://b/k.tar', archive),
      open: async () =>
        Readable.from(
          (async function* () {
            yield archive.subarray(0, headerOffset(archive, 'big.bin') + 512 + 4096);
            throw new Error('ECONNRESET');
          })(),
        ),
    };
    const summary = await tarReader.read(input, visitor, DEFAULT_LIMITS);
    expect(visitor.paths()).toEqual(['small.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'big.bin',
        detail: "entry 'big.bin': reading s3://b/k.tar failed: ECONNRESET (after 4096 of 100000 bytes)",
      },
    ]);
    expect(summary.complete).toBe(false);
  });
});

describe('tar family: visitors', () => {
  const archive = tarArchive(
    file('one', 'a'.repeat(70_000)),
    file('two', 'b'.repeat(70_000)),
    file('three', 'c'),
  );

  it('turns a visitor rejection into a read-error for that entry and carries on', async () => {
    const visitor = recordingVisitor();
    const original = visitor.entry.bind(visitor);
    visitor.entry = async (entry, body) => {
      if (entry.path === 'two') throw new Error('digest sink failed');
      await original(entry, body);
    };
    const summary = await tarReader.read(bufferInput('t.tar', archive), visitor, DEFAULT_LIMITS);
    expect(visitor.paths()).toEqual(['one', 'three']);
    expect(visitor.problems).toEqual([
      { kind: 'read-error', path: 'two', detail: "entry 'two': digest sink failed" },
    ]);
    expect(summary.complete).toBe(true);
  });

  it('lets a visitor stop reading a body early and still reads the next entries', async () => {
    const visitor = recordingVisitor();
    const original = visitor.entry.bind(visitor);
    visitor.entry = async (entry, body) => {
      if (entry.path === 'one' && body) {
        for await (const _chunk of body) break;
        return;
      }
      await original(entry, body);
    };
    const summary = await tarReader.read(bufferInput('t.tar', archive), visitor, DEFAULT_LIMITS);
    expect(visitor.entries.map((entry) => [entry.path, entry.sha256])).toEqual([
      ['two', sha256(Buffer.from('b'.repeat(70_000)))],
      ['three', sha256(Buffer.from('c'))],
    ]);
    expect(visitor.problems).toEqual([]);
    expect(summary.complete).toBe(true);
  });
});

/** Forces a full GC so heap numbers mean something (vitest workers run without --expose-gc). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('tar family: caps', () => {
  const count = 100_000;
  const size = count * 512 + 1024;

  it('visits 100k empty entries with flat memory', async () => {
    collectGarbage();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const visitor = recordingVisitor({ countOnly: true });
    const count_ = visitor.entry.bind(visitor);
    visitor.entry = async (entry, body) => {
      await count_(entry, body);
      if (visitor.count % 20_000 === 0) {
        // Live memory mid-read (the name guard is still alive here, unlike after the read).
        collectGarbage();
        const now = process.memoryUsage();
        peakHeap = Math.max(peakHeap, now.heapUsed);
        peakRss = Math.max(peakRss, now.rss);
      }
    };
    const summary = await tarReader.read(
      generatedInput('many.tar', size, () => manyEmptyEntries(count)),
      visitor,
      DEFAULT_LIMITS,
    );
    expect(visitor.problems).toEqual([]);
    expect(visitor.count).toBe(count);
    expect(summary).toEqual({ entries: count, bytes: 0, complete: true });
    // The guard keeps the names (O(entries), ~100 bytes each), nothing per byte or per entry body.
    expect(peakHeap - before.heapUsed).toBeLessThan(48 * 1024 * 1024);
    expect(peakRss - before.rss).toBeLessThan(100 * 1024 * 1024);
  });

  it('stops at maxEntries with a read-error', async () => {
    const visitor = recordingVisitor({ countOnly: true });
    const summary = await tarReader.read(
      generatedInput('many.tar', size, () => manyEmptyEntries(count)),
      visitor,
      { ...DEFAULT_LIMITS, maxEntries: 1000 },
    );
    expect(visitor.count).toBe(1000);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: '',
        detail: "archive has more than 1000 entries (the limit); stopped before entry 'd/e-0001000'",
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  const huge = 10_000_000_000;
  const liar = tarArchive(
    file('before.txt', 'x'),
    Buffer.concat([tarHeader({ name: 'huge.bin', size: huge }), randomBytes(1000)]),
  );

  it('reports a header claiming 10 GB with little data as truncated, quickly', async () => {
    const started = Date.now();
    const { summary, visitor } = await read(tarReader, liar);
    expect(visitor.paths()).toEqual(['before.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'huge.bin',
        detail: `archive ended inside entry 'huge.bin' after ${1000 + 1024} of ${huge} bytes`,
      },
    ]);
    expect(summary.complete).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a header claiming 10 GB over maxEntryBytes before reading its data', async () => {
    const { summary, visitor } = await read(tarReader, liar, { maxEntryBytes: 2 ** 30 });
    expect(visitor.paths()).toEqual(['before.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'huge.bin',
        detail: `entry 'huge.bin' declares ${huge} bytes, over the ${2 ** 30}-byte entry limit; stopped reading the archive`,
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  it('stops at maxTotalBytes', async () => {
    const archive = tarArchive(file('a', 'x'.repeat(600)), file('b', 'y'.repeat(600)));
    const { summary, visitor } = await read(tarReader, archive, { maxTotalBytes: 1000 });
    expect(visitor.paths()).toEqual(['a']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'b',
        detail: "archive declares more than 1000 bytes in total (the limit); stopped at entry 'b'",
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  const bombSize = 200 * 1024 * 1024;

  it('stops a gzip bomb (200 MiB of zeros) early with maxRatio 100', async () => {
    const bomb = await gzipAll(zeroFileTar('zeros.bin', bombSize));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const { summary, visitor } = await read(tarGzReader, bomb, { maxRatio: 100 });
    expect(visitor.problems).toHaveLength(1);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'read-error',
      path: 'zeros.bin',
      detail: expect.stringMatching(
        /^archive expands more than 100× \(\d+ bytes from \d+ compressed bytes\); stopped inside entry 'zeros\.bin'$/,
      ),
    });
    expect(summary.complete).toBe(false);
    expect(summary.bytes).toBeLessThan(bombSize / 10);
  });

  it('stops a zstd bomb (200 MiB of zeros) early with maxRatio 100', async () => {
    const bomb = await zstdStream(zeroFileTar('zeros.bin', bombSize));
    const { summary, visitor } = await read(tarZstReader, bomb, { maxRatio: 100 });
    expect(visitor.problems).toHaveLength(1);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'read-error',
      path: 'zeros.bin',
      detail: expect.stringMatching(/^archive expands more than 100×/),
    });
    expect(summary.bytes).toBeLessThan(bombSize / 10);
  });

  it('refuses a zstd stream of 1-byte blocks under a 128 MiB window (decoder work bomb), quickly', async () => {
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (27 - 10) << 3]);
    // 100k RLE blocks of one byte (400 KB): fzstd shifts its 128 MiB window after each, ~10 minutes unguarded.
    const blocks = Buffer.alloc(4 * 100_000);
    for (let at = 0; at < blocks.length; at += 4) blocks.set([0x0a, 0x00, 0x00, 0x41], at);
    blocks[blocks.length - 4] = 0x0b; // last block
    const started = Date.now();
    const { summary, visitor } = await read(tarZstReader, Buffer.concat([header, blocks]));
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: '',
        detail: expect.stringMatching(
          /^zstd data is hostile: its blocks are too small for its 134217728-byte window/,
        ),
      },
    ]);
    expect(summary.complete).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses a zstd frame that asks for a window over 128 MiB before allocating it', async () => {
    // Frame header: magic, descriptor (no checksum, not single-segment), window descriptor 2^31.
    const hostile = Buffer.concat([
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (31 - 10) << 3]),
      Buffer.from([0x01, 0x00, 0x00, 0x00]),
    ]);
    const { summary, visitor } = await read(tarZstReader, hostile);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: '',
        detail:
          'zstd frame needs a 2147483648-byte window, over the 134217728-byte limit before the first entry',
      },
    ]);
    expect(summary.complete).toBe(false);
  });
});

describe('tar: agreeing with GNU tar', () => {
  it('applies a PAX global header to every following member, as GNU tar lists and restores them, and judges that name', async () => {
    const tar = tarArchive(
      paxHeader({ path: '../../x' }, 'g'),
      tarEntry({ name: 'ok.txt' }, Buffer.from('hello')),
      tarEntry({ name: 'two.txt' }, Buffer.from('again')),
    );
    // What GNU tar makes of the same bytes.
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-pax-global-'));
    await writeFile(path.join(dir, 'g.tar'), tar);
    expect(
      execFileSync('tar', ['-tf', path.join(dir, 'g.tar')], { encoding: 'utf8' })
        .trim()
        .split('\n'),
    ).toEqual(['../../x', '../../x']);
    const visitor = recordingVisitor();
    const summary = await tarReader.read(bufferInput('g.tar', tar), visitor, DEFAULT_LIMITS);
    expect(visitor.paths()).toEqual([]);
    expect(visitor.problems.map((found) => [found.kind, found.path])).toEqual([
      ['unsafe-entry', '../../x'],
      ['unsafe-entry', '../../x'],
    ]);
    expect(summary.complete).toBe(true);
  });

  it('keeps a per-member PAX header over the global one, as tar does', async () => {
    const tar = tarArchive(
      paxHeader({ path: 'global/name.txt' }, 'g'),
      paxHeader({ path: 'own.txt' }),
      tarEntry({ name: 'a.txt' }, Buffer.from('a')),
      tarEntry({ name: 'b.txt' }, Buffer.from('b')),
    );
    const visitor = recordingVisitor();
    await tarReader.read(bufferInput('g.tar', tar), visitor, DEFAULT_LIMITS);
    expect(visitor.paths()).toEqual(['own.txt', 'global/name.txt']);
  });
});
