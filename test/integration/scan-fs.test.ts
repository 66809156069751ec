import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';
import {
  buildTarGz,
  buildTarZst,
  buildZip,
  sampleFiles,
  type FixtureFile,
} from '../helpers/build-archive.js';

let root: string;
let backups: string;
let state: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-scan-fs-'));
  backups = path.join(root, 'backups');
  state = path.join(root, 'state');
  await mkdir(backups);
});

function policy(layout: 'archive' | 'directory', match?: string) {
  return validatePolicy(
    {
      sets: {
        orders: { source: { fs: { path: backups } }, snapshots: { layout, ...(match ? { match } : {}) } },
      },
    },
    'test policy',
    root,
  );
}

const scan = async (layout: 'archive' | 'directory', match?: string) =>
  runScan(policy(layout, match), { stateDir: state });
const snapshotsOf = (report: ScanReport) => report.sets[0]!.snapshots;
const kindsOf = (report: ScanReport, id: string) =>
  snapshotsOf(report)
    .find((s) => s.id === id)!
    .findings.map((f) => `${f.kind} ${f.path}`)
    .sort();

async function writeDirectorySnapshot(name: string, files: readonly FixtureFile[]) {
  for (const file of files) {
    const target = path.join(backups, name, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.data);
  }
}

describe('scanning an offline volume of archives', () => {
  const match = '^orders-(?<time>\\d{8})\\.(tar\\.gz|tar\\.zst|zip)$';

  beforeEach(async () => {
    await writeFile(path.join(backups, 'orders-20251017.tar.gz'), await buildTarGz(sampleFiles(1)));
    await writeFile(path.join(backups, 'orders-20251018.tar.zst'), await buildTarZst(sampleFiles(2)));
    await writeFile(path.join(backups, 'orders-20251019.zip'), await buildZip(sampleFiles(3)));
  });

  it('reports a clean history as clean, baselines it, and stays clean on re-scan', async () => {
    const first = await scan('archive', match);
    expect(snapshotsOf(first).map((s) => [s.id, s.verdict, s.entries])).toEqual([
      ['orders-20251017', 'clean', 4],
      ['orders-20251018', 'clean', 4],
      ['orders-20251019', 'clean', 4],
    ]);
    expect(first.sets[0]!.lastClean).toBe('orders-20251019');
    const second = await scan('archive', match);
    expect(snapshotsOf(second).every((s) => s.verdict === 'clean' && s.deep && s.findings.length === 0)).toBe(
      true,
    );
  });

  it('names modified, added and missing entries when an old archive is rewritten', async () => {
    await scan('archive', match);
    const files = sampleFiles(1);
    files[0] = { path: 'db/orders.sql', data: `${files[0]!.data}INSERT INTO orders VALUES (999);\n` };
    files.splice(1, 1); // exports/orders.csv removed
    files.push({ path: 'HOW_TO_RECOVER.txt', data: 'pay us' });
    await writeFile(path.join(backups, 'orders-20251017.tar.gz'), await buildTarGz(files));

    const report = await scan('archive', match);
    const hit = snapshotsOf(report)[0]!;
    expect(hit.verdict).toBe('compromised');
    expect(kindsOf(report, 'orders-20251017')).toEqual([
      'drift-added HOW_TO_RECOVER.txt',
      'drift-missing exports/orders.csv',
      'drift-modified db/orders.sql',
      'drift-object-changed orders-20251017.tar.gz',
    ]);
    expect(report.sets[0]!.lastClean).toBe('orders-20251019');
    expect(
      snapshotsOf(report)
        .slice(1)
        .every((s) => s.verdict === 'clean'),
    ).toBe(true);
  });

  it('calls a shortened entry truncated', async () => {
    await scan('archive', match);
    const files = sampleFiles(3).map((file) =>
      file.path === 'exports/orders.csv' ? { ...file, data: String(file.data).slice(0, 100) } : file,
    );
    await writeFile(path.join(backups, 'orders-20251019.zip'), await buildZip(files));
    const report = await scan('archive', match);
    expect(kindsOf(report, 'orders-20251019')).toContain('drift-truncated exports/orders.csv');
  });

  it('marks a truncated archive unverified on first sight and names the entry', async () => {
    const whole = await buildTarGz(sampleFiles(4));
    await writeFile(
      path.join(backups, 'orders-20251020.tar.gz'),
      whole.subarray(0, Math.floor(whole.length / 2)),
    );
    const report = await scan('archive', match);
    const broken = snapshotsOf(report).find((s) => s.id === 'orders-20251020')!;
    expect(broken.verdict).toBe('unverified');
    expect(broken.complete).toBe(false);
    expect(broken.findings.some((f) => f.kind === 'read-error')).toBe(true);
    expect(report.sets[0]!.lastClean).toBe('orders-20251019');
  });

  it('verifies archives against a SHA256SUMS the backup tool left beside them', async () => {
    const sum = (data: Buffer) => createHash('sha256').update(data).digest('hex');
    const good = await buildTarGz(sampleFiles(1));
    await writeFile(path.join(backups, 'orders-20251017.tar.gz'), good);
    await writeFile(
      path.join(backups, 'SHA256SUMS'),
      `${sum(good)}  orders-20251017.tar.gz\n${'0'.repeat(64)}  orders-20251018.tar.zst\n`,
    );
    const report = await scan('archive', match);
    expect(snapshotsOf(report).map((s) => s.verdict)).toEqual(['clean', 'compromised', 'clean']);
    expect(kindsOf(report, 'orders-20251018')).toEqual(['sums-mismatch orders-20251018.tar.zst']);
  });

  it('notices a snapshot removed from the volume after its baseline', async () => {
    await scan('archive', match);
    await rm(path.join(backups, 'orders-20251018.tar.zst'));
    const report = await scan('archive', match);
    expect(report.sets[0]!.removed).toEqual(['orders-20251018']);
  });
});

describe('scanning an offline volume of directory snapshots', () => {
  beforeEach(async () => {
    await writeDirectorySnapshot('2025-10-18', sampleFiles(1));
    await writeDirectorySnapshot('2025-10-19', sampleFiles(2));
  });

  it('detects every drift kind in place: modified, truncated, missing, added', async () => {
    expect(snapshotsOf(await scan('directory')).map((s) => s.verdict)).toEqual(['clean', 'clean']);
    const dir = path.join(backups, '2025-10-18');
    await writeFile(path.join(dir, 'README.txt'), 'backup of day 9\n'); // same size, new content
    await truncate(path.join(dir, 'exports/orders.csv'), 10);
    await rm(path.join(dir, 'images/logo.bin'));
    await writeFile(path.join(dir, 'db/orders.sql.kandalock'), 'ciphertext');
    const report = await scan('directory');
    expect(kindsOf(report, '2025-10-18')).toEqual([
      'drift-added db/orders.sql.kandalock',
      'drift-missing images/logo.bin',
      'drift-modified README.txt',
      'drift-truncated exports/orders.csv',
    ]);
    expect(report.sets[0]!.lastClean).toBe('2025-10-19');
  });

  it('checks a SHA256SUMS inside the snapshot', async () => {
    const files = sampleFiles(3);
    const lines = files.map((f) => `${createHash('sha256').update(f.data).digest('hex')}  ${f.path}`);
    lines[1] = `${'f'.repeat(64)}  exports/orders.csv`;
    await writeDirectorySnapshot('2025-10-20', [
      ...files,
      { path: 'SHA256SUMS', data: `${lines.join('\n')}\n${'e'.repeat(64)}  gone.txt\n` },
    ]);
    const report = await scan('directory');
    expect(kindsOf(report, '2025-10-20')).toEqual([
      'sums-mismatch exports/orders.csv',
      'sums-mismatch gone.txt',
    ]);
  });

  it('refuses a second writer on the same state directory', async () => {
    const [a, b] = await Promise.allSettled([scan('directory'), scan('directory')]);
    expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = [a, b].find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(rejected.reason)).toMatch(/state directory .* is in use by pid/);
  });
});
