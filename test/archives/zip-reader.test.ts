import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type ArchiveInput, type ArchiveLimits } from '../../agent/archives/entry-reader.js';
import { zipReader } from '../../agent/archives/zip-reader.js';
import { bufferInput, recordingVisitor, sha256 } from '../helpers/buffer-input.js';
import {
  centralFields,
  overlappingZip,
  patchBytes,
  patchCentral,
  patchMember,
  storedBytes,
  zipArchive,
} from '../helpers/hostile-archives.js';

async function read(
  zip: Buffer,
  limits: Partial<ArchiveLimits> = {},
  input: ArchiveInput = bufferInput('test.zip', zip),
) {
  const visitor = recordingVisitor();
  const summary = await zipReader.read(input, visitor, { ...DEFAULT_LIMITS, ...limits });
  return { summary, visitor };
}

const files = new Map<string, Buffer>([
  ['hello.txt', Buffer.from('hello, zip\n')],
  ['empty', Buffer.alloc(0)],
  ['nested/random.bin', randomBytes(1536 * 1024 + 3)],
  ['nested/text.txt', Buffer.from('compressible '.repeat(10_000))],
  ['caf\u00e9.txt', Buffer.from('non-ASCII name\n')],
]);

describe('zip: normal archives', () => {
  it('visits every entry of a zip with correct sizes and bodies (stored and deflated)', async () => {
    const zip = await zipArchive([
      { name: 'nested', directory: true },
      ...[...files].map(([name, data], index) => ({ name, data, compress: index % 2 === 0 })),
      { name: 'link', data: Buffer.from('hello.txt'), mode: 0o120777 },
    ]);
    const { summary, visitor } = await read(zip);
    expect(visitor.problems).toEqual([]);
    const read_ = visitor.entries.filter((entry) => entry.type === 'file');
    expect(read_.map((entry) => entry.path).sort()).toEqual([...files.keys()].sort());
    for (const entry of read_) {
      const source = files.get(entry.path)!;
      expect(entry.size, entry.path).toBe(source.length);
      expect(entry.bodyBytes, entry.path).toBe(source.length);
      expect(entry.sha256, entry.path).toBe(sha256(source));
      expect(entry.mode, entry.path).toBe(0o664);
      expect(entry.mtime?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    }
    expect(visitor.entries.find((entry) => entry.path === 'nested')).toMatchObject({
      type: 'directory',
      size: 0,
    });
    expect(visitor.entries.find((entry) => entry.path === 'link')).toMatchObject({
      type: 'symlink',
      linkTarget: 'hello.txt',
      size: 0,
    });
    expect(summary).toEqual({
      entries: files.size + 2,
      bytes: [...files.values()].reduce((sum, data) => sum + data.length, 0),
      complete: true,
    });
  });

  it('reads a zip of 2000 small members in a few range requests', async () => {
    const zip = await zipArchive(
      Array.from({ length: 2000 }, (_, i) => ({
        name: `d/f${i}`,
        data: Buffer.from(String(i)),
        compress: false,
      })),
    );
    const base = bufferInput('many.zip', zip);
    let ranges = 0;
    const input: ArchiveInput = {
      ...base,
      openRange: (start, end) => ((ranges += 1), base.openRange(start, end)),
    };
    const { summary, visitor } = await read(zip, {}, input);
    expect(visitor.problems).toEqual([]);
    expect(summary.entries).toBe(2000);
    // The read-ahead window serves the directory, the local headers and the small members' data.
    expect(ranges).toBeLessThan(10);
    expect(visitor.entries[1999]).toMatchObject({ path: 'd/f1999', sha256: sha256(Buffer.from('1999')) });
  });
});

describe('zip: hostile names and entry types', () => {
  it('reports ../ names, absolute names, drive letters and backslash escapes, and reads the rest', async () => {
    let zip = await zipArchive([
      { name: 'ok1.txt', data: Buffer.from('one') },
      { name: 'XX/evil.txt', data: Buffer.from('evil') },
      { name: 'Yabs.txt', data: Buffer.from('abs') },
      { name: 'QQ_QQ_win.txt', data: Buffer.from('win') },
      { name: 'R_/win.ini', data: Buffer.from('drive') },
      { name: 'ctl_x', data: Buffer.from('ctl') },
      { name: 'ok2.txt', data: Buffer.from('two') },
    ]);
    zip = patchBytes(zip, 'XX/evil.txt', '../evil.txt');
    zip = patchBytes(zip, 'Yabs.txt', '/abs.txt');
    zip = patchBytes(zip, 'QQ_QQ_win.txt', '..\\..\\win.txt');
    zip = patchBytes(zip, 'R_/win.ini', 'C:/win.ini');
    zip = patchBytes(zip, 'ctl_x', 'ctl\u0001x');
    const { summary, visitor } = await read(zip);
    expect(visitor.paths()).toEqual(['ok1.txt', 'ok2.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: '../evil.txt',
        detail: "entry '../evil.txt': path escapes the archive root",
      },
      { kind: 'unsafe-entry', path: '/abs.txt', detail: "entry '/abs.txt': path is absolute" },
      // zip names use '/' only; like yauzl, '\' from Windows tools is read as '/'.
      {
        kind: 'unsafe-entry',
        path: '../../win.txt',
        detail: "entry '../../win.txt': path escapes the archive root",
      },
      {
        kind: 'unsafe-entry',
        path: 'C:/win.ini',
        detail: "entry 'C:/win.ini': path starts with a Windows drive letter",
      },
      {
        kind: 'unsafe-entry',
        path: 'ctl\u0001x',
        detail: "entry 'ctl\\u0001x': name contains control character U+0001",
      },
    ]);
    expect(summary.complete).toBe(true);
  });

  it('records a symlink to /etc and refuses a file written through it (link/passwd)', async () => {
    const zip = await zipArchive([
      { name: 'link', data: Buffer.from('/etc'), mode: 0o120777 },
      { name: 'link/passwd', data: Buffer.from('root::0:0') },
    ]);
    const { visitor } = await read(zip);
    expect(visitor.entries.map(({ path, type, linkTarget }) => ({ path, type, linkTarget }))).toEqual([
      { path: 'link', type: 'symlink', linkTarget: '/etc' },
    ]);
    expect(visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: 'link/passwd',
        detail: "entry 'link/passwd': parent 'link' is a symlink; the entry would be written through it",
      },
    ]);
  });

  it('refuses char devices, block devices and FIFOs (unix modes) without visiting them', async () => {
    const zip = await zipArchive([
      { name: 'dev/tty', data: Buffer.alloc(0), mode: 0o020644 },
      { name: 'dev/sda', data: Buffer.alloc(0), mode: 0o060644 },
      { name: 'pipe', data: Buffer.alloc(0), mode: 0o010644 },
      { name: 'after.txt', data: Buffer.from('still read') },
    ]);
    const { visitor } = await read(zip);
    expect(visitor.paths()).toEqual(['after.txt']);
    expect(visitor.problems).toEqual([
      { kind: 'unsafe-entry', path: 'dev/tty', detail: "entry 'dev/tty': device entries are never restored" },
      { kind: 'unsafe-entry', path: 'dev/sda', detail: "entry 'dev/sda': device entries are never restored" },
      { kind: 'unsafe-entry', path: 'pipe', detail: "entry 'pipe': FIFO entries are never restored" },
    ]);
  });

  it('refuses duplicate names and NFC/NFD twin names (é composed vs decomposed)', async () => {
    const zip = await zipArchive([
      { name: 'a.txt', data: Buffer.from('first') },
      { name: 'a.txt', data: Buffer.from('second') },
      { name: 'caf\u00e9', data: Buffer.from('composed') },
      { name: 'cafe\u0301', data: Buffer.from('decomposed') },
    ]);
    const { visitor } = await read(zip);
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
});

describe('zip: damaged members and caps', () => {
  const big = Buffer.from('x'.repeat(100_000));

  it('reports a member whose data inflates beyond its declared size, and reads the next one', async () => {
    const zip = patchMember(
      await zipArchive([
        { name: 'liar.txt', data: big },
        { name: 'next.txt', data: Buffer.from('next') },
      ]),
      0,
      { uncompressedSize: 10 },
    );
    const { summary, visitor } = await read(zip);
    // Both were passed to the visitor; the recorder keeps only bodies it could read to the end.
    expect(visitor.count).toBe(2);
    expect(visitor.entries.map((entry) => [entry.path, entry.sha256])).toEqual([
      ['next.txt', sha256(Buffer.from('next'))],
    ]);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'liar.txt',
        detail: "entry 'liar.txt': data inflates beyond its declared 10 bytes",
      },
    ]);
    expect(summary.complete).toBe(true);
  });

  it('reports a member whose CRC-32 does not match its data', async () => {
    const zip = await zipArchive([{ name: 'flipped.txt', data: big }]);
    const { crc32 } = centralFields(zip, 0);
    const { visitor } = await read(patchMember(zip, 0, { crc32: crc32 ^ 1 }));
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'flipped.txt',
        detail: expect.stringMatching(
          /^entry 'flipped\.txt': CRC-32 mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/,
        ),
      },
    ]);
  });

  it('skips a member declaring more than maxRatio times its compressed size', async () => {
    const zip = await zipArchive([
      { name: 'zeros.bin', data: Buffer.alloc(4 * 1024 * 1024) },
      { name: 'next.txt', data: Buffer.from('next') },
    ]);
    const { summary, visitor } = await read(zip, { maxRatio: 100 });
    expect(visitor.paths()).toEqual(['next.txt']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'zeros.bin',
        detail: expect.stringMatching(
          /^entry 'zeros\.bin' declares 4194304 bytes from \d+ compressed bytes, more than 100×; not read$/,
        ),
      },
    ]);
    expect(summary.complete).toBe(true);
  });

  it('refuses an overlapping-member bomb record by record: each points at a local header that names another member', async () => {
    const zip = overlappingZip(
      await zipArchive([{ name: 'm0_____', data: Buffer.alloc(2 * 1024 * 1024) }]),
      1000,
    );
    const { summary, visitor } = await read(zip, { maxRatio: 1500 });
    // Only the record the local header really belongs to is read, not the 2 GiB the 1000 records claim.
    expect(visitor.paths()).toEqual(['m0_____']);
    expect(summary.bytes).toBe(2 * 1024 * 1024);
    expect(visitor.problems).toHaveLength(999);
    expect(visitor.problems[0]).toMatchObject({
      kind: 'unsafe-entry',
      path: 'm1_____',
      detail:
        "entry 'm1_____': its local header names it 'm0_____': tools that read local headers (streaming extractors) would write that name; not read",
    });
  });

  it('a local header that disagrees with the central directory (name, size) is unsafe-entry, built byte by byte', async () => {
    const zip = await zipArchive([
      { name: 'safe.txt', data: Buffer.from('quarterly numbers\n') },
      { name: 'next.txt', data: Buffer.from('next') },
    ]);
    // The local header says ../../../x (same length as safe.txt is not needed: only the name bytes change).
    const { localHeader } = centralFields(zip, 0);
    const hostile = Buffer.from(zip);
    hostile.write('../x.txt', localHeader + 30, 'latin1'); // 8 bytes, as long as 'safe.txt'
    const named = await read(hostile);
    expect(named.visitor.paths()).toEqual(['next.txt']);
    expect(named.visitor.problems).toEqual([
      {
        kind: 'unsafe-entry',
        path: 'safe.txt',
        detail:
          "entry 'safe.txt': its local header names it '../x.txt': tools that read local headers (streaming extractors) would write that name; not read",
      },
    ]);
    const sized = await read(patchCentral(zip, 0, { uncompressedSize: 5 }));
    expect(sized.visitor.problems[0]).toMatchObject({
      kind: 'unsafe-entry',
      path: 'safe.txt',
      detail: expect.stringMatching(/local header declares 18 bytes .* the central directory 5/),
    });
  });

  it('passes the stored bytes of an encrypted member, marked encrypted', async () => {
    const plain = await zipArchive([{ name: 'secret.bin', data: big }]);
    const zip = patchCentral(plain, 0, { flags: centralFields(plain, 0).flags | 1 });
    const { visitor } = await read(zip);
    expect(visitor.problems).toEqual([]);
    const stored = storedBytes(zip, 0);
    expect(visitor.entries).toHaveLength(1);
    expect(visitor.entries[0]).toMatchObject({
      path: 'secret.bin',
      type: 'file',
      encrypted: true,
      size: stored.length,
      bodyBytes: stored.length,
      sha256: sha256(stored),
    });
  });

  it('reports a truncated zip as unreadable, complete:false', async () => {
    const zip = await zipArchive([...files].map(([name, data]) => ({ name, data })));
    const { summary, visitor } = await read(zip.subarray(0, zip.length - 100));
    expect(visitor.entries).toEqual([]);
    expect(visitor.problems).toEqual([
      { kind: 'read-error', path: '', detail: expect.stringMatching(/^not a readable zip archive: /) },
    ]);
    expect(summary.complete).toBe(false);
  });

  it('stops at maxEntries and skips members over maxEntryBytes', async () => {
    const zip = await zipArchive([
      { name: 'a', data: Buffer.from('aaaa') },
      { name: 'large', data: big },
      { name: 'b', data: Buffer.from('b') },
      { name: 'c', data: Buffer.from('c') },
    ]);
    const { summary, visitor } = await read(zip, { maxEntries: 3, maxEntryBytes: 1000 });
    expect(visitor.paths()).toEqual(['a', 'b']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'large',
        detail: "entry 'large' declares 100000 bytes, over the 1000-byte entry limit; not read",
      },
      {
        kind: 'read-error',
        path: '',
        detail: "archive has more than 3 entries (the limit); stopped before entry 'c'",
      },
    ]);
    expect(summary.complete).toBe(false);
  });

  it('reports a range that fails mid-member as a read-error for that member', async () => {
    // Larger than the read-ahead window, so its data is a range of its own.
    const zip = await zipArchive([
      { name: 'first.bin', data: randomBytes(300_000), compress: false },
      { name: 'second.txt', data: Buffer.from('second') },
    ]);
    const base = bufferInput('flaky.zip', zip);
    const { localHeader, compressedSize } = centralFields(zip, 0);
    const input: ArchiveInput = {
      ...base,
      openRange: async (start, end) => {
        if (start > localHeader && start < localHeader + 100 && end - start === compressedSize)
          throw new Error('ECONNRESET');
        return base.openRange(start, end);
      },
    };
    const { summary, visitor } = await read(zip, {}, input);
    expect(visitor.count).toBe(2);
    expect(visitor.paths()).toEqual(['second.txt']);
    expect(visitor.problems).toEqual([
      { kind: 'read-error', path: 'first.bin', detail: "entry 'first.bin': ECONNRESET" },
    ]);
    expect(summary.complete).toBe(true);
  });
});
