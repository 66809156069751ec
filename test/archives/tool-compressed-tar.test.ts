/**
 * .tar.xz, .tar.bz2 and .tar.lz4 go through the host's xz, bzip2 and lz4 into the same tar reader
 * as .tar.gz: the same archives (normal, hostile, damaged, bombs) give the same entries and
 * problems, plus each tool's own integrity errors.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type ArchiveLimits, type EntryReader } from '../../agent/archives/entry-reader.js';
import {
  tarBz2Reader,
  tarGzReader,
  tarLz4Reader,
  tarReader,
  tarXzReader,
} from '../../agent/archives/tar-reader.js';
import { bufferInput, fileInput, recordingVisitor, sha256 } from '../helpers/buffer-input.js';
import { paxHeader, tarArchive, tarEntry, zeroFileTar } from '../helpers/hostile-archives.js';

/** The host tools, as system-deps.sh installs them: fail loudly without them. */
const TOOLS = {
  xz: { reader: tarXzReader, compress: ['xz', '-c', '-6'] },
  bzip2: { reader: tarBz2Reader, compress: ['bzip2', '-c', '-9'] },
  lz4: { reader: tarLz4Reader, compress: ['lz4', '-c', '-q'] },
} as const;
type Tool = keyof typeof TOOLS;
const tools = Object.keys(TOOLS) as Tool[];

function compress(tool: Tool, input: Buffer): Buffer {
  const [command, ...args] = TOOLS[tool].compress;
  return execFileSync(command, args, { input, maxBuffer: 1024 ** 3 });
}

async function compressStream(tool: Tool, chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const [command, ...args] = TOOLS[tool].compress;
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  Readable.from(chunks).pipe(child.stdin);
  const out: Buffer[] = [];
  for await (const chunk of child.stdout) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

async function read(reader: EntryReader, archive: Buffer, limits: Partial<ArchiveLimits> = {}) {
  const visitor = recordingVisitor();
  const summary = await reader.read(bufferInput(`test.${reader.format}`, archive), visitor, {
    ...DEFAULT_LIMITS,
    ...limits,
  });
  return { summary, visitor };
}

const file = (name: string, data: Buffer | string) => tarEntry({ name }, Buffer.from(data));

describe.each(tools)('tar.%s: normal archives', (tool) => {
  let dir: string;
  const sources = new Map<string, Buffer>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `vouch-tar-${tool}-`));
    const src = path.join(dir, 'src');
    sources.set('GPL-3', await readFile('/usr/share/common-licenses/GPL-3'));
    sources.set('bin/ls', await readFile('/bin/ls'));
    sources.set('empty', Buffer.alloc(0));
    sources.set('nested/random.bin', randomBytes(1536 * 1024 + 7));
    sources.set(`long/${'n'.repeat(110)}.txt`, Buffer.from('a name longer than 100 bytes\n'));
    for (const [name, data] of sources) {
      await mkdir(path.dirname(path.join(src, name)), { recursive: true });
      await writeFile(path.join(src, name), data);
    }
    await symlink('GPL-3', path.join(src, 'link'));
    const tar = execFileSync('tar', ['-C', src, '--format=pax', '-cf', '-', '.'], { maxBuffer: 1024 ** 3 });
    await writeFile(path.join(dir, `a.tar.${tool}`), compress(tool, tar));
    // Concatenated streams / frames, as parallel compressors (pxz, pbzip2) write them.
    const half = Math.floor(tar.length / 2) + 123;
    await writeFile(
      path.join(dir, `multi.tar.${tool}`),
      Buffer.concat([compress(tool, tar.subarray(0, half)), compress(tool, tar.subarray(half))]),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['a', 'multi'])('visits every entry of %s with correct sizes and bodies', async (name) => {
    const visitor = recordingVisitor();
    const summary = await TOOLS[tool].reader.read(
      await fileInput(path.join(dir, `${name}.tar.${tool}`)),
      visitor,
      DEFAULT_LIMITS,
    );
    expect(visitor.problems).toEqual([]);
    const files = visitor.entries.filter((entry) => entry.type === 'file');
    expect(files.map((entry) => entry.path).sort()).toEqual([...sources.keys()].sort());
    for (const entry of files) expect(entry.sha256, entry.path).toBe(sha256(sources.get(entry.path)!));
    expect(visitor.entries.find((entry) => entry.path === 'link')).toMatchObject({
      type: 'symlink',
      linkTarget: 'GPL-3',
    });
    expect(summary).toEqual({
      entries: visitor.entries.length,
      bytes: [...sources.values()].reduce((sum, data) => sum + data.length, 0),
      complete: true,
    });
  });
});

/** The hostile tars of tar-reader.test.ts, whose exact problems that file pins for plain tar. */
const HOSTILE: Record<string, Buffer> = {
  traversal: tarArchive(
    file('ok1.txt', 'one'),
    file('../etc/passwd', 'root::0:0'),
    file('/etc/shadow', 'x'),
    file('a/../../b', 'x'),
    file('ok2.txt', 'two'),
  ),
  'drive letters': tarArchive(file('C:/Windows/win.ini', 'x'), file('d:\\boot.ini', 'x')),
  'control characters': tarArchive(
    paxHeader({ path: 'evil\u0000.txt' }),
    file('placeholder', 'x'),
    file('new\nline', 'x'),
    file('fine', 'x'),
  ),
  'invalid UTF-8': tarArchive(
    tarEntry({ name: Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe]) }, Buffer.from('x')),
  ),
  'symlink escapes': tarArchive(
    tarEntry({ name: 'link', type: '2', linkname: '/etc' }),
    file('link/passwd', 'root::0:0'),
    tarEntry({ name: 'up', type: '2', linkname: '../../x' }),
  ),
  hardlinks: tarArchive(
    tarEntry({ name: 'shadow', type: '1', linkname: '../../etc/shadow' }),
    tarEntry({ name: 'early', type: '1', linkname: 'data.txt' }),
    file('data.txt', 'data'),
    tarEntry({ name: 'same', type: '1', linkname: 'data.txt' }),
  ),
  devices: tarArchive(
    tarEntry({ name: 'dev/null', type: '3' }),
    tarEntry({ name: 'dev/sda', type: '4' }),
    tarEntry({ name: 'pipe', type: '6' }, Buffer.from('fifo bytes')),
    file('after.txt', 'still read'),
  ),
  twins: tarArchive(
    file('a.txt', 'first'),
    file('./a.txt', 'second'),
    file('caf\u00e9', 'composed'),
    file('cafe\u0301', 'decomposed'),
  ),
  'PAX path override': tarArchive(
    paxHeader({ path: '../../evil' }),
    file('innocent.txt', 'payload'),
    file('next.txt', 'next'),
  ),
};

describe.each(tools)('tar.%s: the hostile-archive suite', (tool) => {
  it.each(Object.keys(HOSTILE))('%s: the same entries and problems as the plain tar', async (name) => {
    const plain = await read(tarReader, HOSTILE[name]!);
    expect(plain.visitor.problems.length).toBeGreaterThan(0);
    const compressed = await read(TOOLS[tool].reader, compress(tool, HOSTILE[name]!));
    expect(compressed.visitor.entries).toEqual(plain.visitor.entries);
    expect(compressed.visitor.problems).toEqual(plain.visitor.problems);
    expect(compressed.summary).toEqual(plain.summary);
    // And .tar.gz, the reference the issue names, agrees.
    expect((await read(tarGzReader, gzipSync(HOSTILE[name]!))).visitor.problems).toEqual(
      plain.visitor.problems,
    );
  });
});

describe.each(tools)('tar.%s: damaged archives', (tool) => {
  const small = Buffer.from('small file\n');
  const archive = tarArchive(
    file('small.txt', small),
    file('large.bin', randomBytes(2_000_000)),
    file('last.txt', 'last'),
  );

  it('reports an archive cut mid-entry as a read-error naming the entry, quoting the tool', async () => {
    const compressed = compress(tool, archive);
    const { summary, visitor } = await read(
      TOOLS[tool].reader,
      compressed.subarray(0, Math.floor(compressed.length * 0.6)),
    );
    expect(visitor.paths()).toEqual(['small.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'large.bin',
        detail: expect.stringMatching(
          new RegExp(
            `^archive ended inside entry 'large\\.bin' after \\d+ of 2000000 bytes \\(${tool} data is truncated: .+\\)$`,
          ),
        ),
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  it("reports a changed byte as corrupt data (the format's own check), never as clean", async () => {
    const compressed = Buffer.from(compress(tool, archive));
    compressed[Math.floor(compressed.length / 2)]! ^= 0x55;
    const { summary, visitor } = await read(TOOLS[tool].reader, compressed);
    expect(visitor.problems).toHaveLength(1);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'read-error',
      detail: expect.stringMatching(new RegExp(`${tool} data is corrupt: `)),
    });
    expect(summary.complete).toBe(false);
  });

  it('reports bytes that are not this compression at all', async () => {
    const { summary, visitor } = await read(TOOLS[tool].reader, archive);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: '',
        detail: expect.stringMatching(new RegExp(`^${tool} data is corrupt: .+ before the first entry$`)),
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  it('stops a bomb (200 MiB of zeros) early with maxRatio 100', async () => {
    const bombSize = 200 * 1024 * 1024;
    const bomb = await compressStream(tool, zeroFileTar('zeros.bin', bombSize));
    const { summary, visitor } = await read(TOOLS[tool].reader, bomb, { maxRatio: 100 });
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'zeros.bin',
        detail: expect.stringMatching(
          /^archive expands more than 100× \(\d+ bytes from \d+ compressed bytes\); stopped inside entry 'zeros\.bin'$/,
        ),
      },
    ]);
    expect(summary.bytes).toBeLessThan(bombSize / 4);
    expect(summary.complete).toBe(false);
  });

  it('says which Debian package brings the tool when it is missing', async () => {
    const variable = `VOUCH_${tool.toUpperCase()}`;
    process.env[variable] = '/nonexistent';
    try {
      const { visitor } = await read(TOOLS[tool].reader, compress(tool, archive));
      const packages = { xz: 'xz-utils', bzip2: 'bzip2', lz4: 'lz4' };
      expect(visitor.problems).toEqual([
        {
          kind: 'read-error',
          path: '',
          detail: expect.stringContaining(
            `${tool} is not installed: install it (Debian/Ubuntu: apt-get install ${packages[tool]})`,
          ),
        },
      ]);
    } finally {
      delete process.env[variable];
    }
  });
});

describe('tar.xz: hostile xz streams', () => {
  it('refuses a stream that asks for a dictionary over the decoder memory limit, before allocating it', async () => {
    // xz --lzma2=dict=1536MiB needs ~1.5 GiB to decode: over the 512 MiB limit.
    const input = tarArchive(file('a.txt', 'tiny'));
    const hostile = execFileSync('xz', ['-c', '--lzma2=preset=0,dict=1536MiB', '--memlimit-compress=4GiB'], {
      input,
    });
    const { summary, visitor } = await read(tarXzReader, hostile);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: '',
        detail: expect.stringMatching(/^xz data is corrupt: Memory usage limit reached/),
      },
    ]);
    expect(summary.complete).toBe(false);
  });
});
