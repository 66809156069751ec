import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../agent/errors.js';
import type { SourceObject } from '../../agent/sources/backup-source.js';
import { createSource } from '../../agent/sources/create-source.js';
import { createFsSource } from '../../agent/sources/fs-source.js';
import { readAll } from '../helpers/source-reads.js';

async function listAll(iterable: AsyncIterable<SourceObject>): Promise<SourceObject[]> {
  const objects: SourceObject[] = [];
  for await (const object of iterable) objects.push(object);
  return objects;
}

async function sourceError(promise: Promise<unknown>): Promise<SourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

const hasMkfifo = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v mkfifo'], { stdio: 'ignore' });
    return process.platform !== 'win32';
  } catch {
    return false;
  }
})();

describe('fs source', () => {
  let scratch: string;
  let root: string;
  let outside: string;
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 256));

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'vouch-fs-source-'));
    root = path.join(scratch, 'root');
    outside = path.join(scratch, 'outside');
    await mkdir(path.join(root, 'a'), { recursive: true });
    await mkdir(path.join(root, 'snap-1', 'deep', 'er'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret.txt'), 'not yours');
    await writeFile(path.join(root, 'a', 'x.txt'), 'in a');
    await writeFile(path.join(root, 'a-b.txt'), 'dash sorts before slash');
    await writeFile(path.join(root, 'B.txt'), 'upper case first');
    await writeFile(path.join(root, 'data.bin'), bytes);
    await writeFile(path.join(root, 'snap-1', 'deep', 'er', 'f.txt'), 'deep');
    await writeFile(path.join(root, 'snap-1', 'top.txt'), 'top');
    await writeFile(path.join(root, 'é.txt'), 'non-ascii sorts last');
    await symlink('data.bin', path.join(root, 'link-to-file'));
    await symlink(outside, path.join(root, 'escape'));
    if (hasMkfifo) execFileSync('mkfifo', [path.join(root, 'pipe')]);
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('lists every entry in global key (UTF-8 byte) order, with kinds', async () => {
    const objects = await listAll(createFsSource(root).list());
    const keys = objects.map((object) => object.key);
    expect(keys).toEqual([
      'B.txt',
      'a-b.txt',
      'a/x.txt',
      'data.bin',
      'escape',
      'link-to-file',
      ...(hasMkfifo ? ['pipe'] : []),
      'snap-1/deep/er/f.txt',
      'snap-1/top.txt',
      'é.txt',
    ]);
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(keys).toEqual(sorted);

    const byKey = new Map(objects.map((object) => [object.key, object]));
    expect(byKey.get('data.bin')).toMatchObject({ kind: 'file', size: bytes.length });
    expect(byKey.get('data.bin')!.mtime).toBeInstanceOf(Date);
    expect(byKey.get('link-to-file')).toMatchObject({ kind: 'symlink', linkTarget: 'data.bin' });
    // The symlinked directory is recorded, never followed: nothing from `outside` is listed.
    expect(byKey.get('escape')).toMatchObject({ kind: 'symlink', linkTarget: outside });
    expect(keys.some((key) => key.startsWith('escape/'))).toBe(false);
    if (hasMkfifo) expect(byKey.get('pipe')).toMatchObject({ kind: 'other' });
  });

  it('lists under a prefix with S3 semantics (directory or partial name)', async () => {
    const source = createFsSource(root);
    expect((await listAll(source.list('snap-1/'))).map((o) => o.key)).toEqual([
      'snap-1/deep/er/f.txt',
      'snap-1/top.txt',
    ]);
    expect((await listAll(source.list('a'))).map((o) => o.key)).toEqual(['a-b.txt', 'a/x.txt']);
    expect((await listAll(source.list('snap-1/deep/e'))).map((o) => o.key)).toEqual(['snap-1/deep/er/f.txt']);
    expect(await listAll(source.list('missing/'))).toEqual([]);
    // A symlinked directory is not listed through.
    expect(await listAll(source.list('escape/'))).toEqual([]);
  });

  it('names the folders at the root that hold something, and lists the set without the ones it is told to skip', async () => {
    const source = createFsSource(root);
    await mkdir(path.join(root, 'empty', 'only', 'folders'), { recursive: true });
    await mkdir(path.join(root, 'snap-2', 'snap-1'), { recursive: true });
    await writeFile(path.join(root, 'snap-2', 'snap-1', 'nested.txt'), 'same name, one level down');
    const bad = Buffer.concat([Buffer.from(root + path.sep + 'dir-'), Buffer.from([0xfe])]);
    await mkdir(bad);
    await writeFile(Buffer.concat([bad, Buffer.from('/inside.txt')]), 'under a name that is not UTF-8');
    try {
      // Real directories a listing finds something in (not the symlinked `escape`, not `empty`
      // with its empty folders), named in valid UTF-8.
      expect(await source.folders!()).toEqual(['a', 'snap-1', 'snap-2']);
      const keys = (await listAll(source.list('', { skipFolders: new Set(['snap-1', 'a']) }))).map(
        (o) => o.key,
      );
      expect(keys.filter((key) => key.startsWith('snap-') || key.startsWith('a/'))).toEqual([
        'snap-2/snap-1/nested.txt',
      ]);
      // What is not skipped is listed as ever, the name that is not UTF-8 too.
      expect(keys).toContain('B.txt');
      expect(keys.some((key) => key.startsWith('dir-\\xfe'))).toBe(true);
      // Skipping applies to a listing of the whole set only.
      expect(
        (await listAll(source.list('snap-1/', { skipFolders: new Set(['snap-1', 'deep']) }))).length,
      ).toBe(2);
    } finally {
      await rm(path.join(root, 'empty'), { recursive: true });
      await rm(path.join(root, 'snap-2'), { recursive: true });
      await rm(bad, { recursive: true });
    }
  });

  it('opens whole files and exact byte ranges', async () => {
    const source = createFsSource(root);
    expect((await readAll((await source.open('data.bin')).stream)).equals(bytes)).toBe(true);
    expect(
      (await readAll((await source.open('data.bin', { start: 100, end: 1100 })).stream)).equals(
        bytes.subarray(100, 1100),
      ),
    ).toBe(true);
    expect(
      (await readAll((await source.open('data.bin', { start: 4095, end: 4096 })).stream)).equals(
        bytes.subarray(4095),
      ),
    ).toBe(true);
    expect((await readAll((await source.open('data.bin', { start: 10, end: 10 })).stream)).length).toBe(0);
    expect((await readAll((await source.open('snap-1/deep/er/f.txt')).stream)).toString()).toBe('deep');
  });

  it('serves a small file whole from memory (empty and rewritten ones too) and a large one as a stream', async () => {
    const source = createFsSource(root);
    const small = await source.open('data.bin');
    expect(small.buffered).toBe(true);
    expect(small.size).toBe(bytes.length);
    const grown = path.join(root, 'grows.bin');
    await writeFile(grown, bytes);
    const listed = (await readAll((await source.open('grows.bin')).stream)).length;
    await writeFile(grown, Buffer.concat([bytes, bytes, bytes]));
    expect(listed).toBe(bytes.length);
    expect(
      (await readAll((await source.open('grows.bin')).stream)).equals(Buffer.concat([bytes, bytes, bytes])),
    ).toBe(true);
    const empty = path.join(root, 'empty.bin');
    await writeFile(empty, '');
    expect((await readAll((await source.open('empty.bin')).stream)).length).toBe(0);
    const large = Buffer.alloc(2 ** 20 + 10, 7);
    await writeFile(path.join(root, 'large.bin'), large);
    const body = await source.open('large.bin');
    expect(body.buffered).toBeUndefined();
    expect((await readAll(body.stream)).equals(large)).toBe(true);
    await Promise.all(['grows.bin', 'empty.bin', 'large.bin'].map((name) => rm(path.join(root, name))));
  });

  it('refuses keys that leave the root, through a symlinked directory or `..`', async () => {
    const source = createFsSource(root);
    const viaSymlink = await sourceError(source.open('escape/secret.txt'));
    expect(viaSymlink.permanent).toBe(true);
    expect(viaSymlink.message).toMatch(/outside the backup root/);
    expect(viaSymlink.key).toBe('escape/secret.txt');
    for (const key of [
      '../outside/secret.txt',
      '/etc/passwd',
      'a/../../outside/secret.txt',
      'a//x.txt',
      '',
    ]) {
      expect((await sourceError(source.open(key))).permanent).toBe(true);
    }
  });

  it('gives worker-read recipes only for keys inside the root, spelled as the listing spells them', async () => {
    const source = createFsSource(root);
    try {
      for await (const _object of source.list('')) break; // resolves the root
      const recipe = source.localFile!('a/x.txt', 10);
      expect(recipe?.absolute).toBe(path.join(root, 'a/x.txt'));
      for (const key of [
        '../outside',
        '/etc/passwd',
        'a/../../x',
        'a//x.txt',
        'a/./x.txt',
        'a/',
        '.',
        '',
        'a\0b',
      ])
        expect(source.localFile!(key, 10), key).toBeUndefined();
      expect(source.localFile!('..a/.b/c..', 10)?.absolute).toBe(path.join(root, '..a/.b/c..'));
    } finally {
      await source.close();
    }
  });

  it('never follows a symlink or opens a FIFO, and does not block on one', async () => {
    const source = createFsSource(root);
    const link = await sourceError(source.open('link-to-file'));
    expect(link.permanent).toBe(true);
    expect(link.message).toMatch(/symlink/);
    if (hasMkfifo) {
      const fifo = await sourceError(source.open('pipe'));
      expect(fifo.permanent).toBe(true);
      expect(fifo.message).toMatch(/not a regular file/);
    }
    const directory = await sourceError(source.open('a'));
    expect(directory.permanent).toBe(true);
  });

  it('reports a missing key as a permanent SourceError naming it', async () => {
    const error = await sourceError(createFsSource(root).open('nope/missing.tar'));
    expect(error.permanent).toBe(true);
    expect(error.key).toBe('nope/missing.tar');
    expect(error.message).toContain('nope/missing.tar');
    expect(error.message).toMatch(/ENOENT/);
  });

  it('names the path when the root is missing', async () => {
    const missing = path.join(scratch, 'not-mounted');
    const source = createFsSource(missing);
    const listed = await sourceError(listAll(source.list()));
    expect(listed.permanent).toBe(true);
    expect(listed.message).toContain(missing);
    expect(listed.message).toMatch(/does not exist/);
    const opened = await sourceError(source.open('anything'));
    expect(opened.message).toContain(missing);
  });

  it('is built by createSource from either spec shape', async () => {
    for (const spec of [{ kind: 'fs' as const, path: root }, { fs: { path: root } }]) {
      const source = await createSource(spec);
      expect(source.location).toBe(root);
      expect((await listAll(source.list('snap-1/'))).length).toBe(2);
      await source.close();
    }
  });
});
