import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { createWorkspace, updateMarker } from '../../agent/drills/workspace.js';
import { StateLockedError } from '../../agent/errors.js';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { startEmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { readLedger } from '../../agent/ledger/ledger-store.js';
import { buildTarGz, buildZip, sampleFiles, type FixtureFile } from '../helpers/build-archive.js';
import {
  drillFixture,
  drillSet,
  listTree,
  policyOf,
  processesMentioning,
  type DrillFixture,
} from '../helpers/drill-fixtures.js';

let fixture: DrillFixture;

beforeEach(async () => {
  fixture = await drillFixture();
});

afterEach(() => {
  delete process.env.VOUCH_BWRAP;
});

const put = async (name: string, files: readonly FixtureFile[]) =>
  writeFile(path.join(fixture.volume, name), await buildTarGz(files));
const scan = (...sets: ReturnType<typeof drillSet>[]) =>
  runScan(policyOf(...sets), { stateDir: fixture.state });
const workLeft = () => listTree(path.join(fixture.state, 'drills', 'work'));

const CONTRACT_KEYS = [
  'id',
  'set',
  'snapshot',
  'snapshotTime',
  'pick',
  'startedAt',
  'finishedAt',
  'outcome',
  'phases',
  'durationSeconds',
  'rtoTargetSeconds',
  'withinRto',
  'sample',
  'projectedFullRestoreSeconds',
  'failures',
  'ledgerSeq',
].sort();

describe('restore drills', () => {
  it('restores the last clean snapshot, verifies every digest against the baseline and records a signed result', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    await put('orders-20251018.tar.gz', sampleFiles(2));
    const set = drillSet(fixture, { extra: { targets: { rto: '2h', rpo: '24h' } } });
    await scan(set);
    const report = await runDrillReport(set, { stateDir: fixture.state });

    expect(report).toMatchObject({
      outcome: 'passed',
      snapshot: 'orders-20251018',
      pick: 'last-clean',
      failures: [],
      rtoTargetSeconds: 7200,
      withinRto: true,
      projectedFullRestoreSeconds: null,
    });
    expect(report.sample).toMatchObject({ fraction: 1, entries: 4 });
    expect(report.phases.extract).toBeGreaterThan(0);
    expect(report.phases.fetch).toBe(0); // an offline volume is read in place
    expect(report.verifiers.find((outcome) => outcome.verifier === 'digest')).toMatchObject({
      status: 'passed',
      detail: 'all 4 entries match the baseline (sha256)',
    });
    expect(report.verifiers.find((outcome) => outcome.verifier === 'structure')?.status).toBe('passed');

    const index = await readDrillIndex(fixture.state, 'orders');
    expect(index.drills).toHaveLength(1);
    expect(Object.keys(index.drills[0]!).sort()).toEqual(CONTRACT_KEYS);
    expect(index.drills[0]!.ledgerSeq).toBe(report.ledgerSeq);
    const records = [];
    for await (const record of readLedger(fixture.state)) records.push(record!);
    expect(records.at(-1)).toMatchObject({
      type: 'drill',
      seq: report.ledgerSeq,
      data: { id: report.id, outcome: 'passed' },
    });
    expect((await verifyLedger(fixture.state)).ok).toBe(true);
    expect(await workLeft()).toEqual([]);
  });

  it('restores a directory snapshot of plain files', async () => {
    for (const file of sampleFiles(3)) {
      const target = path.join(fixture.volume, '2025-10-19', file.path);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.data);
    }
    const set = drillSet(fixture, {
      extra: { snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' } },
      drill: { commands: ['test -s db/orders.sql && test -s images/logo.bin'] },
    });
    await scan(set);
    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report).toMatchObject({ outcome: 'passed', snapshot: '2025-10-19', sample: { entries: 4 } });
    expect(report.verifiers.find((outcome) => outcome.verifier === 'digest')!.detail).toBe(
      'all 4 entries match the baseline (sha256)',
    );
  });

  it('fails, naming each file, when the restored bytes differ from the baseline', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    const set = drillSet(fixture);
    await scan(set);
    const files = sampleFiles(1).map((file) =>
      file.path === 'db/orders.sql'
        ? { ...file, data: `${file.data}INSERT INTO orders VALUES (1);\n` }
        : file,
    );
    await put(
      'orders-20251017.tar.gz',
      files.filter((file) => file.path !== 'README.txt'),
    );
    const report = await runDrillReport(set, { stateDir: fixture.state, snapshot: 'orders-20251017' });
    expect(report.outcome).toBe('failed');
    expect(report.pick).toBe('explicit');
    const digest = report.failures.filter((failure) => failure.verifier === 'digest');
    expect(digest.map((failure) => failure.path).sort()).toEqual(['README.txt', 'db/orders.sql']);
    expect(digest.find((failure) => failure.path === 'db/orders.sql')!.detail).toMatch(/content changed/);
    expect(digest.find((failure) => failure.path === 'README.txt')!.detail).toMatch(/was not restored/);
  });

  it('picks the last clean snapshot, passing over a newer compromised one', async () => {
    for (const day of [17, 18, 19]) await put(`orders-202510${day}.tar.gz`, sampleFiles(day));
    const set = drillSet(fixture);
    await scan(set);
    await put('orders-20251019.tar.gz', sampleFiles(99));
    await scan(set);
    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report).toMatchObject({
      snapshot: 'orders-20251018',
      outcome: 'passed',
      pickReason: 'newest snapshot with a clean verdict',
    });
    const latest = await runDrillReport(set, { stateDir: fixture.state, snapshot: 'latest' });
    expect(latest).toMatchObject({ snapshot: 'orders-20251019', outcome: 'failed' });
  });

  it('fails with no snapshot, saying why, when none is clean or the id is unknown', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    const set = drillSet(fixture);
    const unscanned = await runDrillReport(set, { stateDir: fixture.state });
    expect(unscanned).toMatchObject({
      outcome: 'failed',
      snapshot: null,
      snapshotTime: null,
      withinRto: null,
    });
    expect(unscanned.failures).toEqual([
      {
        verifier: 'pick',
        detail: expect.stringMatching(/none of 1 snapshots has a clean verdict yet \(run vouch scan first\)/),
      },
    ]);
    const unknown = await runDrillReport(set, { stateDir: fixture.state, snapshot: 'orders-19991231' });
    expect(unknown.failures[0]!.detail).toMatch(
      /no snapshot has the id orders-19991231 \(newest: orders-20251017\)/,
    );
  });

  it('restores a sample, always including the files application checks read, and projects the full restore', async () => {
    const { loadSqlJs } = await import('../../agent/demo/sqlite.js');
    const SQL = await loadSqlJs();
    const db = new SQL.Database();
    db.run('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);');
    const files: FixtureFile[] = Array.from({ length: 300 }, (_, i) => ({
      path: `exports/day-${i}.csv`,
      data: `id,total\n${i},${i * 3}\n`.repeat(20),
    }));
    files.push({ path: 'db/app.sqlite', data: Buffer.from(db.export()) });
    db.close();
    await put('orders-20251017.tar.gz', files);
    const set = drillSet(fixture, {
      drill: {
        sample: '10%',
        sqlite: [{ path: 'db/app.sqlite', assertions: [{ sql: 'select count(*) from t', equals: 3 }] }],
      },
    });
    await scan(set);
    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report.outcome).toBe('passed');
    expect(report.sample.fraction).toBe(0.1);
    expect(report.sample.entries).toBeGreaterThan(10);
    expect(report.sample.entries).toBeLessThan(70);
    expect(report.restore!.entries).toBe(301);
    expect(report.projectedFullRestoreSeconds).toBeGreaterThan(report.phases.extract);
    expect(report.verifiers.find((outcome) => outcome.verifier === 'digest')!.detail).toMatch(
      /^\d+ sampled entries match the baseline/,
    );
    expect(report.verifiers.find((outcome) => outcome.verifier === 'sqlite')!.status).toBe('passed');
  });

  it('judges the drill against the RTO target', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    const set = drillSet(fixture, { drill: { commands: ['sleep 1.2'] }, extra: { targets: { rto: '1s' } } });
    await scan(set);
    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report).toMatchObject({ outcome: 'passed', rtoTargetSeconds: 1, withinRto: false });
    expect(report.phases.app).toBeGreaterThan(1);
  });

  it('never runs two drills of one set at once; another set drills alongside', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    await writeFile(path.join(fixture.volume, 'stock-20251017.tar.gz'), await buildTarGz(sampleFiles(2)));
    const orders = drillSet(fixture, { drill: { commands: ['sleep 1'] } });
    const stock = drillSet(fixture, { name: 'stock' });
    await scan(orders, stock);
    const first = runDrillReport(orders, { stateDir: fixture.state });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = runDrillReport(orders, { stateDir: fixture.state }).catch((error: unknown) => error);
    const other = await runDrillReport(stock, { stateDir: fixture.state });
    const blocked = await second;
    expect(blocked).toBeInstanceOf(StateLockedError);
    expect(String(blocked)).toMatch(/the drill lock of set orders is in use by pid \d+ .*\(drill orders-/);
    expect(other.outcome).toBe('passed');
    expect((await first).outcome).toBe('passed');
  });

  it('records a drill killed mid-restore as aborted at the next start, and removes what it left', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    const set = drillSet(fixture);
    await scan(set);
    const victim = path.join(fixture.root, 'victim');
    await mkdir(victim);
    await writeFile(path.join(victim, 'keep'), 'keep');
    const dead = await createWorkspace(fixture.state, {
      id: 'orders-20251101T000000Z-dead',
      set: 'orders',
      pick: 'last-clean',
      startedAt: '2025-11-01T00:00:00.000Z',
      pid: 2 ** 22 + 4321,
      host: hostname(),
      snapshot: 'orders-20251017',
      snapshotTime: '2025-10-17T00:00:00.000Z',
    });
    await updateMarker(dead, { phase: 'extract', phases: { fetch: 0, extract: 12.5, verify: 0, app: 0 } });
    await writeFile(path.join(dead.restoreDir, 'half-written.bin'), randomBytes(1000));
    await symlink(victim, path.join(dead.scratchDir, 'planted'));

    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report.outcome).toBe('passed');
    const index = await readDrillIndex(fixture.state, 'orders');
    expect(index.drills.map((drill) => [drill.id, drill.outcome])).toEqual([
      ['orders-20251101T000000Z-dead', 'aborted'],
      [report.id, 'passed'],
    ]);
    const aborted = index.drills[0]!;
    expect(aborted).toMatchObject({
      snapshot: 'orders-20251017',
      phases: { extract: 12.5 },
      withinRto: null,
    });
    expect(aborted.failures[0]!.detail).toMatch(
      /interrupted during the extract phase: process \d+ on .* ended without finishing/,
    );
    expect(existsSync(dead.dir)).toBe(false);
    expect(existsSync(path.join(victim, 'keep'))).toBe(true);
    expect((await verifyLedger(fixture.state)).ok).toBe(true);
  });

  it('stops on abort: kills the sandbox, removes the directory and records the drill as aborted', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    const token = `vouch-abort-${randomBytes(4).toString('hex')}`;
    const set = drillSet(fixture, { drill: { commands: [`: ${token}; sleep 60`] } });
    await scan(set);
    const controller = new AbortController();
    const running = runDrillReport(set, { stateDir: fixture.state, signal: controller.signal });
    for (let tries = 0; tries < 100 && (await processesMentioning(token)).length === 0; tries++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await processesMentioning(token)).length).toBeGreaterThan(0);
    const stopped = Date.now();
    controller.abort(new Error('received SIGTERM'));
    const report = await running;
    expect(Date.now() - stopped).toBeLessThan(5000);
    expect(report.outcome).toBe('aborted');
    expect(report.failures).toEqual([
      {
        verifier: 'drill',
        detail: expect.stringMatching(/^interrupted \(received SIGTERM\); the sandbox was killed/),
      },
    ]);
    expect(await processesMentioning(token)).toEqual([]);
    expect(await workLeft()).toEqual([]);
    expect((await readDrillIndex(fixture.state, 'orders')).drills.at(-1)!.outcome).toBe('aborted');
  });

  it('fails before restoring anything, with an install hint, when bwrap is missing — unless the policy opts out of the sandbox', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    process.env.VOUCH_BWRAP = path.join(fixture.root, 'no-such-bwrap');
    const sandboxed = drillSet(fixture, { drill: { commands: ['test -s db/orders.sql'] } });
    await scan(sandboxed);
    const failed = await runDrillReport(sandboxed, { stateDir: fixture.state });
    expect(failed).toMatchObject({ outcome: 'failed', restore: null, snapshot: null });
    expect(failed.failures[0]).toMatchObject({
      verifier: 'sandbox',
      detail: expect.stringMatching(
        /bwrap is not installed: install bubblewrap \(Debian\/Ubuntu: apt-get install bubblewrap.*drill\.sandbox: none/,
      ),
    });

    const unsandboxed = drillSet(fixture, {
      drill: {
        sandbox: 'none',
        commands: [
          'test -s db/orders.sql',
          { run: 'test -e no-such-file', name: 'expected to fail', expectExit: 1 },
        ],
      },
    });
    const passed = await runDrillReport(unsandboxed, { stateDir: fixture.state });
    expect(passed).toMatchObject({ outcome: 'passed', sandbox: 'none' });
  });

  it('names a failing command with its exit status and output', async () => {
    await put('orders-20251017.tar.gz', sampleFiles(1));
    const set = drillSet(fixture, {
      drill: {
        commands: [
          { name: 'row count', run: 'wc -l < exports/orders.csv', expectOutput: '^9999$' },
          { name: 'broken', run: 'echo "cannot parse dump" >&2; exit 4' },
        ],
      },
    });
    await scan(set);
    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report.outcome).toBe('failed');
    expect(report.failures).toEqual([
      {
        verifier: 'commands',
        path: 'row count',
        detail: expect.stringMatching(/^output does not match \/\^9999\$\/ \(ended with: \d+\)$/),
      },
      { verifier: 'commands', path: 'broken', detail: 'exited with 4, expected 0: cannot parse dump' },
    ]);
  });
});

describe('restore drills from S3 (real s3rver)', () => {
  it('downloads the archive in a timed fetch phase, then restores and verifies it', async () => {
    const s3 = await startEmbeddedS3({ buckets: ['drills'] });
    const client = s3.client();
    process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: 'drills',
          Key: 'orders/orders-20251017.zip',
          Body: await buildZip(sampleFiles(1)),
        }),
      );
      await client.send(
        new PutObjectCommand({
          Bucket: 'drills',
          Key: 'orders/orders-20251018.tar.gz',
          Body: await buildTarGz(sampleFiles(2)),
        }),
      );
      const source = {
        s3: {
          bucket: 'drills',
          prefix: 'orders/',
          endpoint: s3.endpoint,
          region: s3.region,
          forcePathStyle: true,
          checksums: 'when-required',
        },
      };
      const set = drillSet(fixture, { extra: { source } });
      await scan(set);
      const report = await runDrillReport(set, { stateDir: fixture.state });
      expect(report).toMatchObject({ outcome: 'passed', snapshot: 'orders-20251018' });
      expect(report.phases.fetch).toBeGreaterThan(0);
      expect(report.restore!.objectDigest).toMatch(/^[0-9a-f]{64}$/);
      const zip = await runDrillReport(set, { stateDir: fixture.state, snapshot: 'orders-20251017' });
      expect(zip).toMatchObject({ outcome: 'passed', sample: { entries: 4 } });
    } finally {
      client.destroy();
      await s3.stop();
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});
