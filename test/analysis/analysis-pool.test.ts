import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createBLAKE3 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { AnalysisPool } from '../../agent/analysis/analysis-pool.js';
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
