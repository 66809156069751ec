/**
 * A filesystem source lists in a worker thread (fs-list-worker.ts), in batches. These tests pin
 * that the batches add up to exactly the listing the source gave before: every object once, in
 * key order, with the stat facts a synchronous walk sees, across batch boundaries, and that a
 * listing abandoned part-way leaves the source able to list again.
 */
import { lstatSync, readdirSync, utimesSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { batchesOf, type SourceObject } from '../../agent/sources/backup-source.js';
import { Worker } from 'node:worker_threads';
import { LIST_AHEAD, LIST_BATCH, prestartListingWorker } from '../../agent/sources/fs-list.js';
import type { ListRequest } from '../../agent/sources/fs-list-protocol.js';
import { createFsSource } from '../../agent/sources/fs-source.js';
import { decorateSource } from '../../agent/sources/create-source.js';

let root: string;

/** What a plain recursive walk of `dir` sees, in UTF-8 byte order of keys (directories sort as `name/`). */
function reference(dir: string, prefix = ''): Omit<SourceObject, 'mtime'>[] {
  const names = readdirSync(dir, { withFileTypes: true })
    .map((dirent) => ({
      name: dirent.name,
      order: Buffer.from(dirent.isDirectory() ? `${dirent.name}/` : dirent.name),
    }))
    .sort((a, b) => Buffer.compare(a.order, b.order));
  const out: Omit<SourceObject, 'mtime'>[] = [];
  for (const { name } of names) {
    const absolute = path.join(dir, name);
    const stats = lstatSync(absolute);
    const key = `${prefix}${name}`;
    if (stats.isDirectory()) out.push(...reference(absolute, `${key}/`));
    else if (stats.isSymbolicLink())
      out.push({ key, size: stats.size, kind: 'symlink', linkTarget: '../target' });
    else
      out.push({
        key,
        size: stats.size,
        kind: 'file',
        validator: `${stats.dev}:${stats.ino}:${stats.size}:${Math.round(stats.mtimeMs * 1000)}`,
      });
  }
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-fs-list-'));
  // More than two batches in one folder, plus nested folders, names that sort differently as
  // UTF-16 and as UTF-8, and symlinks.
  await mkdir(path.join(root, 'snap/many'), { recursive: true });
  for (let i = 0; i < LIST_BATCH * 2 + 37; i++)
    await writeFile(
      path.join(root, 'snap/many', `f${String(i).padStart(5, '0')}.txt`),
      `file ${i}\n`.repeat(i % 7),
    );
  await mkdir(path.join(root, 'snap/a-b/c'), { recursive: true });
  await writeFile(path.join(root, 'snap/a-b/c/deep.txt'), 'deep');
  // A modification time 0.7 ms past a millisecond: Stats.mtime rounds it, a plain Date() would truncate.
  utimesSync(path.join(root, 'snap/a-b/c/deep.txt'), 1_700_000_000.0007, 1_700_000_000.0007);
  await writeFile(path.join(root, 'snap/a.txt'), 'a');
  await writeFile(path.join(root, 'snap/\u{1F600}.txt'), 'emoji');
  await writeFile(path.join(root, 'snap/\uFF21.txt'), 'fullwidth');
  await symlink('../target', path.join(root, 'snap/link'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('listing a filesystem source in a worker', () => {
  it('gives every object once, in key order, with the facts a synchronous walk sees, across batches', async () => {
    const source = createFsSource(root);
    try {
      const listed: SourceObject[] = [];
      for await (const object of source.list('snap/')) listed.push(object);
      expect(listed.length).toBe(LIST_BATCH * 2 + 37 + 5);
      expect(listed.map(({ mtime: _mtime, ...rest }) => rest)).toEqual(
        reference(path.join(root, 'snap'), 'snap/'),
      );
      const deep = listed.find((object) => object.key === 'snap/a-b/c/deep.txt')!;
      expect(deep.mtime.getTime()).toBe(lstatSync(path.join(root, 'snap/a-b/c/deep.txt')).mtime.getTime());
      expect(deep.mtime.getTime()).toBe(1_700_000_000_001);
    } finally {
      await source.close();
    }
  });

  it('gives the same objects in batches through batchesOf(list()), also through the decorated source', async () => {
    const source = createFsSource(root);
    const decorated = decorateSource({ kind: 'fs', path: root }, createFsSource(root));
    try {
      const listed: SourceObject[] = [];
      for await (const object of source.list('snap/')) listed.push(object);
      for (const lister of [source, decorated]) {
        const batches: SourceObject[][] = [];
        for await (const batch of batchesOf(lister.list('snap/'))) {
          expect(Array.isArray(batch)).toBe(true);
          batches.push(batch as SourceObject[]);
        }
        expect(batches.length).toBeGreaterThan(2);
        expect(batches.every((batch) => batch.length > 0 && batch.length <= LIST_BATCH)).toBe(true);
        expect(batches.flat()).toEqual(listed);
      }
    } finally {
      await source.close();
      await decorated.close();
    }
  });

  it('asks for LIST_AHEAD batches beyond the one being consumed, so the worker lists on meanwhile', async () => {
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    const source = createFsSource(root);
    try {
      const requests = () =>
        posted.mock.calls
          .map(([message]) => message as ListRequest)
          .filter((message) => message.type === 'more');
      const listing = source.list('snap/')[Symbol.asyncIterator]();
      await listing.next();
      expect(requests().length).toBe(LIST_AHEAD + 1);
      let listed = 1;
      while (!(await listing.next()).done) listed++;
      expect(listed).toBe(LIST_BATCH * 2 + 37 + 5);
      // The walk ended at its third batch: no request was made past LIST_AHEAD beyond it.
      expect(requests().length).toBeLessThanOrEqual(3 + LIST_AHEAD);
      // Another listing from the same worker after requests went unanswered past the end.
      const again: string[] = [];
      for await (const object of source.list('snap/many/')) again.push(object.key);
      expect(again.length).toBe(LIST_BATCH * 2 + 37);
    } finally {
      posted.mockRestore();
      await source.close();
    }
  });

  it('lists with the worker started ahead of the listing, once, and starts its own when none waits', async () => {
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    const first = createFsSource(root);
    const second = createFsSource(root);
    try {
      const spare = prestartListingWorker();
      expect(prestartListingWorker()).toBe(spare);
      const listed: string[] = [];
      for await (const object of first.list('snap/many/')) listed.push(object.key);
      expect(listed.length).toBe(LIST_BATCH * 2 + 37);
      expect(new Set(posted.mock.contexts)).toEqual(new Set([spare]));
      // Taken: the next source lists with a worker of its own.
      posted.mockClear();
      const again: string[] = [];
      for await (const object of second.list('snap/many/')) again.push(object.key);
      expect(again).toEqual(listed);
      expect(posted.mock.contexts.some((worker) => worker === spare)).toBe(false);
    } finally {
      posted.mockRestore();
      await first.close();
      await second.close();
    }
  });

  it('lists everything again after a listing abandoned part-way', async () => {
    const source = createFsSource(root);
    try {
      let seen = 0;
      for await (const _object of source.list('snap/many/')) if (++seen === LIST_BATCH + 3) break;
      const again: string[] = [];
      for await (const object of source.list('snap/many/')) again.push(object.key);
      expect(again.length).toBe(LIST_BATCH * 2 + 37);
      expect(new Set(again).size).toBe(again.length);
    } finally {
      await source.close();
    }
  });
});
