/**
 * Restorable means drilled, on a real estate: nightly archives packed by the real tar holding
 * real pg_dump output (plain and -Fc); the two newest nights' dumps are broken (a job that left
 * the order lines out — a well-formed dump that scans clean). A failed drill demotes its snapshot
 * and moves the recommendation back; `pick: last-clean` walks back; `drill --search` drills
 * candidates newest first until one passes, each recorded; readiness needs a passed drill
 * although the set has no drill schedule; `last-clean` exits 0 only once the newest snapshot is
 * clean and a drill of it passed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lastCleanExitCode, lastCleanForSet, lastCleanText } from '../../agent/cli/last-clean.js';
import type { SetPolicy } from '../../agent/config/resolve-policy.js';
import { runDrillSearch } from '../../agent/drills/drill-search.js';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { findPostgres } from '../../agent/drills/verifiers/postgres-server.js';
import { loadEstateView } from '../../agent/estate/estate-view.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { runCli } from '../helpers/cli.js';
import { drillFixture, drillSet, policyOf, type DrillFixture } from '../helpers/drill-fixtures.js';
import { buildRealEstate, type Night } from '../helpers/real-estate.js';

const START = new Date('2026-11-01T00:00:00Z');
let fixture: DrillFixture;
let nights: Night[];
let set: SetPolicy;
let config: string;

function drillPolicy(night: Night) {
  const checks = (dump: string, database: string) => ({
    dump,
    database,
    assertions: [
      { name: 'orders are there', sql: 'select count(*) from orders', min: night.orders },
      { name: 'order lines are there', sql: 'select count(*) from order_lines', min: 1 },
    ],
  });
  return {
    pick: 'last-clean',
    postgres: [checks('db/orders.sql', 'plain'), checks('db/orders.dump', 'custom')],
  };
}

beforeAll(async () => {
  expect(findPostgres(), 'PostgreSQL server programs (Debian package postgresql)').not.toBeNull();
  fixture = await drillFixture('vouch-restorable-');
  // Nights 0–1 good, 2–3 broken; night 4 (good) arrives later in the test.
  nights = await buildRealEstate({
    volume: fixture.volume,
    work: path.join(fixture.root, 'work'),
    set: 'orders',
    nights: 5,
    broken: [2, 3],
    start: START,
  });
  await mkdir(path.join(fixture.root, 'later'));
  const { rename } = await import('node:fs/promises');
  await rename(
    path.join(fixture.volume, `${nights[4]!.id}.tar.gz`),
    path.join(fixture.root, 'later', `${nights[4]!.id}.tar.gz`),
  );
  const drill = drillPolicy(nights[0]!);
  set = drillSet(fixture, { drill });
  config = path.join(fixture.root, 'vouch.yaml');
  // JSON is YAML: the same set for the CLI.
  const match = `^orders-(?<time>\\d{8}(T\\d{6}Z)?)\\.(tar\\.gz)$`;
  await writeFile(
    config,
    JSON.stringify({
      state: fixture.state,
      sets: {
        orders: { source: { fs: { path: fixture.volume } }, snapshots: { layout: 'archive', match }, drill },
      },
    }),
  );
  const scan = await runScan(policyOf(set), { stateDir: fixture.state });
  expect(scan.sets[0]!.snapshots.map((snapshot) => snapshot.verdict)).toEqual([
    'clean',
    'clean',
    'clean',
    'clean',
  ]);
}, 300_000);

const ids = (...days: number[]) => days.map((day) => nights[day]!.id);

describe('restorable means drilled (real pg_dump, real tar)', () => {
  it('before any drill: recommends the last clean snapshot, NOT DRILLED, exit 3; the set is not ready', async () => {
    const report = await lastCleanForSet(fixture.state, 'orders');
    expect(report.lastClean?.id).toBe(nights[3]!.id);
    expect(report.lastRestorable).toBeNull();
    expect(report.recommendation).toMatchObject({ id: nights[3]!.id, standing: 'not-drilled' });
    expect(lastCleanExitCode(report)).toBe(3);
    expect(lastCleanText(report).join('\n')).toContain('** NOT DRILLED **');
    const view = await loadEstateView(policyOf(set), fixture.state);
    expect(view.sets[0]!.readiness.checks.find((check) => check.check === 'drill')).toMatchObject({
      status: 'fail',
      detail: 'no drill has run yet',
    });
  });

  it('a failed drill of the broken newest night demotes it and moves the recommendation back; the set is not ready', async () => {
    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report.snapshot).toBe(nights[3]!.id);
    expect(report.outcome).toBe('failed');
    expect(report.failures.map((failure) => `${failure.path}: ${failure.detail}`)).toEqual([
      'db/orders.sql: order lines are there: returned 0, expected ≥ 1',
      'db/orders.dump: order lines are there: returned 0, expected ≥ 1',
    ]);
    const lastClean = await lastCleanForSet(fixture.state, 'orders');
    expect(lastClean.lastClean?.id).toBe(nights[3]!.id);
    expect(lastClean.demoted.map((snapshot) => snapshot.id)).toEqual(ids(3));
    expect(lastClean.recommendation).toMatchObject({ id: nights[2]!.id, standing: 'not-drilled' });
    expect(lastClean.newest).toMatchObject({
      id: nights[3]!.id,
      standing: 'drill-failed',
      cleanAndRestorable: false,
    });
    const view = await loadEstateView(policyOf(set), fixture.state);
    expect(view.sets[0]!.readiness.ready).toBe(false);
    expect(view.sets[0]!.readiness.checks.find((check) => check.check === 'drill')).toMatchObject({
      status: 'fail',
      detail: `last drill ${report.id} failed`,
    });
  }, 180_000);

  it('pick: last-clean walks back past the failed snapshot instead of drilling it again', async () => {
    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report.snapshot).toBe(nights[2]!.id);
    expect(report.pickReason).toMatch(new RegExp(`walked back past ${nights[3]!.id}: latest drill failed`));
    expect(report.outcome).toBe('failed');
  }, 180_000);

  it('drill --search (the CLI) skips known failures, drills candidates newest first until one passes, each recorded', async () => {
    const before = (await readDrillIndex(fixture.state, 'orders')).drills.length;
    const cli = await runCli(['--config', config, 'drill', 'orders', '--search'], {}, 300_000);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`drill search of orders: FOUND ${nights[1]!.id}`);
    expect(cli.stdout).toContain(`skipped ${nights[3]!.id}: its latest drill`);
    expect(cli.stdout).toContain(`skipped ${nights[2]!.id}: its latest drill`);
    expect(cli.stdout).toContain('1 older candidate not drilled: the search stops at the first pass');
    const drills = (await readDrillIndex(fixture.state, 'orders')).drills.slice(before);
    expect(drills.map((drill) => [drill.snapshot, drill.outcome, drill.pick])).toEqual([
      [nights[1]!.id, 'passed', 'last-clean'],
    ]);

    const lastClean = await lastCleanForSet(fixture.state, 'orders');
    expect(lastClean.lastRestorable?.id).toBe(nights[1]!.id);
    expect(lastClean.recommendation).toMatchObject({ id: nights[1]!.id, standing: 'restorable' });
    expect(lastClean.demoted.map((snapshot) => snapshot.id)).toEqual(ids(3, 2));
    const text = await runCli(['--config', config, 'last-clean', 'orders']);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain(`restore:         ${nights[1]!.id}\n`);
    expect(text.stdout).toContain(`newest:          ${nights[3]!.id} is clean, but its latest drill failed`);
    const view = await loadEstateView(policyOf(set), fixture.state);
    expect(view.sets[0]!.readiness.checks.find((check) => check.check === 'drill')!.status).toBe('pass');
  }, 400_000);

  it('a search from scratch records every failed candidate before the one that passes', async () => {
    const other = await drillFixture('vouch-restorable-search-');
    const { cp } = await import('node:fs/promises');
    await cp(fixture.volume, other.volume, { recursive: true });
    const otherSet = drillSet(other, { drill: drillPolicy(nights[0]!) });
    await runScan(policyOf(otherSet), { stateDir: other.state });
    const search = await runDrillSearch(otherSet, { stateDir: other.state });
    expect(search.skipped).toEqual([]);
    expect(search.drills.map((drill) => [drill.snapshot, drill.outcome])).toEqual([
      [nights[3]!.id, 'failed'],
      [nights[2]!.id, 'failed'],
      [nights[1]!.id, 'passed'],
    ]);
    expect(search.found).toBe(nights[1]!.id);
    expect((await readDrillIndex(other.state, 'orders')).drills).toHaveLength(3);
  }, 400_000);

  it('a good new night, drilled, makes the newest snapshot clean and restorable: exit 0', async () => {
    const { rename } = await import('node:fs/promises');
    await rename(
      path.join(fixture.root, 'later', `${nights[4]!.id}.tar.gz`),
      path.join(fixture.volume, `${nights[4]!.id}.tar.gz`),
    );
    await runScan(policyOf(set), { stateDir: fixture.state });
    const report = await runDrillReport(set, { stateDir: fixture.state });
    expect(report.snapshot).toBe(nights[4]!.id);
    expect(report.outcome).toBe('passed');
    const cli = await runCli(['--config', config, '--json', 'last-clean', 'orders']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({
      newest: { id: nights[4]!.id, cleanAndRestorable: true },
      recommendation: { id: nights[4]!.id, standing: 'restorable' },
    });
  }, 180_000);
});
