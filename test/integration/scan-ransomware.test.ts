import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { ransomNote } from '../../agent/demo/ransomware.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';
import { lastCleanForSet } from '../../agent/cli/last-clean.js';
import { buildTarGz } from '../helpers/build-archive.js';
import { findByExtension, findMachineFiles } from '../helpers/machine-files.js';
import { applyRansomware, type RansomwareMode } from '../helpers/ransomware-modes.js';

/**
 * A backup history made of real files from this machine: five clean nightly snapshots in which a
 * few files change every day, then a sixth taken after a ransomware hit. Scanned as plain-file
 * directories and as .tar.gz archives.
 */
interface RealFile {
  path: string;
  data: Buffer;
}

let root: string;
let files: RealFile[];
const DAYS = 5;

function realFiles(): RealFile[] {
  const picked = [
    ...findByExtension(['.gz'], 25, { minSize: 3000, maxSize: 2 * 2 ** 20 }).map((f) => ['docs', f] as const),
    ...findByExtension(['.png'], 25, { minSize: 3000, maxSize: 2 * 2 ** 20 }).map(
      (f) => ['images', f] as const,
    ),
    ...findByExtension(['.jar', '.whl'], 10, { minSize: 3000, maxSize: 4 * 2 ** 20 }).map(
      (f) => ['packages', f] as const,
    ),
    ...findByExtension(['.so'], 15, { minSize: 3000, maxSize: 4 * 2 ** 20 }).map((f) => ['lib', f] as const),
    ...findMachineFiles({
      name: (name) => /\.(txt|html|py|conf)$/.test(name),
      limit: 25,
      minSize: 1000,
      maxSize: 512 * 1024,
    }).map((f) => ['text', f] as const),
  ];
  const seen = new Set<string>();
  return picked.flatMap(([folder, file]) => {
    const name = `${folder}/${path.basename(file.path)}`;
    if (seen.has(name)) return [];
    seen.add(name);
    return [{ path: name, data: readFileSync(file.path) }];
  });
}

/** Day `day` of the history: text files grow by a line a day, everything else is unchanged. */
function snapshotFiles(day: number): RealFile[] {
  return files.map((file) =>
    file.path.startsWith('text/') && file.path.endsWith('.txt')
      ? { ...file, data: Buffer.concat([file.data, Buffer.from(`\nday ${day}\n`)]) }
      : file,
  );
}

/** The ransomware hit: a mix of modes, renames for whole-file encryption, and a note. */
function hit(day: number): RealFile[] {
  const modes: RansomwareMode[] = [
    'whole',
    'first-4k',
    'header-kept',
    'intermittent-16-16',
    'intermittent-64-192',
    'chunks-3x10',
    'footer',
    'rename',
  ];
  const out: RealFile[] = [{ path: 'HOW_TO_DECRYPT.txt', data: Buffer.from(ransomNote(11)) }];
  snapshotFiles(day).forEach((file, index) => {
    // Two files in three are hit; the rest are untouched (the hit was stopped part-way).
    if (index % 3 === 2) return void out.push(file);
    const mode = modes[index % modes.length]!;
    const data = applyRansomware(file.data, mode, file.path);
    out.push({ path: mode === 'rename' || mode === 'footer' ? `${file.path}.akira` : file.path, data });
  });
  return out;
}

const date = (day: number) => `2025-10-${String(10 + day).padStart(2, '0')}`;

async function writeDirectory(base: string, name: string, content: RealFile[]) {
  for (const file of content) {
    const target = path.join(base, name, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.data);
  }
}

function policy(base: string, layout: 'archive' | 'directory') {
  const match =
    layout === 'archive'
      ? '^nightly-(?<time>\\d{4}-\\d{2}-\\d{2})\\.tar\\.gz$'
      : '^(?<time>\\d{4}-\\d{2}-\\d{2})$';
  return validatePolicy(
    { sets: { files: { source: { fs: { path: base } }, snapshots: { layout, match } } } },
    'test policy',
    root,
  );
}

const verdicts = (report: ScanReport) => report.sets[0]!.snapshots.map((s) => [s.id, s.verdict]);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-ransomware-'));
  files = realFiles();
});

describe.each(['directory', 'archive'] as const)(
  'a ransomware hit in a history of real files (%s snapshots)',
  (layout) => {
    let clean: ScanReport;
    let after: ScanReport;
    let state: string;

    beforeAll(async () => {
      const base = path.join(root, layout);
      state = path.join(root, `state-${layout}`);
      const write = async (day: number, content: RealFile[]) =>
        layout === 'directory'
          ? writeDirectory(base, date(day), content)
          : writeFile(path.join(base, `nightly-${date(day)}.tar.gz`), await buildTarGz(content));
      await mkdir(base, { recursive: true });
      for (let day = 0; day < DAYS; day++) await write(day, snapshotFiles(day));
      clean = await runScan(policy(base, layout), { stateDir: state });
      await write(DAYS, hit(DAYS));
      after = await runScan(policy(base, layout), { stateDir: state });
    }, 180_000);

    const id = (day: number) => (layout === 'archive' ? `nightly-${date(day)}` : date(day));

    it('calls every snapshot of the clean history clean, with no findings at all', () => {
      expect(files.length).toBeGreaterThan(80);
      expect(verdicts(clean)).toEqual(Array.from({ length: DAYS }, (_, day) => [id(day), 'clean']));
      expect(clean.sets[0]!.snapshots.flatMap((s) => s.findings)).toEqual([]);
    });

    it('calls the snapshot after the hit compromised: ransom note, encrypted files, renames', () => {
      const snapshot = after.sets[0]!.snapshots.find((s) => s.id === id(DAYS))!;
      expect(snapshot.verdict).toBe('compromised');
      expect(snapshot.findingCounts['ransom-note']).toBe(1);
      expect(snapshot.findingCounts['extension-change']).toBeGreaterThanOrEqual(10);
      const untouched = snapshotFiles(DAYS);
      const hitFiles = hit(DAYS).filter(
        (file, index) =>
          index > 0 && !untouched.some((f) => f.path === file.path && f.data.equals(file.data)),
      );
      // Every hit file is named as encrypted.
      const encrypted = new Set(snapshot.findings.filter((f) => f.kind === 'encrypted').map((f) => f.path));
      const missed = hitFiles.filter((file) => !encrypted.has(file.path)).map((file) => file.path);
      expect(missed).toEqual([]);
    });

    it('names the last clean snapshot and says why the newer one was rejected', async () => {
      expect(after.sets[0]!.lastClean).toBe(id(DAYS - 1));
      const report = await lastCleanForSet(state, 'files');
      expect(report.lastClean?.id).toBe(id(DAYS - 1));
      expect(report.rejected.map((r) => r.id)).toEqual([id(DAYS)]);
      expect(report.rejected[0]!.reasons.map((r) => r.kind).slice(0, 2)).toEqual([
        'ransom-note',
        'encrypted',
      ]);
    });
  },
);
