import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoSnapshotFiles } from '../../agent/demo/estate.js';
import type { DrillReport } from '../../agent/model/drill.js';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { createSandbox } from '../../agent/drills/sandbox/create-sandbox.js';
import { prepareBox, sandboxIdentity } from '../../agent/drills/sandbox/sandbox-identity.js';
import { findPostgres, startThrowawayServer } from '../../agent/drills/verifiers/postgres-server.js';
import { removeWorkspace } from '../../agent/drills/workspace.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { buildTarGz, type FixtureFile } from '../helpers/build-archive.js';
import { drillFixture, drillSet, policyOf, type DrillFixture } from '../helpers/drill-fixtures.js';

/**
 * Real application checks: the demo's pg_dump (plain, and custom format made by a real pg_dump)
 * restored into a throwaway PostgreSQL server in the sandbox, and the demo's SQLite inventory.
 */
const START = new Date('2026-11-01T00:00:00Z');
let fixture: DrillFixture;
let files: FixtureFile[];
let orderCount: number;

/** Rows of a COPY block in a plain dump. */
function copyRows(dump: string, table: string): string[] {
  const start = dump.indexOf(`COPY public.${table} (`);
  const body = dump.slice(dump.indexOf('\n', start) + 1);
  return body.slice(0, body.indexOf('\n\\.\n')).split('\n');
}

/** The dump with every fifth order (and its lines) gone, as an intruder or a broken export might leave it. */
function dropOrders(dump: string): string {
  const dropped = new Set(
    copyRows(dump, 'orders')
      .filter((_, i) => i % 5 === 0)
      .map((row) => row.split('\t')[0]),
  );
  return dump
    .split('\n')
    .filter((line) => {
      const id = /^(\d{6})\t/.exec(line)?.[1];
      return !(id && dropped.has(id));
    })
    .join('\n');
}

/** A custom-format dump of `plain`, made by the installed pg_dump against a throwaway server. */
async function customFormatDump(plain: string): Promise<Buffer> {
  const work = path.join(fixture.root, 'pg-dump-work');
  const box = path.join(work, 'box');
  await mkdir(path.join(box, 'restore'), { recursive: true });
  await mkdir(path.join(box, 'scratch'));
  await writeFile(path.join(box, 'restore', 'orders.sql'), plain);
  const identity = sandboxIdentity();
  await prepareBox(box, [path.join(box, 'restore'), path.join(box, 'scratch')], identity);
  const limits = {
    cpuSeconds: 600,
    memoryBytes: 4 * 2 ** 30,
    processes: 256,
    fileSizeBytes: 2 ** 32,
    tmpBytes: 2 ** 27,
  };
  const sandbox = createSandbox('bwrap', {
    boxDir: box,
    filesDir: path.join(work, 'files'),
    limits,
    env: {},
    identity,
  });
  const server = await startThrowawayServer(sandbox, findPostgres()!, { timeoutSeconds: 120, name: 'pg' });
  try {
    const load = await server.client(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', 'CREATE ROLE kanda', '-c', 'CREATE DATABASE orders'],
      { timeoutSeconds: 60 },
    );
    expect(load.exitCode, load.stderr).toBe(0);
    const restore = await server.client(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '/drill/restore/orders.sql'],
      { database: 'orders', timeoutSeconds: 120 },
    );
    expect(restore.exitCode, restore.stderr).toBe(0);
    const dump = await server.client('pg_dump', ['-Fc', '-f', '/drill/scratch/orders.dump', 'orders'], {
      database: 'orders',
      timeoutSeconds: 120,
    });
    expect(dump.exitCode, dump.stderr).toBe(0);
    return await readFile(path.join(box, 'scratch', 'orders.dump'));
  } finally {
    await server.stop();
    await removeWorkspace(work);
  }
}

const pgAssertions = (count: number) => [
  { name: 'every order is there', sql: 'select count(*) from orders', min: count },
  {
    name: 'no order line without its order',
    sql: 'select count(*) from order_lines l left join orders o using (order_id) where o.order_id is null',
    equals: 0,
  },
  { name: 'newest order within 30h of the backup', sql: 'select max(ordered_at) from orders', within: '30h' },
  {
    name: 'totals add up',
    sql: 'select count(*) from orders where total_jpy <> subtotal_jpy + tax_jpy',
    equals: 0,
  },
];

beforeAll(async () => {
  expect(findPostgres(), 'PostgreSQL server programs (Debian package postgresql)').not.toBeNull();
  fixture = await drillFixture('vouch-app-checks-');
  files = (await demoSnapshotFiles(2, { start: START })).filter(
    (file) => file.path.startsWith('db/') || file.path === 'README.txt',
  );
  const dump = files.find((file) => file.path === 'db/orders.sql')!.data.toString('utf8');
  orderCount = copyRows(dump, 'orders').length;
});

async function drill(
  name: string,
  snapshotFiles: FixtureFile[],
  drillPolicy: Record<string, unknown>,
): Promise<DrillReport> {
  await writeFile(
    path.join(fixture.volume, `${name}-20261103T020000Z.tar.gz`),
    await buildTarGz(snapshotFiles),
  );
  const set = drillSet(fixture, { name, drill: drillPolicy, extra: { targets: { rpo: '24h' } } });
  await runScan(policyOf(set), { stateDir: fixture.state });
  return runDrillReport(set, { stateDir: fixture.state, snapshot: 'latest' });
}

const failureLines = (report: DrillReport) =>
  report.failures.map((failure) => `${failure.verifier} ${failure.path ?? ''}: ${failure.detail}`);

describe('PostgreSQL check', () => {
  it('restores a plain and a custom-format pg_dump into a sandboxed server and passes their assertions', async () => {
    const plain = files.find((file) => file.path === 'db/orders.sql')!;
    const custom = await customFormatDump(plain.data.toString('utf8'));
    expect(custom.subarray(0, 5).toString()).toBe('PGDMP');
    const report = await drill('good', [...files, { path: 'db/orders.dump', data: custom }], {
      postgres: [
        { dump: 'db/orders.sql', assertions: pgAssertions(orderCount) },
        {
          dump: 'db/orders.dump',
          database: 'custom',
          assertions: [
            { name: 'every order is there', sql: 'select count(*) from orders', equals: orderCount },
          ],
        },
      ],
    });
    expect(failureLines(report)).toEqual([]);
    expect(report.outcome).toBe('passed');
    expect(report.verifiers.find((outcome) => outcome.verifier === 'postgres')!.detail).toMatch(
      /^2 dumps restored into PostgreSQL \d+; 7 checks passed$/,
    );
    expect(report.phases.app).toBeGreaterThan(0);
  });

  it('fails a dump missing rows, naming the assertion and the numbers', async () => {
    const broken = files.map((file) =>
      file.path === 'db/orders.sql'
        ? { ...file, data: Buffer.from(dropOrders(file.data.toString('utf8'))) }
        : file,
    );
    const report = await drill('short', broken, {
      postgres: [{ dump: 'db/orders.sql', assertions: pgAssertions(orderCount) }],
    });
    expect(report.outcome).toBe('failed');
    const expected = orderCount - Math.ceil(orderCount / 5);
    expect(failureLines(report)).toEqual([
      `postgres db/orders.sql: every order is there: returned ${expected}, expected ≥ ${orderCount}`,
    ]);
    const kept = report.verifiers
      .find((outcome) => outcome.verifier === 'postgres')!
      .assertions!.find((assertion) => assertion.name === 'every order is there')!;
    expect(kept).toMatchObject({
      file: 'db/orders.sql',
      value: String(expected),
      ok: false,
      detail: `returned ${expected}, expected ≥ ${orderCount}`,
    });
  });

  it('refuses what a hostile dump tries: psql shell escapes and server-side programs', async () => {
    const shellEscape = `SELECT 1;\n\\! touch /drill/restore/pwned-by-psql\n`;
    const serverProgram = `CREATE TABLE t (x int);\nCOPY (SELECT 1) TO PROGRAM 'touch /drill/restore/pwned-by-server';\n`;
    const report = await drill(
      'hostile',
      [
        ...files,
        { path: 'db/escape.sql', data: shellEscape },
        { path: 'db/program.sql', data: serverProgram },
      ],
      {
        postgres: [{ dump: 'db/escape.sql' }, { dump: 'db/program.sql', database: 'program' }],
        commands: [
          { name: 'nothing was written', run: 'test ! -e pwned-by-psql && test ! -e pwned-by-server' },
        ],
      },
    );
    const lines = failureLines(report);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^postgres db\/escape\.sql: psql failed while loading the dump: exited with 3, expected 0: .*backslash commands are restricted/,
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^postgres db/program\\.sql: psql failed while loading the dump: .*(must be superuser|pg_execute_server_program)`,
      ),
    );
    expect(report.verifiers.find((outcome) => outcome.verifier === 'commands')!.status).toBe('passed');
  });

  it('names a dump the snapshot does not hold', async () => {
    const report = await drill('missing', files, { postgres: [{ dump: 'db/nope.sql' }] });
    expect(failureLines(report)).toEqual([
      'postgres db/nope.sql: db/nope.sql was not restored (not in this snapshot)',
    ]);
  });
});

describe('SQLite check', () => {
  it('passes integrity_check and assertions on an intact database', async () => {
    const report = await drill('sqlite', files, {
      sqlite: [
        {
          path: 'db/inventory.sqlite',
          assertions: [
            { name: 'products', sql: 'select count(*) from products', min: 100 },
            { sql: 'select count(*) from stock where on_hand < 0', equals: 0 },
          ],
        },
      ],
    });
    expect(failureLines(report)).toEqual([]);
    const sqlite = report.verifiers.find((outcome) => outcome.verifier === 'sqlite')!;
    expect(sqlite.detail).toBe('3 SQLite checks passed');
    // The record keeps each assertion with the value it returned (the auditor report shows them).
    expect(
      sqlite.assertions!.map(({ file, sql, value, ok }) => ({
        file,
        sql,
        ok,
        value: value === null ? null : /^\d+$/.test(value),
      })),
    ).toEqual([
      { file: 'db/inventory.sqlite', sql: 'select count(*) from products', ok: true, value: true },
      {
        file: 'db/inventory.sqlite',
        sql: 'select count(*) from stock where on_hand < 0',
        ok: true,
        value: true,
      },
    ]);
    expect(sqlite.assertions![1]!.value).toBe('0');
    expect(Number(sqlite.assertions![0]!.value)).toBeGreaterThanOrEqual(100);
  });

  it('fails a corrupted database on integrity_check and names a failed assertion', async () => {
    const corrupted = files.map((file) => {
      if (file.path !== 'db/inventory.sqlite') return file;
      const data = Buffer.from(file.data);
      data.fill(0x5a, 4096 * 3 + 8, 4096 * 3 + 200); // scribble over a b-tree page's cell pointers
      return { ...file, data };
    });
    corrupted.push({
      path: 'db/other.sqlite',
      data: files.find((file) => file.path === 'db/inventory.sqlite')!.data,
    });
    const report = await drill('sqlite-bad', corrupted, {
      sqlite: [
        { path: 'db/inventory.sqlite' },
        {
          path: 'db/other.sqlite',
          assertions: [{ name: 'far too many products', sql: 'select count(*) from products', max: 5 }],
        },
      ],
    });
    const lines = failureLines(report);
    expect(lines).toHaveLength(3);
    // The structure verifier (detection's SQLite validator) sees the scribbled page first.
    expect(lines[0]).toMatch(/^structure db\/inventory\.sqlite: sqlite: /);
    expect(lines[1]).toMatch(/^sqlite db\/inventory\.sqlite: PRAGMA integrity_check: /);
    expect(lines[2]).toMatch(/^sqlite db\/other\.sqlite: far too many products: returned \d+, expected ≤ 5$/);
  });
});
