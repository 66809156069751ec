/**
 * The listing spool hands a directory snapshot's read exactly the members discovery listed — in
 * order, every field intact — and steps aside (the read lists the store again) wherever it
 * cannot vouch for them: a directory it did not record whole, one listed too long ago, a spool
 * over its size bound or one it could not write.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ListingSpool } from '../../agent/scan/listing-spool.js';
import type { SourceObject } from '../../agent/sources/backup-source.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-listing-spool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function member(key: string, extra: Partial<SourceObject> = {}): SourceObject {
  return {
    key,
    size: key.length * 1000,
    mtime: new Date(Date.UTC(2026, 0, 1, 0, 0, key.length)),
    kind: 'file',
    validator: `1:${key.length}:${key.length * 1000}:7`,
    ...extra,
  };
}

/** A listing of snapshots `a/` (n members), a loose file, and `b/` (m members), in key order. */
function listing(n: number, m: number): SourceObject[] {
  const a = Array.from({ length: n }, (_, i) => member(`a/d${String(i).padStart(5, '0')}`));
  const b = Array.from({ length: m }, (_, i) => member(`b/f${String(i).padStart(5, '0')}`));
  return [...a, member('a.txt'), ...b];
}

async function* stream(objects: readonly SourceObject[]) {
  for (const object of objects) yield object;
}

async function drain<T>(objects: AsyncIterable<T | T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of objects) {
    if (Array.isArray(item)) out.push(...item);
    else out.push(item);
  }
  return out;
}

describe('listing spool', () => {
  it('passes the listing through and gives each directory its members back, unchanged and in order', async () => {
    const objects = listing(1300, 3);
    objects.splice(5, 0, {
      key: 'a/c\\xfe',
      size: 0,
      mtime: new Date(0),
      kind: 'other',
      unlisted: { kind: 'unsafe-entry', detail: 'not valid UTF-8' },
    });
    objects.splice(
      7,
      0,
      member('a/link', { kind: 'symlink', linkTarget: '../x', etag: 'e1', versionId: 'v1' }),
    );
    const spool = new ListingSpool(dir);
    expect(await drain(spool.record(stream(objects)))).toEqual(objects);
    const a = objects.filter((object) => object.key.startsWith('a/'));
    const b = objects.filter((object) => object.key.startsWith('b/'));
    expect(await drain(spool.members('a/')!)).toEqual(a);
    expect(await drain(spool.members('b/')!)).toEqual(b);
    // Read twice, or in any order: each segment stands alone.
    expect(await drain(spool.members('a/')!)).toEqual(a);
    // A loose file belongs to no directory; an unknown prefix was never recorded.
    expect(spool.members('a.txt/')).toBeUndefined();
    expect(spool.members('c/')).toBeUndefined();
    await spool.close();
    expect(readdirSync(dir)).toEqual([]);
    expect(spool.members('a/')).toBeUndefined();
  });

  it('keeps only the directories listed whole when the listing fails part-way', async () => {
    const objects = listing(10, 10);
    const failing = async function* () {
      for (const object of objects) {
        if (object.key === 'b/f00004') throw new Error('listing broke');
        yield object;
      }
    };
    const spool = new ListingSpool(dir);
    await expect(drain(spool.record(failing()))).rejects.toThrow('listing broke');
    expect((await drain(spool.members('a/')!)).length).toBe(10);
    expect(spool.members('b/')).toBeUndefined();
    await spool.close();
  });

  it('steps aside for a directory listed longer ago than its age bound', async () => {
    let now = 1_000;
    const spool = new ListingSpool(dir, { maxAgeMs: 60_000, clock: () => now });
    await drain(spool.record(stream(listing(3, 3))));
    now += 60_000;
    expect(spool.members('a/')).toBeDefined();
    now += 1;
    expect(spool.members('a/')).toBeUndefined();
    await spool.close();
  });

  it('stops recording at its size bound: earlier directories stay, the one in progress and later ones are listed again', async () => {
    // 'a/' (2,000 members, four frames, ~200 KiB) fits; 'b/' does not.
    const spool = new ListingSpool(dir, { maxBytes: 300 * 1024 });
    const objects = listing(2000, 5000);
    objects.push(member('c/last'));
    expect(await drain(spool.record(stream(objects)))).toEqual(objects);
    expect((await drain(spool.members('a/')!)).length).toBe(2000);
    expect(spool.members('b/')).toBeUndefined();
    expect(spool.members('c/')).toBeUndefined();
    await spool.close();
  });

  it('takes at most a quarter of the space free on its volume, leaving the rest to the scan', async () => {
    const asked: string[] = [];
    const spool = new ListingSpool(dir, {
      freeBytes: async (directory) => {
        asked.push(directory);
        return 4 * 300 * 1024;
      },
    });
    const objects = listing(2000, 5000);
    expect(await drain(spool.record(stream(objects)))).toEqual(objects);
    expect(asked).toEqual([dir]);
    expect((await drain(spool.members('a/')!)).length).toBe(2000);
    expect(spool.members('b/')).toBeUndefined();
    await spool.close();
    const full = new ListingSpool(dir, { freeBytes: async () => 0 });
    await drain(full.record(stream(objects)));
    expect(full.members('a/')).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
    await full.close();
  });

  it('never fails the listing when it cannot write: it records nothing', async () => {
    const spool = new ListingSpool(path.join(dir, 'no-such-folder'));
    const objects = listing(600, 2);
    expect(await drain(spool.record(stream(objects)))).toEqual(objects);
    expect(spool.members('a/')).toBeUndefined();
    expect(spool.members('b/')).toBeUndefined();
    await spool.close();
  });
});
