/**
 * Files of a directory snapshot (up to WORKER_READ_MAX_BYTES) are opened, checked, read and
 * analysed in the analysis workers (local-file.ts) instead of on the main thread. These tests pin that this changes nothing
 * a user can see: the same manifest entries byte for byte, the same findings, the same refusals.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../agent/archives/entry-reader.js';
import { readPlainEntries, type PlainObject } from '../../agent/archives/plain-reader.js';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { analysisPool } from '../../agent/analysis/analysis-pool.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';
import type { BackupSource } from '../../agent/sources/backup-source.js';
import { createFsSource, WORKER_READ_MAX_BYTES } from '../../agent/sources/fs-source.js';
import {
  fileValidator,
  LOCAL_CHUNK_BYTES,
  readLocalFile,
  type LocalFile,
} from '../../agent/fs/local-file.js';
import { openManifest } from '../../agent/state/manifest-store.js';
import { recordingVisitor } from '../helpers/buffer-input.js';

let root: string;
let backups: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-worker-reads-'));
  backups = path.join(root, 'backups');
  outside = path.join(root, 'outside');
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(outside, 'secret.txt'), 'not part of any snapshot\n');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A snapshot of mixed small and large files, an empty one, links inside and out, nested folders. */
async function writeTree(snapshot: string): Promise<void> {
  const dir = path.join(backups, snapshot);
  const files: Record<string, Buffer> = {
    'etc/app.conf': Buffer.from('listen 8080\nworkers 4\n'.repeat(40)),
    'etc/empty': Buffer.alloc(0),
    'docs/readme.txt.gz': gzipSync(Buffer.from('How to run the orders service.\n'.repeat(500))),
    'data/random.bin': randomBytes(70_000),
    'data/nested/deeper/orders.csv': Buffer.from(
      'id,total\n' + Array.from({ length: 3000 }, (_, i) => `${i},${i * 3}`).join('\n'),
    ),
    'data/just-over-a-slot.bin': randomBytes(2 ** 20 + 17),
    'data/large.bin': randomBytes(3 * 2 ** 20),
    'ünïcode name.txt': Buffer.from('named in UTF-8\n'),
  };
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), data);
  }
  await symlink('app.conf', path.join(dir, 'etc/current.conf'));
  await symlink(path.join(outside, 'secret.txt'), path.join(dir, 'etc/escape.txt'));
  await symlink(outside, path.join(dir, 'linked-dir'));
}

function policy() {
  return validatePolicy(
    {
      sets: {
        orders: {
          source: { fs: { path: backups } },
          snapshots: { layout: 'directory' },
          integrity: { algorithm: 'sha256', rehash: 'always' },
        },
      },
    },
    'test policy',
    root,
  );
}

/** An fs source without `localFile`: every file goes through `open()`, as before the workers read files. */
function withoutWorkerReads(source: BackupSource): BackupSource {
  const { localFile: _dropped, ...rest } = source;
  return rest;
}

/** The baseline manifest's entries, one JSON line each, as stored. */
async function manifestLines(stateDir: string, snapshot: string): Promise<string[]> {
  const manifest = await openManifest(stateDir, 'orders', snapshot);
  if (!manifest) throw new Error(`no baseline for ${snapshot}`);
  const lines: string[] = [];
  try {
    for await (const entry of manifest.entries()) lines.push(JSON.stringify(entry));
  } finally {
    await manifest.close();
  }
  return lines;
}

const findingsOf = (report: ScanReport) =>
  report.sets[0]!.snapshots.map((s) => [
    s.id,
    s.verdict,
    s.entries,
    s.bytes,
    s.findings.map((f) => `${f.kind} ${f.path} ${f.detail}`).sort(),
  ]);

describe('files read in the analysis workers', () => {
  it('writes byte-identical manifest entries and the same findings as reading every file through open()', async () => {
    await writeTree('snap-20250101');
    await writeTree('snap-20250102');
    const viaWorkers = path.join(root, 'state-workers');
    const viaOpen = path.join(root, 'state-open');
    const opened: string[] = [];
    const counting = (source: BackupSource): BackupSource => ({
      ...source,
      open: (key, range, options) => {
        opened.push(key);
        return source.open(key, range, options);
      },
    });
    const workers = await runScan(policy(), {
      stateDir: viaWorkers,
      createSource: (set) => counting(createFsSource(set.source.kind === 'fs' ? set.source.path : '')),
    });
    const openedByWorkersRun = opened.splice(0);
    const open = await runScan(policy(), {
      stateDir: viaOpen,
      createSource: (set) =>
        counting(withoutWorkerReads(createFsSource(set.source.kind === 'fs' ? set.source.path : ''))),
    });

    // The workers read every file themselves, the two over 1 MiB in chunks: none was opened here.
    expect(openedByWorkersRun.filter((key) => key.startsWith('snap-20250101/'))).toEqual([]);
    expect(opened.filter((key) => key.startsWith('snap-20250101/')).length).toBe(8);

    expect(findingsOf(workers)).toEqual(findingsOf(open));
    for (const snapshot of ['snap-20250101', 'snap-20250102']) {
      const lines = await manifestLines(viaWorkers, snapshot);
      expect(lines).toEqual(await manifestLines(viaOpen, snapshot));
      // Links are recorded, never followed; nothing outside the snapshot was read.
      expect(
        lines.some((line) => line.includes('"path":"etc/escape.txt"') && line.includes('"type":"symlink"')),
      ).toBe(true);
      expect(lines.some((line) => line.includes('secret.txt"') && line.includes('"digest"'))).toBe(false);
      expect(lines.filter((line) => line.includes('"digest"')).length).toBe(8);
    }
  });

  it('leaves a file over WORKER_READ_MAX_BYTES to open() (a stop request never waits long for a worker)', async () => {
    await writeTree('snap-20250101');
    const source = createFsSource(backups);
    try {
      for await (const _object of source.list('snap-20250101/')) break; // resolves the root
      expect(source.localFile!('snap-20250101/data/large.bin', WORKER_READ_MAX_BYTES)).toMatchObject({
        maxBytes: WORKER_READ_MAX_BYTES,
      });
      // The recipe's maxBytes is what the read session reserves under the caps: the listed size,
      // never less than a whole read.
      expect(source.localFile!('snap-20250101/data/large.bin', 3 * 2 ** 20)).toMatchObject({
        maxBytes: 3 * 2 ** 20,
      });
      expect(source.localFile!('snap-20250101/etc/app.conf', 880)).toMatchObject({ maxBytes: 2 ** 20 });
      expect(source.localFile!('snap-20250101/data/large.bin', WORKER_READ_MAX_BYTES + 1)).toBeUndefined();
    } finally {
      await source.close();
    }
  });

  it('names a file rewritten between the listing and the read exactly as open() does', async () => {
    await writeTree('snap-20250101');
    const source = createFsSource(backups);
    const listed: PlainObject[] = [];
    for await (const object of source.list('snap-20250101/'))
      listed.push({ ...object, key: object.key.slice('snap-20250101/'.length) });
    // Rewritten after its listing: a different size and modification time.
    await writeFile(path.join(backups, 'snap-20250101', 'etc/app.conf'), 'listen 9090\n');

    const problemsVia = async (useWorkers: boolean) => {
      const visitor = recordingVisitor();
      visitor.localEntry = async (_entry, file) => {
        const result = await analysisPool().analyzeFile({ algorithm: 'sha256', extraAlgorithms: [] }, file);
        return result ? result.bytes : null;
      };
      await readPlainEntries(
        (async function* () {
          yield* listed;
        })(),
        async (key, object) =>
          (
            await source.open(
              `snap-20250101/${key}`,
              undefined,
              object.validator !== undefined ? { ifMatch: object.validator } : {},
            )
          ).stream,
        visitor,
        DEFAULT_LIMITS,
        4,
        useWorkers
          ? (key, object) =>
              source.localFile!(
                `snap-20250101/${key}`,
                object.size,
                object.validator !== undefined ? { ifMatch: object.validator } : {},
              )
          : undefined,
      );
      return visitor.problems;
    };
    const viaWorkers = await problemsVia(true);
    expect(viaWorkers).toEqual(await problemsVia(false));
    expect(viaWorkers).toHaveLength(1);
    expect(viaWorkers[0]!.path).toBe('etc/app.conf');
    expect(viaWorkers[0]!.detail).toMatch(
      /^entry 'etc\/app\.conf': cannot open: .*snap-20250101\/etc\/app\.conf: the file was replaced or rewritten since it was listed/,
    );
  });
});

describe('readLocalFile', () => {
  let file: (name: string, extra?: Partial<LocalFile>) => LocalFile;
  const buffer = Buffer.allocUnsafe(16);

  beforeEach(async () => {
    await writeTree('snap-20250101');
    const snap = path.join(backups, 'snap-20250101');
    file = (name, extra = {}) => ({
      absolute: path.join(snap, name),
      realRoot: backups,
      maxBytes: 2 ** 20,
      ...extra,
    });
  });

  it('reads a small file whole, growing past the buffer it was given', () => {
    const read = readLocalFile(file('etc/app.conf'), buffer);
    expect('length' in read && read.buffer.subarray(0, read.length).toString()).toBe(
      'listen 8080\nworkers 4\n'.repeat(40),
    );
    expect('chunked' in read && read.chunked).toBe(false);
    const empty = readLocalFile(file('etc/empty'), buffer);
    expect('length' in empty && empty.length).toBe(0);
  });

  it('reads a larger file in chunks of exactly LOCAL_CHUNK_BYTES into one buffer, the last shorter', () => {
    const chunks: { length: number; buffer: ArrayBufferLike; offset: number }[] = [];
    const copies: Buffer[] = [];
    const given = Buffer.allocUnsafe(LOCAL_CHUNK_BYTES);
    const read = readLocalFile(
      file('data/large.bin', { maxBytes: WORKER_READ_MAX_BYTES }),
      given,
      (chunk) => {
        chunks.push({ length: chunk.length, buffer: chunk.buffer, offset: chunk.byteOffset });
        copies.push(Buffer.from(chunk));
      },
    );
    expect('length' in read && read.length).toBe(3 * 2 ** 20);
    expect('chunked' in read && read.chunked).toBe(true);
    expect(chunks.map((chunk) => chunk.length)).toEqual([
      LOCAL_CHUNK_BYTES,
      LOCAL_CHUNK_BYTES,
      LOCAL_CHUNK_BYTES,
    ]);
    expect(chunks.every((chunk) => chunk.buffer === given.buffer && chunk.offset === given.byteOffset)).toBe(
      true,
    );
    const odd: number[] = [];
    readLocalFile(file('data/just-over-a-slot.bin', { maxBytes: WORKER_READ_MAX_BYTES }), buffer, (chunk) =>
      odd.push(chunk.length),
    );
    expect(odd).toEqual([LOCAL_CHUNK_BYTES, 17]);
    expect(
      Buffer.concat(copies).equals(readFileSync(path.join(backups, 'snap-20250101/data/large.bin'))),
    ).toBe(true);
  });

  it('refuses a file reached through a folder swapped for a symlink after the listing, even one made to look the same: another inode', async () => {
    const snap = path.join(backups, 'snap-20250101');
    const listedPath = path.join(snap, 'swap/secret.txt');
    await mkdir(path.dirname(listedPath));
    await writeFile(listedPath, 'not part of any snapshot\n');
    const listed = lstatSync(listedPath);
    // The outside file gets the listed file's size and modification time, to the nanosecond.
    execFileSync('touch', ['-r', listedPath, path.join(outside, 'secret.txt')]);
    await rm(path.dirname(listedPath), { recursive: true });
    await symlink(outside, path.dirname(listedPath));
    const sizeAndTime = (validator: string) => validator.split(':').slice(2);
    expect(sizeAndTime(fileValidator(lstatSync(path.join(outside, 'secret.txt'))))).toEqual(
      sizeAndTime(fileValidator(listed)),
    );
    expect(readLocalFile(file('swap/secret.txt', { ifMatch: fileValidator(listed) }), buffer)).toEqual({
      fallback: 'changed since it was listed',
    });
  });

  it("refuses a file outside the root even when the listing, fooled by a folder swapped mid-walk, pinned that very file's inode", () => {
    // The walk lstats names by their full path: a parent swapped for a symlink while it is walked
    // lists the outside file's own device and inode, so only the opened file's real path tells.
    const outsideStats = lstatSync(path.join(outside, 'secret.txt'));
    expect(
      readLocalFile(file('linked-dir/secret.txt', { ifMatch: fileValidator(outsideStats) }), buffer),
    ).toEqual({
      fallback: 'outside the root or deleted',
    });
  });

  it('falls back (never reads) for a symlink, a path through a symlinked folder, a folder, a changed file, a file over maxBytes', () => {
    expect(readLocalFile(file('etc/escape.txt'), buffer)).toEqual({
      fallback: expect.stringMatching(/^open: ELOOP/),
    });
    expect(readLocalFile(file('etc/current.conf'), buffer)).toEqual({
      fallback: expect.stringMatching(/^open: ELOOP/),
    });
    expect(readLocalFile(file('linked-dir/secret.txt'), buffer)).toEqual({
      fallback: 'outside the root or deleted',
    });
    expect(readLocalFile(file('data/nested'), buffer)).toEqual({ fallback: 'not a regular file' });
    expect(readLocalFile(file('etc/app.conf', { ifMatch: '1:2:3:4' }), buffer)).toEqual({
      fallback: 'changed since it was listed',
    });
    expect(readLocalFile(file('data/random.bin', { maxBytes: 1000 }), buffer)).toEqual({
      fallback: 'larger than a worker reads',
    });
    expect(readLocalFile(file('etc/missing'), buffer)).toEqual({
      fallback: expect.stringMatching(/^open: ENOENT/),
    });
  });
});
