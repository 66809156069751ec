/**
 * Restore drills of restic snapshots: the snapshot streams out of the real restic binary into the
 * same safe writer as any archive, then the ready PostgreSQL and SQLite checks run in the sandbox.
 */
import { lstat, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { SetPolicy } from '../../agent/config/resolve-policy.js';
import { demoBackupTime, demoSnapshotFiles, ransomwareHit } from '../../agent/demo/estate.js';
import { initResticRepository, resticBackup } from '../../agent/demo/restic-repository.js';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';
import { drillFixture, policyOf } from '../helpers/drill-fixtures.js';

const DIR = fileURLToPath(new URL('../../restore-drills/', import.meta.url));
const start = new Date('2026-11-01T00:00:00Z');
let state: string;
let set: SetPolicy;
let scan: ScanReport;
let repository: string;

beforeAll(async () => {
  const fixture = await drillFixture('vouch-restic-drill-');
  state = fixture.state;
  const work = await mkdtemp(path.join(tmpdir(), 'vouch-restic-repo-'));
  repository = path.join(work, 'repo');
  const passwordFile = path.join(work, 'restic.pw');
  await writeFile(passwordFile, 'kanda-demo-restic\n', { mode: 0o600 });
  await initResticRepository({ repository, passwordFile });
  for (const day of [2, 3])
    await resticBackup(
      { repository, passwordFile },
      await demoSnapshotFiles(day, { start }),
      demoBackupTime(day, start),
      { host: 'kanda-db1' },
    );
  await resticBackup(
    { repository, passwordFile },
    ransomwareHit(await demoSnapshotFiles(4, { start })),
    demoBackupTime(4, start),
    { host: 'kanda-db1' },
  );

  // The ready drill for the demo's order system, pointed at the restic repository.
  const document = parse(await readFile(path.join(DIR, 'kanda-orders.yaml'), 'utf8'));
  document.sets.orders.source = { restic: { repository, passwordFile } };
  delete document.sets.orders.snapshots;
  delete document.state;
  [set] = validatePolicy(document, path.join(DIR, 'kanda-orders.yaml'), DIR).sets as [SetPolicy];
  scan = await runScan(policyOf(set), { stateDir: state });
}, 240_000);

describe('restore drills of restic snapshots', () => {
  it('scans the restic history: two clean snapshots, the one after the hit compromised', () => {
    expect(scan.sets[0]!.snapshots.map((s) => s.verdict)).toEqual(['clean', 'clean', 'compromised']);
  });

  it('restores the last clean snapshot through the safe writer and passes the PostgreSQL and SQLite checks', async () => {
    const report = await runDrillReport(set, { stateDir: state });
    expect(report.snapshot).toBe(scan.sets[0]!.snapshots[1]!.id);
    expect(report.pick).toBe('last-clean');
    expect(report.failures).toEqual([]);
    expect(report.outcome).toBe('passed');
    expect(report.verifiers.map((outcome) => `${outcome.verifier}: ${outcome.detail}`)).toEqual([
      expect.stringMatching(/^digest: all \d+ entries match the baseline/),
      expect.stringMatching(/^structure: /),
      expect.stringMatching(/^postgres: 1 dump restored into PostgreSQL \d+; 6 checks passed$/),
      'sqlite: 3 SQLite checks passed',
      'commands: 3 commands passed',
    ]);
    expect(report.restore!.complete).toBe(true);
    expect(report.restore!.entries).toBe(scan.sets[0]!.snapshots[1]!.entries);
    expect(report.phases.extract).toBeGreaterThan(0);
  }, 180_000);

  it('fails a drill of the snapshot taken after the hit, naming the broken database', async () => {
    const report = await runDrillReport(set, { stateDir: state, snapshot: scan.sets[0]!.snapshots[2]!.id });
    expect(report.outcome).toBe('failed');
    expect(
      report.failures.some(
        (failure) => failure.verifier === 'postgres' && /db\/orders\.sql/.test(failure.path ?? ''),
      ),
    ).toBe(true);
  }, 180_000);

  it('leaves the repository as it was (a drill only reads)', async () => {
    expect((await lstat(path.join(repository, 'config'))).isFile()).toBe(true);
  });
});
