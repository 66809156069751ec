import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type ArchiveLimits } from '../../agent/archives/entry-reader.js';
import { readPlainEntries, type PlainObject } from '../../agent/archives/plain-reader.js';
import { recordingVisitor, sha256 } from '../helpers/buffer-input.js';

const mtime = new Date('2025-01-01T00:00:00Z');

function object(
  key: string,
  size: number,
  kind: PlainObject['kind'] = 'file',
  linkTarget?: string,
): PlainObject {
  return { key, size, kind, mtime, ...(linkTarget !== undefined ? { linkTarget } : {}) };
}

async function* list(objects: PlainObject[], failAfter?: number): AsyncGenerator<PlainObject> {
  let listed = 0;
  for (const item of objects) {
    if (listed === failAfter) throw new Error('ListObjectsV2: SlowDown');
    listed += 1;
    yield item;
  }
}

async function read(
  objects: AsyncIterable<PlainObject>,
  contents: Record<string, Buffer | Error>,
  limits: Partial<ArchiveLimits> = {},
) {
  const opened: string[] = [];
  const open = async (key: string): Promise<Readable> => {
    opened.push(key);
    const content = contents[key];
    if (content === undefined) throw new Error(`NoSuchKey: ${key}`);
    if (content instanceof Error) {
      return Readable.from(
        (async function* () {
          yield Buffer.from('partial');
          throw content;
        })(),
      );
    }
    return Readable.from([content]);
  };
  const visitor = recordingVisitor();
  const summary = await readPlainEntries(objects, open, visitor, { ...DEFAULT_LIMITS, ...limits });
  return { summary, visitor, opened };
}

describe('readPlainEntries', () => {
  it('passes files with their bodies and records symlinks without opening them', async () => {
    const a = Buffer.from('alpha');
    const b = Buffer.from('bravo'.repeat(1000));
    const { summary, visitor, opened } = await read(
      list([
        object('a.txt', a.length),
        object('dir/b.bin', b.length),
        object('latest', 0, 'symlink', 'dir/b.bin'),
      ]),
      {
        'a.txt': a,
        'dir/b.bin': b,
      },
    );
    expect(visitor.problems).toEqual([]);
    expect(
      visitor.entries.map(({ path, type, size, sha256: digest, linkTarget }) => ({
        path,
        type,
        size,
        digest,
        linkTarget,
      })),
    ).toEqual([
      { path: 'a.txt', type: 'file', size: a.length, digest: sha256(a), linkTarget: undefined },
      { path: 'dir/b.bin', type: 'file', size: b.length, digest: sha256(b), linkTarget: undefined },
      { path: 'latest', type: 'symlink', size: 0, digest: undefined, linkTarget: 'dir/b.bin' },
    ]);
    expect(opened).toEqual(['a.txt', 'dir/b.bin']);
    expect(summary).toEqual({ entries: 3, bytes: a.length + b.length, complete: true });
  });

  it('runs keys through the safe-path rules and flags non-file kinds', async () => {
    const { visitor, opened } = await read(
      list([
        object('../escape', 1),
        object('/abs', 1),
        object('sock', 0, 'other'),
        object('up', 0, 'symlink', '../../etc'),
        object('up/passwd', 1),
        object('ok', 2),
      ]),
      { ok: Buffer.from('ok') },
    );
    expect(visitor.paths()).toEqual(['up', 'ok']);
    expect(opened).toEqual(['ok']);
    expect(visitor.problems).toEqual([
      { kind: 'unsafe-entry', path: '../escape', detail: "entry '../escape': path escapes the archive root" },
      { kind: 'unsafe-entry', path: '/abs', detail: "entry '/abs': path is absolute" },
      {
        kind: 'unsafe-entry',
        path: 'sock',
        detail: "entry 'sock': entries of this type are not supported and never restored",
      },
      {
        kind: 'unsafe-entry',
        path: 'up/passwd',
        detail: "entry 'up/passwd': parent 'up' is a symlink; the entry would be written through it",
      },
    ]);
  });

  it('treats S3 folder markers (empty key/ objects) as directories', async () => {
    const { visitor, opened } = await read(list([object('photos/', 0), object('photos/cat.jpg', 3)]), {
      'photos/cat.jpg': Buffer.from('cat'),
    });
    expect(visitor.problems).toEqual([]);
    expect(visitor.entries.map(({ path, type }) => [path, type])).toEqual([
      ['photos', 'directory'],
      ['photos/cat.jpg', 'file'],
    ]);
    expect(opened).toEqual(['photos/cat.jpg']);
  });

  it('reports a file whose stream errors or cannot be opened, and reads the next one', async () => {
    const { summary, visitor } = await read(
      list([object('broken', 100), object('missing', 1), object('fine', 4)]),
      {
        broken: new Error('EIO: i/o error, read'),
        fine: Buffer.from('fine'),
      },
    );
    expect(visitor.count).toBe(2);
    expect(visitor.paths()).toEqual(['fine']);
    expect(visitor.problems).toEqual([
      { kind: 'read-error', path: 'broken', detail: "entry 'broken': EIO: i/o error, read" },
      { kind: 'read-error', path: 'missing', detail: "entry 'missing': cannot open: NoSuchKey: missing" },
    ]);
    expect(summary.complete).toBe(true);
  });

  it('stops with complete:false when the listing fails', async () => {
    const { summary, visitor } = await read(list([object('a', 1), object('b', 1)], 1), {
      a: Buffer.from('a'),
      b: Buffer.from('b'),
    });
    expect(visitor.paths()).toEqual(['a']);
    expect(visitor.problems).toEqual([
      { kind: 'read-error', path: '', detail: 'listing the snapshot failed: ListObjectsV2: SlowDown' },
    ]);
    expect(summary.complete).toBe(false);
  });

  it('caps entry size by listed size and by bytes actually read', async () => {
    const { summary, visitor } = await read(
      list([object('listed-big', 5000), object('grew', 10), object('small', 5)]),
      {
        'listed-big': Buffer.alloc(5000),
        grew: Buffer.alloc(2000),
        small: Buffer.from('small'),
      },
      { maxEntryBytes: 1000 },
    );
    expect(visitor.paths()).toEqual(['small']);
    expect(visitor.problems).toEqual([
      {
        kind: 'read-error',
        path: 'listed-big',
        detail: "entry 'listed-big' declares 5000 bytes, over the 1000-byte entry limit; not read",
      },
      {
        kind: 'read-error',
        path: 'grew',
        detail: "entry 'grew' is larger than the 1000-byte entry limit; not read to the end",
      },
    ]);
    expect(summary.complete).toBe(true);
  });
});
