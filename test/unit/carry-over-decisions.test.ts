/**
 * When an unchanged entry keeps an earlier judgement instead of being measured again
 * (scan/carry-over.ts), and what an analysis does with `keepIfDigest` (entry-analysis.ts).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EntryAnalysis } from '../../agent/analysis/entry-analysis.js';
import {
  carryOverSource,
  detectionStamp,
  keepableDigest,
  manifestIdentity,
} from '../../agent/scan/carry-over.js';
import type { ManifestEntry } from '../../agent/model/manifest.js';
import { detectionVersion, hashSourceTree } from '../../agent/version.js';

const previous = { snapshot: 'snap-1', createdAt: '2026-01-01T00:00:00.000Z', algorithm: 'sha256' as const };

describe('which manifest unchanged entries keep their judgement from', () => {
  const stamp = (version: string, history: typeof previous | null) => detectionStamp(version, history);

  it('the snapshot’s own baseline, when this version judged it against the same history', () => {
    const baseline = { algorithm: 'sha256' as const, detection: stamp('1.2.0', previous) };
    expect(
      carryOverSource({ enabled: true, version: '1.2.0', algorithm: 'sha256', baseline, history: previous }),
    ).toBe('baseline');
    expect(manifestIdentity(previous)).toBe('snap-1@2026-01-01T00:00:00.000Z');
  });

  it('not the baseline when the history it was judged against changed, nor when another version or algorithm judged it', () => {
    const judgedAgainstOther = {
      algorithm: 'sha256' as const,
      detection: stamp('1.2.0', { ...previous, createdAt: '2026-02-01T00:00:00.000Z' }),
    };
    expect(
      carryOverSource({
        enabled: true,
        version: '1.2.0',
        algorithm: 'sha256',
        baseline: judgedAgainstOther,
        history: null,
      }),
    ).toBeNull();
    const older = { algorithm: 'sha256' as const, detection: stamp('1.1.0', null) };
    expect(
      carryOverSource({
        enabled: true,
        version: '1.2.0',
        algorithm: 'sha256',
        baseline: older,
        history: null,
      }),
    ).toBeNull();
    const unstamped = { algorithm: 'sha256' as const };
    expect(
      carryOverSource({
        enabled: true,
        version: '1.2.0',
        algorithm: 'sha256',
        baseline: unstamped,
        history: null,
      }),
    ).toBeNull();
    const otherAlgorithm = { algorithm: 'blake3' as const, detection: stamp('1.2.0', null) };
    expect(
      carryOverSource({
        enabled: true,
        version: '1.2.0',
        algorithm: 'sha256',
        baseline: otherAlgorithm,
        history: null,
      }),
    ).toBeNull();
  });

  it('the previous snapshot, when there is no usable baseline and this version judged it', () => {
    const history = { ...previous, detection: stamp('1.2.0', null) };
    expect(
      carryOverSource({ enabled: true, version: '1.2.0', algorithm: 'sha256', baseline: null, history }),
    ).toBe('history');
    expect(
      carryOverSource({ enabled: true, version: '1.3.0', algorithm: 'sha256', baseline: null, history }),
    ).toBeNull();
  });

  it('none when the policy asks to measure every file (detection.remeasure: all)', () => {
    const baseline = { algorithm: 'sha256' as const, detection: stamp('1.2.0', null) };
    expect(
      carryOverSource({ enabled: false, version: '1.2.0', algorithm: 'sha256', baseline, history: null }),
    ).toBeNull();
  });
});

describe('which entries may keep a judgement', () => {
  const intact: ManifestEntry = {
    path: 'etc/app.conf',
    type: 'file',
    size: 10,
    digest: 'ab'.repeat(32),
    content: {
      type: 'text',
      structure: 'valid',
      chi2: 90_000,
      sampled: 10,
      judgement: 'intact',
      strength: 'none',
    },
  };

  it('an entry judged intact keeps it when its digest matches', () => {
    expect(keepableDigest(intact, { allowed: false, newAtPath: false })).toBe(intact.digest);
  });

  it('anything else is measured: other judgements, allowed paths, new paths, no digest or no judgement', () => {
    const encrypted = { ...intact, content: { ...intact.content!, judgement: 'encrypted' as const } };
    expect(keepableDigest(encrypted, { allowed: false, newAtPath: false })).toBeUndefined();
    expect(keepableDigest(intact, { allowed: true, newAtPath: false })).toBeUndefined();
    expect(keepableDigest(intact, { allowed: false, newAtPath: true })).toBeUndefined();
    expect(
      keepableDigest({ ...intact, digest: undefined }, { allowed: false, newAtPath: false }),
    ).toBeUndefined();
    expect(
      keepableDigest({ ...intact, content: undefined }, { allowed: false, newAtPath: false }),
    ).toBeUndefined();
    expect(keepableDigest(undefined, { allowed: false, newAtPath: false })).toBeUndefined();
  });
});

describe('an analysis told which digest keeps a judgement', () => {
  const bytes = Buffer.from(
    'id,total\n' + Array.from({ length: 2000 }, (_, i) => `${i},${i * 7}`).join('\n'),
  );
  const digest = createHash('sha256').update(bytes).digest('hex');
  const request = (keepIfDigest?: string) => ({
    algorithm: 'sha256' as const,
    extraAlgorithms: [],
    detect: { size: bytes.length, claim: null, ...(keepIfDigest ? { keepIfDigest } : {}) },
  });

  it('whole: a matching digest gives `unchanged` and no measurements; any other gives the measurements', async () => {
    const kept = (await EntryAnalysis.start(request(digest))).whole(bytes);
    expect(kept).toMatchObject({ digest, bytes: bytes.length, unchanged: true });
    expect(kept.content).toBeUndefined();
    const measured = (await EntryAnalysis.start(request('00'.repeat(32)))).whole(bytes);
    expect(measured.unchanged).toBeUndefined();
    expect(measured.content?.type).toBe((await EntryAnalysis.start(request())).whole(bytes).content?.type);
  });

  it('streamed and rereadable: only digests, then asks to be read again when the digest differs', async () => {
    const other = await EntryAnalysis.start(request('00'.repeat(32)), { rereadable: true });
    other.update(bytes.subarray(0, 1000));
    other.update(bytes.subarray(1000));
    const result = other.finish();
    expect(result).toMatchObject({ digest, remeasure: true });
    expect(result.content).toBeUndefined();
    const same = await EntryAnalysis.start(request(digest), { rereadable: true });
    same.update(bytes);
    expect(same.finish()).toMatchObject({ digest, unchanged: true });
  });

  it('streamed and not rereadable: measures as it goes, and still reports `unchanged` when the digest matches', async () => {
    const once = await EntryAnalysis.start(request('00'.repeat(32)));
    once.update(bytes);
    const result = once.finish();
    expect(result.remeasure).toBeUndefined();
    expect(result.content).toBeDefined();
    const same = await EntryAnalysis.start(request(digest));
    same.update(bytes);
    expect(same.finish()).toMatchObject({ digest, unchanged: true });
  });
});

describe('the detection a judgement is stamped with', () => {
  it('changes with any byte or name of the detection code, not only with the version number', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'vouch-revision-'));
    try {
      mkdirSync(path.join(root, 'validators'));
      writeFileSync(path.join(root, 'classify.ts'), 'export const threshold = 1;\n');
      writeFileSync(path.join(root, 'validators', 'gzip.ts'), 'export {};\n');
      writeFileSync(path.join(root, 'README.md'), 'not code\n');
      const before = hashSourceTree(root);
      writeFileSync(path.join(root, 'README.md'), 'still not code\n');
      expect(hashSourceTree(root)).toBe(before);
      writeFileSync(path.join(root, 'classify.ts'), 'export const threshold = 2;\n');
      const changed = hashSourceTree(root);
      expect(changed).not.toBe(before);
      renameSync(path.join(root, 'validators', 'gzip.ts'), path.join(root, 'validators', 'zip.ts'));
      expect(hashSourceTree(root)).not.toBe(changed);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    expect(detectionVersion()).toMatch(/^\d+\.\d+\.\d+.*\+detection\.[0-9a-f]{16}$/);
  });
});
