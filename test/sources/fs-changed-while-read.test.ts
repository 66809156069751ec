/**
 * A short read is never a clean read: a file truncated (or served short) or rewritten while it is
 * read is refused, by the analysis workers' read (local-file.ts: a fallback to `open()`) and by
 * the filesystem source's `open()` (an ObjectChangedError), so a scan never records a size the
 * file never had, nor the digest of bytes that never existed as a whole. Real files, real
 * truncates between chunks.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, truncateSync, utimesSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { ObjectChangedError } from '../../agent/errors.js';
import {
  changedWhileRead,
  fileValidator,
  LOCAL_CHUNK_BYTES,
  readLocalFile,
} from '../../agent/fs/local-file.js';
import { runScan } from '../../agent/scan/scan-run.js';
import type { BackupSource } from '../../agent/sources/backup-source.js';
import { createFsSource, WORKER_READ_MAX_BYTES } from '../../agent/sources/fs-source.js';
import { withRetries } from '../../agent/sources/retrying-source.js';
import { openManifest } from '../../agent/state/manifest-store.js';

let root: string;
let big: string;
const SIZE = 5 * LOCAL_CHUNK_BYTES + 123;
const CUT = 2 * LOCAL_CHUNK_BYTES + 500_000;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-changed-while-read-'));
  await mkdir(path.join(root, 'snap-20250101'), { recursive: true });
  big = path.join(root, 'snap-20250101', 'big.bin');
  await writeFile(big, randomBytes(SIZE));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The stream's bytes, truncating the file to CUT bytes once the first chunk arrived. */
async function readTruncatingAfterFirstChunk(stream: AsyncIterable<Buffer>, file: string): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) {
    if (bytes === 0) truncateSync(file, CUT);
    bytes += chunk.length;
  }
  return bytes;
}

describe('a file that changes while it is read', () => {
  it('is a fallback in the workers when truncated between chunks, and reads clean when unchanged', () => {
    const recipe = {
      absolute: big,
      realRoot: root,
      ifMatch: fileValidator(statSync(big)),
      maxBytes: WORKER_READ_MAX_BYTES,
    };
    const clean = readLocalFile(recipe, Buffer.allocUnsafe(16));
    expect('length' in clean && clean.length).toBe(SIZE);

    let chunks = 0;
    const cut = readLocalFile(recipe, Buffer.allocUnsafe(16), () => {
      if (++chunks === 2) truncateSync(big, CUT);
    });
    expect(cut).toEqual({ fallback: 'changed while it was read' });
  });

  it('is a fallback in the workers when rewritten in place (same size, new modification time) while read', () => {
    const recipe = { absolute: big, realRoot: root, maxBytes: WORKER_READ_MAX_BYTES };
    let chunks = 0;
    const read = readLocalFile(recipe, Buffer.allocUnsafe(16), () => {
      if (++chunks === 1) utimesSync(big, new Date(1_000_000), new Date(1_000_000));
    });
    expect(read).toEqual({ fallback: 'changed while it was read' });
  });

  it('fails the body of open() with ObjectChangedError when truncated between chunks, never a short clean read', async () => {
    const source = createFsSource(root);
    try {
      const unchanged = await source.open('snap-20250101/big.bin');
      let bytes = 0;
      for await (const chunk of unchanged.stream as AsyncIterable<Buffer>) bytes += chunk.length;
      expect(bytes).toBe(SIZE);

      const validator = fileValidator(statSync(big));
      const body = await source.open('snap-20250101/big.bin', undefined, { ifMatch: validator });
      const error = await readTruncatingAfterFirstChunk(body.stream as AsyncIterable<Buffer>, big).then(
        (length) => new Error(`read ${length} bytes cleanly`),
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(ObjectChangedError);
      expect((error as Error).message).toContain(
        `snap-20250101/big.bin: the file was replaced or rewritten since it was listed (it changed while it was read: ${CUT} bytes read where it had ${SIZE} when opened`,
      );
    } finally {
      await source.close();
    }
  });

  it('fails the body through the retrying wrapper when rewritten in place once every byte arrived', async () => {
    const source = withRetries(createFsSource(root), { sleep: async () => undefined });
    try {
      const body = await source.open('snap-20250101/big.bin');
      let first = true;
      const reading = (async () => {
        for await (const _chunk of body.stream as AsyncIterable<Buffer>) {
          if (first) utimesSync(big, new Date(1_000_000), new Date(1_000_000));
          first = false;
        }
      })();
      await expect(reading).rejects.toThrow(ObjectChangedError);
      await expect(reading).rejects.toThrow(/its inode, size or modification time changed during the read/);
    } finally {
      await source.close();
    }
  });

  it('decides a clean read only for exactly the bytes and validator the file had when opened', () => {
    const stats = statSync(big);
    const validator = fileValidator(stats);
    expect(changedWhileRead(SIZE, SIZE, validator, stats)).toBeUndefined();
    expect(changedWhileRead(CUT, SIZE, validator, stats)).toMatch(/^2597152 bytes read where it had/);
    expect(changedWhileRead(SIZE + 1, SIZE, validator, stats)).toBeDefined();
    expect(changedWhileRead(SIZE, SIZE, validator, { ...stats, mtimeMs: stats.mtimeMs + 1 })).toBeDefined();
  });

  it('makes a scan report a read error for a file truncated while read, never a manifest entry with the short size', async () => {
    const policy = validatePolicy(
      {
        sets: {
          orders: {
            source: { fs: { path: root } },
            snapshots: { layout: 'directory' },
            integrity: { algorithm: 'sha256', rehash: 'always' },
          },
        },
      },
      'test policy',
      root,
    );
    // Every file through open() (no worker reads), the file truncated once its first chunk came.
    const truncating = (source: BackupSource): BackupSource => {
      const { localFile: _dropped, ...rest } = source;
      return {
        ...rest,
        open: async (key, range, options) => {
          const body = await source.open(key, range, options);
          async function* cutAfterFirst() {
            let first = true;
            for await (const chunk of body.stream as AsyncIterable<Buffer>) {
              yield chunk;
              if (first) truncateSync(big, CUT);
              first = false;
            }
          }
          return { ...body, stream: Readable.from(cutAfterFirst(), { objectMode: false }) };
        },
      };
    };
    const stateDir = `${root}-state`;
    onTestFinished(() => rm(stateDir, { recursive: true, force: true }));
    const report = await runScan(policy, {
      stateDir,
      createSource: () => truncating(createFsSource(root)),
    });
    const snapshot = report.sets[0]!.snapshots[0]!;
    expect(snapshot.verdict).not.toBe('clean');
    expect(
      snapshot.findings.some(
        (f) => f.kind === 'read-error' && f.detail.includes('it changed while it was read'),
      ),
    ).toBe(true);
    const manifest = await openManifest(stateDir, 'orders', 'snap-20250101');
    const lines: string[] = [];
    if (manifest) {
      try {
        for await (const entry of manifest.entries()) lines.push(JSON.stringify(entry));
      } finally {
        await manifest.close();
      }
    }
    expect(lines.some((line) => line.includes(`"size":${CUT}`))).toBe(false);
    expect(readFileSync(big).length).toBe(CUT);
  });
});
