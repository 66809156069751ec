import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { createBLAKE3 } from 'hash-wasm';
import { describe, expect, it, vi } from 'vitest';
import {
  AnalysisPool,
  FILES_AHEAD_PER_WORKER,
  FILES_PER_MESSAGE,
} from '../../agent/analysis/analysis-pool.js';
import type { AnalysisResult } from '../../agent/analysis/entry-analysis.js';
import type { WorkerMessageIn } from '../../agent/analysis/analysis-protocol.js';
import { LOCAL_IN_FLIGHT } from '../../agent/archives/plain-reader.js';
import { analyzeStream, POOLED_MIN_BYTES } from '../../agent/analysis/analyze-stream.js';

/** Yields `data` in chunks of the given sizes, cycling through them. */
function chunked(data: Buffer, sizes: number[]): Readable {
  return Readable.from(
    (function* () {
      let at = 0;
      for (let i = 0; at < data.length; i++) {
        const size = sizes[i % sizes.length]!;
        yield data.subarray(at, at + size);
        at += size;
      }
    })(),
  );
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('analysis pool', () => {
  it('gives the same digests as node:crypto and hash-wasm for odd-sized chunks larger and smaller than a slot', async () => {
    const data = randomBytes(9 * 2 ** 20 + 12345);
    const blake3 = await createBLAKE3();
    blake3.update(data);
    const result = await analyzeStream(
      chunked(data, [1, 65_536, 3 * 2 ** 20 + 7, 1000]),
      { algorithm: 'sha256', extraAlgorithms: ['blake3'] },
      { sizeHint: data.length },
    );
    expect(result).toEqual({
      digest: sha256(data),
      extra: { blake3: blake3.digest('hex') },
      bytes: data.length,
    });
  });

  it('analyses many entries at once without mixing their bytes', async () => {
    const pool = new AnalysisPool(2);
    const inputs = Array.from({ length: 6 }, (_, i) => randomBytes(2 ** 20 * (i + 1) + i));
    const results = await Promise.all(
      inputs.map(async (data) => {
        const analysis = pool.analyze({ algorithm: 'sha256', extraAlgorithms: [] });
        for await (const chunk of chunked(data, [300_000])) await analysis.update(chunk);
        return analysis.finish();
      }),
    );
    expect(results.map((r) => r.digest)).toEqual(inputs.map(sha256));
  });

  it('analyses many small entries in shared batches without mixing their bytes, detection included', async () => {
    const pool = new AnalysisPool(2);
    const inputs = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? Buffer.from(`line ${i}\n`.repeat(i + 1)) : randomBytes((i * 997) % 70_000),
    );
    const results = await Promise.all(
      inputs.map((data) =>
        pool.analyzeWhole({ algorithm: 'sha256', extraAlgorithms: [], detect: { size: data.length } }, data),
      ),
    );
    expect(results.map((r) => r.digest)).toEqual(inputs.map(sha256));
    expect(results.map((r) => r.bytes)).toEqual(inputs.map((data) => data.length));
    expect(results.filter((r, i) => i % 3 === 0).every((r) => r.content?.type === 'text')).toBe(true);
  });

  it('posts local files in full messages while more are waiting, as answers come back piecemeal', async () => {
    // Before: each answer's files were re-posted split over both workers, so messages shrank
    // 64 → 32 → 16 → … → 1 and the workers waited on the main thread between tiny messages.
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-pool-files-'));
    const count = 1500;
    const contents = Array.from({ length: count }, (_, i) => Buffer.from(`file ${i}\n`.repeat(i % 50)));
    await Promise.all(contents.map((data, i) => writeFile(path.join(dir, `f${i}`), data)));
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const pool = new AnalysisPool(2);
      const results: (AnalysisResult | null)[] = [];
      // As the plain reader does: LOCAL_IN_FLIGHT at once, the next one started as each settles.
      await new Promise<void>((done, fail) => {
        let started = 0;
        let settled = 0;
        const start = () => {
          const i = started++;
          pool
            .analyzeFile(
              { algorithm: 'sha256', extraAlgorithms: [] },
              { absolute: path.join(dir, `f${i}`), realRoot: dir, maxBytes: 2 ** 20 },
            )
            .then((result) => {
              results[i] = result;
              if (++settled === count) done();
              else if (started < count) start();
            }, fail);
        };
        for (let i = 0; i < LOCAL_IN_FLIGHT; i++) start();
      });
      expect(results.map((result) => result?.digest)).toEqual(contents.map(sha256));
      const sizes = posted.mock.calls
        .map(([message]) => message as WorkerMessageIn)
        .filter((message) => message.type === 'files')
        .map((message) => (message.type === 'files' ? message.items.length : 0));
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(count);
      expect(Math.max(...sizes)).toBe(FILES_PER_MESSAGE);
      // Only the queue's tail, shared out evenly, goes in smaller messages.
      const inFull = sizes.filter((size) => size === FILES_PER_MESSAGE).length * FILES_PER_MESSAGE;
      expect(inFull).toBeGreaterThanOrEqual(count - 2 * FILES_AHEAD_PER_WORKER);
    } finally {
      posted.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drops the local files still queued when their read is stopped: a stop waits only for what the workers already hold', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-pool-stop-'));
    const count = 600;
    await Promise.all(
      Array.from({ length: count }, (_, i) => writeFile(path.join(dir, `f${i}`), `file ${i}\n`.repeat(200))),
    );
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const pool = new AnalysisPool(2);
      const controller = new AbortController();
      const outcomes = await Promise.allSettled(
        Array.from({ length: count }, (_, i) => {
          const analysis = pool.analyzeFile(
            { algorithm: 'sha256', extraAlgorithms: [] },
            { absolute: path.join(dir, `f${i}`), realRoot: dir, maxBytes: 2 ** 20 },
            controller.signal,
          );
          // Stopped as soon as the first answer comes back, from whichever worker answers first.
          void analysis.then(
            () => controller.abort(new Error('scan stopped')),
            () => undefined,
          );
          return analysis;
        }),
      );
      const read = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
      const dropped = outcomes.filter(
        (outcome) => outcome.status === 'rejected' && (outcome.reason as Error).message === 'scan stopped',
      ).length;
      expect(read + dropped).toBe(count);
      // What was posted before the stop was read; at most what two workers may hold, plus the next
      // round of messages posted from the answer that stopped it.
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThanOrEqual(2 * 2 * FILES_AHEAD_PER_WORKER);
      const postedFiles = posted.mock.calls
        .map(([message]) => message as WorkerMessageIn)
        .reduce((sum, message) => sum + (message.type === 'files' ? message.items.length : 0), 0);
      expect(postedFiles).toBe(read);
      // A file asked for after the stop is refused at once.
      await expect(
        pool.analyzeFile(
          { algorithm: 'sha256', extraAlgorithms: [] },
          { absolute: path.join(dir, 'f1'), realRoot: dir, maxBytes: 2 ** 20 },
          controller.signal,
        ),
      ).rejects.toThrow('scan stopped');
    } finally {
      posted.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a whole entry larger than a batch slot', async () => {
    await expect(
      new AnalysisPool(1).analyzeWhole(
        { algorithm: 'sha256', extraAlgorithms: [] },
        Buffer.alloc(2 ** 20 + 1),
      ),
    ).rejects.toThrow(/at most/);
  });

  it('streams a small-declared entry that turns out larger than a batch takes', async () => {
    const data = randomBytes(3 * 2 ** 20 + 5);
    const result = await analyzeStream(
      chunked(data, [100_000]),
      { algorithm: 'sha256', extraAlgorithms: [] },
      { sizeHint: 10 },
    );
    expect(result).toMatchObject({ digest: sha256(data), bytes: data.length });
  });

  it('analyses small entries (batched) with the same result', async () => {
    const data = randomBytes(POOLED_MIN_BYTES - 1);
    const result = await analyzeStream(
      chunked(data, [4096]),
      { algorithm: 'sha256', extraAlgorithms: [] },
      { sizeHint: data.length },
    );
    expect(result.digest).toBe(sha256(data));
  });

  it('lets the process exit after a large entry whose stream failed mid-read', () => {
    // A worker left holding a cancelled entry would keep the event loop alive: the child would
    // time out instead of exiting 0.
    const script = `
      import { Readable } from 'node:stream';
      import { analyzeStream } from './agent/analysis/analyze-stream.ts';
      const failing = new Readable({ read() { this.push(Buffer.alloc(3 * 2 ** 20)); this.destroy(new Error('disk went away')); } });
      await analyzeStream(failing, { algorithm: 'sha256', extraAlgorithms: [] }, { sizeHint: 2 ** 30 }).then(
        () => { console.log('resolved'); },
        (error) => { console.log('rejected:', error.message); },
      );
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.stdout.trim()).toBe('rejected: disk went away');
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
  });
});
