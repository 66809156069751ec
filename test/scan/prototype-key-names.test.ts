/**
 * Names that are keys of every JavaScript object's prototype (`constructor`, `__proto__`) are
 * ordinary names in a backup. They used to be looked up in plain-object tables: `x.constructor`
 * then "claimed" the type `Object` (a function, which cannot be posted to a worker), and every
 * file posted with it failed to read; a `constructor` at a snapshot's root was taken for a
 * checksum list. One such file made a whole snapshot `unverified`. A snapshot folder of such a
 * name had its state stored as the index's prototype, i.e. never written.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { typeClaimedBy } from '../../agent/detection/content-type.js';
import { sumsFileAlgorithm } from '../../agent/integrity/sums-file.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { findByExtension, type MachineFile } from '../helpers/machine-files.js';

const HOSTILE = [
  'constructor',
  '__proto__',
  'x.constructor',
  'y.__proto__',
  'z.CONSTRUCTOR',
  'hasOwnProperty',
];

let base = '';
let files: MachineFile[] = [];

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'vouch-proto-names-'));
  files = findByExtension(['.py', '.gz', '.png', '.so', '.mo'], 40, { maxSize: 2 ** 20 });
  expect(files.length).toBeGreaterThan(20);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A snapshot folder of machine files plus the hostile names at its root and in a sub-folder. */
function fillSnapshot(dir: string): number {
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  files.forEach((file, i) => copyFileSync(file.path, path.join(dir, `${i}-${path.basename(file.path)}`)));
  for (const name of HOSTILE) {
    writeFileSync(path.join(dir, name), `plain text named ${name}\n`);
    writeFileSync(path.join(dir, 'sub', name), `plain text named sub/${name}\n`);
  }
  return files.length + 2 * HOSTILE.length;
}

/** A policy of one set `s` of the folder `root`, snapshots as `snapshots` says, detection on. */
function detectingPolicy(root: string, snapshots: { layout: 'directory' | 'archive'; match: string }) {
  return validatePolicy(
    { sets: { s: { source: { fs: { path: root } }, snapshots, detection: { enabled: true } } } },
    'test',
    base,
  );
}

describe('names that are prototype keys', () => {
  it('claim no type and name no checksum list', () => {
    for (const name of HOSTILE) {
      expect(typeClaimedBy(`dir/${name}`)).toBeNull();
      expect(sumsFileAlgorithm(name)).toBeUndefined();
    }
    expect(typeClaimedBy('a/b.png')).toBe('png');
    expect(sumsFileAlgorithm('SHA256SUMS')).toBe('sha256');
  });

  it('a directory snapshot holding them reads clean, every file read', async () => {
    const root = path.join(base, 'dir-set');
    const files = fillSnapshot(path.join(root, 'snap-20260101'));
    const policy = detectingPolicy(root, { layout: 'directory', match: '^snap-(?<time>\\d{8})$' });
    const report = await runScan(policy, { stateDir: path.join(base, 'dir-state') });
    const [snapshot] = report.sets[0]!.snapshots;
    expect(snapshot!.findings).toEqual([]);
    expect([snapshot!.verdict, snapshot!.entries]).toEqual(['clean', files]);
  });

  it('an archive set with them inside and beside the archives reads clean', async () => {
    const root = path.join(base, 'archive-set');
    const content = path.join(base, 'archive-content');
    const members = fillSnapshot(content);
    mkdirSync(root, { recursive: true });
    execFileSync('tar', ['-C', content, '-czf', path.join(root, 'snap-20260101.tar.gz'), '.']);
    // Beside the archives, at the set's root: still no checksum lists, no snapshots.
    writeFileSync(path.join(root, 'constructor'), 'not a checksum list\n');
    writeFileSync(path.join(root, '__proto__'), 'not a checksum list\n');
    const policy = detectingPolicy(root, { layout: 'archive', match: '^snap-(?<time>\\d{8})\\.tar\\.gz$' });
    const report = await runScan(policy, { stateDir: path.join(base, 'archive-state') });
    const snapshots = report.sets[0]!.snapshots;
    expect(snapshots.map((snapshot) => snapshot.id)).toEqual(['snap-20260101']);
    expect(snapshots[0]!.findings).toEqual([]);
    expect(snapshots[0]!.verdict).toBe('clean');
    // The archive holds `./sub` as a directory entry besides the files.
    expect(snapshots[0]!.entries).toBe(members + 1);
  });

  it('snapshot folders named so are snapshots like any other, their states kept scan after scan', async () => {
    const root = path.join(base, 'named-snapshots');
    for (const [name, day] of [
      ['__proto__', '2026-01-01'],
      ['constructor', '2026-01-02'],
      ['snap-c', '2026-01-03'],
    ] as const) {
      fillSnapshot(path.join(root, name));
      execFileSync('sh', [
        '-c',
        `find "${path.join(root, name)}" -exec touch -h -d @${Date.parse(`${day}T00:00:00Z`) / 1000} {} +`,
      ]);
    }
    const policy = validatePolicy(
      { sets: { n: { source: { fs: { path: root } }, snapshots: { layout: 'directory' } } } },
      'test',
      base,
    );
    const stateDir = path.join(base, 'named-state');
    for (let scan = 0; scan < 2; scan++) {
      const report = await runScan(policy, { stateDir });
      expect(report.sets[0]!.snapshots.map((snapshot) => [snapshot.id, snapshot.verdict])).toEqual([
        ['__proto__', 'clean'],
        ['constructor', 'clean'],
        ['snap-c', 'clean'],
      ]);
    }
    const index = await readSetIndex(stateDir, 'n');
    expect(Object.keys(index.snapshots).sort()).toEqual(['__proto__', 'constructor', 'snap-c']);
    expect(index.snapshots['__proto__']!.verdict).toBe('clean');
    expect(index.snapshots['constructor']!.time).toBe('2026-01-02T00:00:00.000Z');
  });
});
