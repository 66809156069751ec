import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../agent/archives/entry-reader.js';
import { tarReader } from '../../agent/archives/tar-reader.js';
import { zipReader } from '../../agent/archives/zip-reader.js';
import { RestoreWriter } from '../../agent/drills/restore-writer.js';
import { sampleSelector } from '../../agent/drills/sample.js';
import { bufferInput } from '../helpers/buffer-input.js';
import { tarArchive, tarEntry, zipArchive } from '../helpers/hostile-archives.js';
import { listTree } from '../helpers/drill-fixtures.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function restoreDir(): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'vouch-restore-')), 'restore');
  await mkdir(dir);
  return dir;
}

describe('restore writer', () => {
  it('writes files with modes masked to 0755/0644, hashes them, and never creates links', async () => {
    const root = await restoreDir();
    const big = Buffer.alloc(3 * 2 ** 20, 7); // large enough to be written by an analysis worker
    const tar = tarArchive(
      tarEntry({ name: 'data/', type: '5', mode: 0o777 }),
      tarEntry({ name: 'bin/tool', mode: 0o4755 }, Buffer.from('#!/bin/sh\necho hi\n')),
      tarEntry({ name: 'data/secret', mode: 0o600 }, Buffer.from('s3cret')),
      tarEntry({ name: 'data/big.bin', mode: 0o640 }, big),
      tarEntry({ name: 'data/copy', type: '1', linkname: 'data/secret' }),
      tarEntry({ name: 'current', type: '2', linkname: 'data/secret' }),
    );
    const writer = new RestoreWriter({ root, algorithm: 'sha256', select: () => true });
    const summary = await tarReader.read(bufferInput('modes.tar', tar), writer, DEFAULT_LIMITS);
    expect(summary.complete).toBe(true);
    expect(writer.problems).toEqual([]);
    expect(await listTree(root)).toEqual([
      'bin/',
      'bin/tool',
      'data/',
      'data/big.bin',
      'data/copy',
      'data/secret',
    ]);
    const mode = async (name: string) => (await lstat(path.join(root, name))).mode & 0o7777;
    expect(await mode('bin/tool')).toBe(0o755);
    expect(await mode('data/secret')).toBe(0o644);
    expect(await mode('data/big.bin')).toBe(0o644);
    expect(await mode('data')).toBe(0o755);
    expect(await readFile(path.join(root, 'data/copy'), 'utf8')).toBe('s3cret');
    expect((await lstat(path.join(root, 'data/copy'))).nlink).toBe(1); // a copy, not a hardlink
    expect(writer.entries.get('data/big.bin')).toMatchObject({
      type: 'file',
      size: big.length,
      digest: sha256(big),
    });
    expect(writer.entries.get('data/copy')).toMatchObject({
      type: 'hardlink',
      materialised: true,
      digest: sha256('s3cret'),
    });
    expect(writer.entries.get('current')).toMatchObject({ type: 'symlink', linkTarget: 'data/secret' });
    await expect(lstat(path.join(root, 'current'))).rejects.toThrow(/ENOENT/);
  });

  it('restores a zip, recording its unix symlink without creating it', async () => {
    const root = await restoreDir();
    const zip = await zipArchive([
      { name: 'docs/readme.txt', data: Buffer.from('hello') },
      { name: 'docs/link', data: Buffer.from('/etc/shadow'), mode: 0o120777 },
    ]);
    const writer = new RestoreWriter({ root, algorithm: 'sha256', select: () => true });
    await zipReader.read(bufferInput('links.zip', zip), writer, DEFAULT_LIMITS);
    expect(await listTree(root)).toEqual(['docs/', 'docs/readme.txt']);
    expect(writer.entries.get('docs/link')).toMatchObject({ type: 'symlink', linkTarget: '/etc/shadow' });
    // The link itself is harmless data, as in any filesystem backup: recorded, no problem.
    expect(writer.problems).toEqual([]);
  });

  it('restores only the sampled entries and counts the rest', async () => {
    const root = await restoreDir();
    const files = Array.from({ length: 400 }, (_, i) =>
      tarEntry({ name: `f/${i}.txt` }, Buffer.from(`file ${i}\n`)),
    );
    const writer = new RestoreWriter({
      root,
      algorithm: 'sha256',
      select: sampleSelector('drill-1', 0.1, new Set(['f/7.txt'])),
    });
    await tarReader.read(bufferInput('many.tar', tarArchive(...files)), writer, DEFAULT_LIMITS);
    expect(writer.seen.entries).toBe(400);
    expect(writer.restored.entries).toBeGreaterThan(15);
    expect(writer.restored.entries).toBeLessThan(80);
    expect(writer.entries.has('f/7.txt')).toBe(true);
    expect((await listTree(root)).filter((name) => name.endsWith('.txt'))).toHaveLength(
      writer.restored.entries,
    );
  });

  it('turns a write failure into a problem naming the entry, not an exception', async () => {
    const root = await restoreDir();
    const writer = new RestoreWriter({ root, algorithm: 'sha256', select: () => true });
    const tar = tarArchive(
      tarEntry({ name: 'a.txt' }, Buffer.from('one')),
      tarEntry({ name: 'a.txt/b' }, Buffer.from('two')),
    );
    await tarReader.read(bufferInput('clash.tar', tar), writer, DEFAULT_LIMITS);
    expect(writer.problems).toHaveLength(1);
    expect(writer.problems[0]!.detail).toMatch(/a\.txt\/b.*not a directory/);
  });
});
