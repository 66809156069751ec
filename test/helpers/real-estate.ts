/**
 * A real estate for recovery tests: nightly backups of the demo shop whose database dumps are made
 * by the installed `pg_dump` (plain and `-Fc`) from a real PostgreSQL server, packed by the real
 * `tar`. Each night's data is the demo's (orders grow night by night); a night can be given a
 * broken dump — `pg_dump --exclude-table-data=order_lines`, what a misconfigured job writes: a
 * well-formed dump that scans clean and restores without the order lines.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { demoSnapshotFiles } from '../../agent/demo/estate.js';
import { type DemoFile } from '../../agent/demo/demo-file.js';
import { createSandbox } from '../../agent/drills/sandbox/create-sandbox.js';
import { prepareBox, sandboxIdentity } from '../../agent/drills/sandbox/sandbox-identity.js';
import { findPostgres, startThrowawayServer } from '../../agent/drills/verifiers/postgres-server.js';
import { removeWorkspace } from '../../agent/drills/workspace.js';

const run = promisify(execFile);

/** One night of the estate. */
export interface Night {
  /** Snapshot id (the archive's name without `.tar.gz`). */
  id: string;
  time: Date;
  files: DemoFile[];
  /** Orders and order lines in the night's database (what a good dump restores). */
  orders: number;
  lines: number;
  /** The dumps are broken (no order_lines data). */
  broken: boolean;
}

/** Rows of a COPY block in a plain dump. */
function copyRows(dump: string, table: string): number {
  const start = dump.indexOf(`COPY public.${table} (`);
  const body = dump.slice(dump.indexOf('\n', start) + 1);
  return body.slice(0, body.indexOf('\n\\.\n')).split('\n').length;
}

/**
 * Real `pg_dump` output for each night: loads the demo's database of that night into one throwaway
 * server (sandboxed, as drills run it) and dumps it plain and `-Fc`, without order_lines data when
 * the night is broken.
 */
async function realDumps(
  work: string,
  nights: { plain: string; broken: boolean }[],
): Promise<{ plain: Buffer; custom: Buffer }[]> {
  const box = path.join(work, 'box');
  await mkdir(path.join(box, 'restore'), { recursive: true });
  await mkdir(path.join(box, 'scratch'));
  for (const [i, night] of nights.entries())
    await writeFile(path.join(box, 'restore', `night-${i}.sql`), night.plain);
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
  const must = (what: string, result: { exitCode: number | null; stderr: string }) => {
    if (result.exitCode !== 0) throw new Error(`${what} failed: ${result.stderr}`);
  };
  try {
    must(
      'create role',
      await server.client('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', 'CREATE ROLE kanda'], {
        timeoutSeconds: 60,
      }),
    );
    const out: { plain: Buffer; custom: Buffer }[] = [];
    for (const [i, night] of nights.entries()) {
      const db = `night${i}`;
      must(
        'create database',
        await server.client('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${db}`], {
          timeoutSeconds: 60,
        }),
      );
      must(
        'load',
        await server.client(
          'psql',
          ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', `/drill/restore/night-${i}.sql`],
          { database: db, timeoutSeconds: 120 },
        ),
      );
      const exclude = night.broken ? ['--exclude-table-data=order_lines'] : [];
      must(
        'pg_dump',
        await server.client('pg_dump', [...exclude, '-f', `/drill/scratch/${db}.sql`, db], {
          database: db,
          timeoutSeconds: 120,
        }),
      );
      must(
        'pg_dump -Fc',
        await server.client('pg_dump', [...exclude, '-Fc', '-f', `/drill/scratch/${db}.dump`, db], {
          database: db,
          timeoutSeconds: 120,
        }),
      );
      out.push({
        plain: await readFile(path.join(box, 'scratch', `${db}.sql`)),
        custom: await readFile(path.join(box, 'scratch', `${db}.dump`)),
      });
    }
    return out;
  } finally {
    await server.stop();
    await removeWorkspace(work);
  }
}

/** Options of `buildRealEstate`. */
export interface EstateOptions {
  /** Where the `.tar.gz` archives go. */
  volume: string;
  /** Scratch space (removed afterwards). */
  work: string;
  /** Snapshot name prefix (the set's name). */
  set: string;
  nights: number;
  /** Nights (0 = oldest) whose dumps are broken. */
  broken?: readonly number[];
  start: Date;
  /** Keep only these demo files (besides the dumps); default: everything but the product photos. */
  keep?: (file: DemoFile) => boolean;
}

/** The archive's name for a night: `SET-YYYYMMDDTHHMMSSZ`. */
function snapshotId(set: string, time: Date): string {
  return `${set}-${time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}`;
}

const defaultKeep = (file: DemoFile) => !file.path.startsWith('images/');

/** Files of a night as a directory tree (real mtimes), packed by the real tar (gzip). */
export async function packWithTar(files: readonly DemoFile[], tree: string, archive: string): Promise<void> {
  await rm(tree, { recursive: true, force: true });
  for (const file of files) {
    const target = path.join(tree, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.data);
    await utimes(target, file.mtime, file.mtime);
  }
  const tops = [...new Set(files.map((file) => file.path.split('/')[0]!))].sort();
  await run('tar', ['-czf', archive, '-C', tree, ...tops]);
  await rm(tree, { recursive: true, force: true });
}

/** Builds the nights: real dumps (`db/orders.sql` plain, `db/orders.dump` -Fc), packed by tar into `volume`. */
export async function buildRealEstate(options: EstateOptions): Promise<Night[]> {
  const broken = new Set(options.broken ?? []);
  const demo = await Promise.all(
    Array.from({ length: options.nights }, (_, day) => demoSnapshotFiles(day, { start: options.start })),
  );
  const plains = demo.map((files, day) => ({
    plain: files.find((file) => file.path === 'db/orders.sql')!.data.toString('utf8'),
    broken: broken.has(day),
  }));
  const dumps = await realDumps(path.join(options.work, 'pg'), plains);
  const nights: Night[] = [];
  for (const [day, files] of demo.entries()) {
    const dumpFile = files.find((file) => file.path === 'db/orders.sql')!;
    const kept = files.filter((file) => file.path !== 'db/orders.sql' && (options.keep ?? defaultKeep)(file));
    const nightFiles = [
      ...kept,
      { path: 'db/orders.sql', data: dumps[day]!.plain, mtime: dumpFile.mtime },
      { path: 'db/orders.dump', data: dumps[day]!.custom, mtime: dumpFile.mtime },
    ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const readmeTime = files.find((file) => file.path === 'README.txt')!.mtime;
    const time = new Date(readmeTime.getTime() + 5 * 60_000);
    const id = snapshotId(options.set, time);
    nights.push({
      id,
      time,
      files: nightFiles,
      orders: copyRows(plains[day]!.plain, 'orders'),
      lines: copyRows(plains[day]!.plain, 'order_lines'),
      broken: broken.has(day),
    });
  }
  for (const night of nights)
    await packWithTar(
      night.files,
      path.join(options.work, 'tree'),
      path.join(options.volume, `${night.id}.tar.gz`),
    );
  return nights;
}
