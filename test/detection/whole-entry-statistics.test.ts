import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ByteSampler,
  chiSquare,
  looksRandom,
  noWindowLooksRandom,
  WINDOW_BYTES,
} from '../../agent/detection/byte-statistics.js';
import { claimedType, classify, type PreviousContent } from '../../agent/detection/classify.js';
import type { ContentFeatures } from '../../agent/detection/content-probe.js';
import { probeFor } from '../../agent/detection/registry.js';
import { findByExtension } from '../helpers/machine-files.js';
import { applyRansomware, RANSOMWARE_MODES } from '../helpers/ransomware-modes.js';

/** The probe's features with the entry given whole, as the analysis workers give small files. */
function wholeFeatures(data: Buffer, name: string): ContentFeatures {
  return probeFor(data.length, claimedType(name)).whole(data);
}

/** The probe's features with the entry streamed in odd chunks: every window measured. */
function streamedFeatures(data: Buffer, name: string): ContentFeatures {
  const probe = probeFor(data.length, claimedType(name));
  for (let at = 0; at < data.length; at += 65_537) probe.update(data.subarray(at, at + 65_537));
  return probe.finish();
}

const MAX = 2 ** 20;
/** Real files of the kinds whose whole entries skip statistics, and of kinds where they cannot. */
const samples = [
  ...findByExtension(['.py', '.txt', '.html', '.h'], 6, { minSize: 9000, maxSize: MAX }),
  ...findByExtension(['.pyc'], 3, { minSize: 9000, maxSize: MAX }),
  ...findByExtension(['.mo'], 2, { minSize: 9000, maxSize: MAX }),
  ...findByExtension(['.so'], 2, { minSize: 9000, maxSize: MAX }),
  ...findByExtension(['.gz', '.png'], 3, { minSize: 9000, maxSize: MAX }),
  // Short ones: the periodic bound holds for some patterns only, the window bound trivially.
  ...findByExtension(['.py', '.txt'], 2, { minSize: 1000, maxSize: 3000 }),
];

const scratch = mkdtempSync(path.join(tmpdir(), 'vouch-whole-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
/**
 * gpg's own home (keyring, agent) in this test's directory: the user's ~/.gnupg and its agent are
 * shared with every other test file running at the same time.
 */
const gnupgHome = path.join(scratch, 'gnupg');
mkdirSync(gnupgHome, { mode: 0o700 });

let recipient: string | undefined;

/** `openssl enc`, gpg and age of a real file: legitimate containers, and camouflage under its name. */
function toolEncrypted(file: string): Buffer[] {
  const out = (name: string) => path.join(scratch, name);
  execFileSync('openssl', ['enc', '-aes-256-cbc', '-pbkdf2', '-k', 'pw', '-in', file, '-out', out('f.enc')]);
  execFileSync('openssl', [
    'enc',
    '-aes-256-cbc',
    '-pbkdf2',
    '-a',
    '-k',
    'pw',
    '-in',
    file,
    '-out',
    out('f.b64'),
  ]);
  execFileSync(
    'gpg',
    [
      '--batch',
      '--yes',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      'pw',
      '--compress-algo',
      'none',
      '-c',
      '-o',
      out('f.gpg'),
      file,
    ],
    { env: { ...process.env, GNUPGHOME: gnupgHome }, stdio: 'ignore' },
  );
  recipient ??= (() => {
    execFileSync('age-keygen', ['-o', out('key.txt')], { stdio: 'ignore' });
    return readFileSync(out('key.txt'), 'utf8').match(/public key: (\S+)/)![1]!;
  })();
  execFileSync('age', ['-r', recipient, '-o', out('f.age'), file]);
  return ['f.enc', 'f.b64', 'f.gpg', 'f.age'].map((name) => readFileSync(out(name)));
}

describe('statistics of entries given whole', () => {
  it('finds real files of several formats on this machine', () => {
    expect(samples.length).toBeGreaterThanOrEqual(10);
  });

  it('classify the same as streamed ones, for real files and real encryption of them, with and without history', () => {
    let compared = 0;
    for (const [index, file] of samples.entries()) {
      const original = readFileSync(file.path);
      const name = path.basename(file.path);
      const variants: [string, Buffer][] = [
        ['intact', original],
        ...RANSOMWARE_MODES.map((mode): [string, Buffer] => [mode, applyRansomware(original, mode, name)]),
        ...(index % 3 === 0 ? toolEncrypted(file.path) : []).map((data, i): [string, Buffer] => [
          `tool-${i}`,
          data,
        ]),
      ];
      const before = (features: ContentFeatures): PreviousContent => ({
        path: file.path,
        size: original.length,
        content: classify({ path: file.path, features }).summary,
      });
      const previousWhole = before(wholeFeatures(original, name));
      const previousStreamed = before(streamedFeatures(original, name));
      // The summary the next scan reads as history is the same either way.
      expect(previousWhole, file.path).toEqual(previousStreamed);
      for (const [variant, data] of variants) {
        if (data.length > MAX) continue;
        const whole = wholeFeatures(data, name);
        const streamed = streamedFeatures(data, name);
        const label = `${file.path} ${variant}`;
        for (const key of ['chi2', 'sampledBytes', 'windows', 'randomWindows', 'randomRuns'] as const)
          expect(whole.stats[key], `${label} ${key}`).toEqual(streamed.stats[key]);
        expect(whole.stats.head, label).toEqual(streamed.stats.head);
        expect(whole.stats.prefixes, label).toEqual(streamed.stats.prefixes);
        for (const pattern of whole.stats.periodic)
          expect(streamed.stats.periodic, label).toContainEqual(pattern);
        for (const previous of [null, previousWhole]) {
          expect(classify({ path: file.path, features: whole, previous }), label).toEqual(
            classify({ path: file.path, features: streamed, previous }),
          );
        }
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('skip the window-by-window statistics of real text and count no periodic pattern that text rules out', () => {
    const text = samples.filter((file) => /\.(py|txt|html|h)$/.test(file.path) && file.size >= 9000);
    expect(text.length).toBeGreaterThan(0);
    for (const file of text) {
      const stats = wholeFeatures(readFileSync(file.path), path.basename(file.path)).stats;
      expect(stats.windows, file.path).toBeGreaterThan(0);
      expect(stats.structuredMedianChi2, file.path).toBeNull();
      expect(stats.periodic, file.path).toEqual([]);
    }
  });

  it('measure every window of compressed and encrypted bytes as streaming does', () => {
    const gzip = samples.find((file) => file.path.endsWith('.gz'));
    const inputs = [applyRansomware(readFileSync(samples[0]!.path), 'whole', 'x')];
    if (gzip) inputs.push(readFileSync(gzip.path));
    for (const data of inputs) {
      const sampler = new ByteSampler(data.length);
      const streamed = new ByteSampler(data.length);
      streamed.update(data);
      expect(sampler.whole(data)).toEqual(streamed.finish());
    }
  });
});

describe('the bound that no window can look random', () => {
  it('holds for every window of real text and pyc, and fails for ciphertext', () => {
    for (const file of samples.filter((f) => /\.(py|txt|pyc)$/.test(f.path) && f.size >= 9000)) {
      const data = readFileSync(file.path);
      const total = new Float64Array(256);
      for (const byte of data) total[byte]!++;
      if (!noWindowLooksRandom(total)) continue;
      for (let at = 0; at + WINDOW_BYTES <= data.length; at += WINDOW_BYTES) {
        const window = new Float64Array(256);
        for (let i = at; i < at + WINDOW_BYTES; i++) window[data[i]!]!++;
        expect(looksRandom(chiSquare(window, WINDOW_BYTES), WINDOW_BYTES)).toBe(false);
      }
    }
    const cipher = applyRansomware(Buffer.alloc(64 * 1024), 'whole', 'zeros');
    const total = new Float64Array(256);
    for (const byte of cipher) total[byte]!++;
    expect(noWindowLooksRandom(total)).toBe(false);
  });
});
