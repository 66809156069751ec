import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ByteSampler,
  looksRandom,
  MAX_WINDOWS,
  RANDOM_CHI2_LIMIT,
  WINDOW_BYTES,
} from '../../agent/detection/byte-statistics.js';
import { findByExtension } from '../helpers/machine-files.js';
import { applyRansomware } from '../helpers/ransomware-modes.js';

function statsOf(data: Uint8Array, chunk = 50_000) {
  const sampler = new ByteSampler(data.length);
  for (let at = 0; at < data.length; at += chunk) sampler.update(data.subarray(at, at + chunk));
  return sampler.finish();
}

const aes = (bytes: number) => {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  return cipher.update(Buffer.alloc(bytes));
};

const library = findByExtension(['.so'], 1, { minSize: 2 * 2 ** 20 })[0]!;

describe('byte statistics', () => {
  it('finds AES-CTR output uniform and a real shared library far from it', () => {
    const cipher = statsOf(aes(2 * 2 ** 20));
    expect(looksRandom(cipher.chi2, cipher.sampledBytes)).toBe(true);
    expect(cipher.randomWindows).toBe(cipher.windows);
    const elf = statsOf(readFileSync(library.path));
    expect(elf.chi2).toBeGreaterThan(100 * RANDOM_CHI2_LIMIT);
    expect(elf.randomWindows).toBeLessThan(elf.windows / 10);
  });

  it('samples at most MAX_WINDOWS windows of a large entry and every window of a small one', () => {
    const large = statsOf(aes(64 * 2 ** 20), 2 ** 20);
    expect(large.windows).toBe(MAX_WINDOWS);
    expect(large.sampledBytes).toBe(MAX_WINDOWS * WINDOW_BYTES);
    const small = statsOf(aes(512 * 1024 + 100));
    expect(small.windows).toBe(128);
    expect(small.sampledBytes).toBe(512 * 1024 + 100);
  });

  it('gives the same statistics whatever the chunk boundaries', () => {
    const data = readFileSync(library.path).subarray(0, 300_000);
    expect(statsOf(data, 1)).toEqual(statsOf(data, data.length));
  });

  it('locates three encrypted chunks of 10 % inside a real library as random runs', () => {
    const data = applyRansomware(readFileSync(library.path), 'chunks-3x10', 'lib');
    const stats = statsOf(data);
    expect(stats.randomRuns.length).toBe(3);
    expect(stats.randomRuns[0]![0]).toBe(0);
    expect(stats.randomRuns[2]![1]).toBeGreaterThan(data.length * 0.85);
  });

  it('sees the uniform slots of 16-on/16-off and 64-on/192-off encryption and their biased neighbours', () => {
    const original = readFileSync(library.path);
    for (const [mode, period] of [
      ['intermittent-16-16', 32],
      ['intermittent-64-192', 256],
    ] as const) {
      const stats = statsOf(applyRansomware(original, mode, 'lib'));
      const pattern = stats.periodic.find((p) => p.period === period)!;
      expect(looksRandom(pattern.onChi2, pattern.onBytes), mode).toBe(true);
      expect(pattern.offChi2, mode).toBeGreaterThan(100 * RANDOM_CHI2_LIMIT);
    }
    const intact = statsOf(original);
    expect(intact.periodic.every((p) => !looksRandom(p.onChi2, p.onBytes))).toBe(true);
  });

  it('measures the first window separately (an encrypted header)', () => {
    const stats = statsOf(applyRansomware(readFileSync(library.path), 'first-4k', 'lib'));
    expect(looksRandom(stats.head.chi2, stats.head.bytes)).toBe(true);
    expect(stats.structuredMedianChi2!).toBeGreaterThan(4 * RANDOM_CHI2_LIMIT);
  });
});
