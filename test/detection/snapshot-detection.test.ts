import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECTION } from '../../agent/config/resolve-policy.js';
import {
  massChangeFinding,
  renameSource,
  SnapshotDetection,
} from '../../agent/detection/snapshot-detection.js';
import type { ManifestEntry } from '../../agent/model/manifest.js';
import { ransomNote } from '../../agent/demo/ransomware.js';
import { featuresOf } from '../helpers/detect.js';
import { findByExtension } from '../helpers/machine-files.js';
import { applyRansomware } from '../helpers/ransomware-modes.js';

const library = readFileSync(
  findByExtension(['.so'], 1, { minSize: 200_000, maxSize: 4 * 2 ** 20 })[0]!.path,
);

function entry(path: string, size: number, digest = path): ManifestEntry {
  return { path, type: 'file', size, digest };
}

describe('rename pairing', () => {
  const missing = new Map([
    ['docs/a.pdf', entry('docs/a.pdf', 1000)],
    ['docs/b.xlsx', entry('docs/b.xlsx', 5000)],
    ['bin/tool', entry('bin/tool', 70_000)],
  ]);

  it('pairs an appended extension, a replaced one, and an extensionless file', () => {
    expect(renameSource('docs/a.pdf.lockbit', 1512, missing)?.path).toBe('docs/a.pdf');
    expect(renameSource('docs/b.crypt', 5000, missing)?.path).toBe('docs/b.xlsx');
    expect(renameSource('bin/tool.id-8F2A.[mail@evil].akira', 70_256, missing)?.path).toBe('bin/tool');
  });

  it('does not pair files of very different sizes or in another folder', () => {
    expect(renameSource('docs/a.pdf.lockbit', 10, missing)).toBeNull();
    expect(renameSource('other/a.pdf.lockbit', 1000, missing)).toBeNull();
  });
});

describe('mass change', () => {
  const policy = DEFAULT_DETECTION.massChange;

  it('flags a change rate five times the set median and over 20 %', () => {
    expect(massChangeFinding({ changed: 300, changeRate: 0.3 }, [0.02, 0.03, 0.025], policy)).toMatchObject({
      kind: 'mass-change',
    });
  });

  it('does not flag the set’s usual churn, small snapshots, or rates under the floor', () => {
    expect(massChangeFinding({ changed: 300, changeRate: 0.3 }, [0.25, 0.3, 0.28], policy)).toBeNull();
    expect(massChangeFinding({ changed: 10, changeRate: 0.9 }, [0.01, 0.01, 0.01], policy)).toBeNull();
    expect(massChangeFinding({ changed: 150, changeRate: 0.15 }, [0.01, 0.01, 0.01], policy)).toBeNull();
  });

  it('needs a majority changed while the set has too little history', () => {
    expect(massChangeFinding({ changed: 300, changeRate: 0.3 }, [0.01], policy)).toBeNull();
    expect(massChangeFinding({ changed: 600, changeRate: 0.6 }, [], policy)).toMatchObject({
      kind: 'mass-change',
    });
  });
});

describe('snapshot detection', () => {
  it('judges a renamed file against the file it replaced and reports the rename', () => {
    const before = new SnapshotDetection(DEFAULT_DETECTION, null);
    const original = before.judge({
      path: 'bin/tool',
      size: library.length,
      digest: 'a',
      features: featuresOf(library),
    });
    const previous = new Map([
      ['bin/tool', { ...entry('bin/tool', library.length, 'a'), content: original.classification.summary }],
    ]);
    const detection = new SnapshotDetection(DEFAULT_DETECTION, previous);
    const encrypted = applyRansomware(library, 'whole', 'tool');
    const judged = detection.judge({
      path: 'bin/tool.akira',
      size: encrypted.length,
      digest: 'b',
      features: featuresOf(encrypted),
    });
    // Without its history the renamed file is only statistically random…
    expect(judged.findings).toEqual([]);
    expect(detection.isPending('bin/tool.akira')).toBe(true);
    const { findings, summary } = detection.finish(true);
    // …paired with bin/tool, its structured past makes the judgement strong.
    expect(findings.map((f) => [f.kind, f.path, f.severity])).toEqual([
      ['extension-change', 'bin/tool.akira', 'warning'],
      ['encrypted', 'bin/tool.akira', 'critical'],
    ]);
    expect(summary).toMatchObject({ files: 1, encryptedStrong: 1, renamed: 1, changed: 1, changeRate: 1 });
  });

  it('reports a ransom note, unless the policy allows that path', () => {
    const note = Buffer.from(ransomNote(5));
    const detection = new SnapshotDetection(DEFAULT_DETECTION, null);
    expect(
      detection.judge({ path: 'HOW_TO_DECRYPT.txt', size: note.length, features: featuresOf(note) }).findings,
    ).toMatchObject([{ kind: 'ransom-note', severity: 'critical' }]);
    const allowing = new SnapshotDetection({ ...DEFAULT_DETECTION, allow: ['security-training/**'] }, null);
    expect(
      allowing.judge({
        path: 'security-training/HOW_TO_DECRYPT.txt',
        size: note.length,
        features: featuresOf(note),
      }).findings,
    ).toEqual([]);
  });

  it('takes compression in place (img.png → img.png.gz, as gzip FILE does) for what it is, and still reports a rename its bytes do not explain', () => {
    // An already compressed file keeps its size when gzipped again, so the scan pairs the two.
    const image = readFileSync(
      findByExtension(['.png', '.jpg'], 1, { minSize: 20_000, maxSize: 2 ** 20 })[0]!.path,
    );
    const compressed = gzipSync(image);
    const before = new SnapshotDetection(DEFAULT_DETECTION, null);
    const previous = new Map<string, ManifestEntry>();
    for (let i = 0; i < 12; i++) {
      const path = `img/photo-${i}.png`;
      previous.set(path, {
        ...entry(path, image.length, `p${i}`),
        content: before.judge({ path, size: image.length, digest: `p${i}`, features: featuresOf(image) })
          .classification.summary,
      });
    }
    const detection = new SnapshotDetection(DEFAULT_DETECTION, previous);
    for (let i = 0; i < 11; i++)
      detection.judge({
        path: `img/photo-${i}.png.gz`,
        size: compressed.length,
        digest: `g${i}`,
        features: featuresOf(compressed),
      });
    // The same valid gzip under a name that claims nothing is a rename ransomware would make.
    detection.judge({
      path: 'img/photo-11.png.akira',
      size: compressed.length,
      digest: 'g11',
      features: featuresOf(compressed),
    });
    const { findings, summary } = detection.finish(true);
    expect(summary.renamed).toBe(12);
    expect(findings.map((f) => [f.kind, f.path])).toEqual([['extension-change', 'img/photo-11.png.akira']]);
  });

  it('flags a mass rename to one extension', () => {
    const previous = new Map<string, ManifestEntry>();
    const detection = new SnapshotDetection(DEFAULT_DETECTION, previous);
    for (let i = 0; i < 12; i++) previous.set(`d/f${i}.txt`, entry(`d/f${i}.txt`, 100));
    for (let i = 0; i < 12; i++)
      detection.judge({
        path: `d/f${i}.txt.akira`,
        size: 100,
        digest: `x${i}`,
        features: featuresOf(Buffer.from('x'.repeat(100))),
      });
    const { findings } = detection.finish(true);
    expect(findings.filter((f) => f.kind === 'mass-change').map((f) => f.detail)).toContain(
      '12 files renamed to *.akira',
    );
  });
});
