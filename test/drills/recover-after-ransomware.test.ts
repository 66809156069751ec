/**
 * `vouch recover` on a real estate hit by real ransomware: four nights packed by the real tar
 * with real pg_dump output; before the newest backup ran, `openssl enc` encrypted two invoices in
 * place, encrypted a third under a new name (`.locked`), encrypted the day's first new invoice (it
 * exists in no earlier night) and left a ransom note. The database dumps were untouched and hold
 * more orders than the last clean night. recover --dry-run plans every file's newest intact
 * version and reports exactly the lost file; recover --to restores them, each verified, and the
 * bytes on disk are the right versions' bytes.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DemoFile } from '../../agent/demo/demo-file.js';
import { findPostgres } from '../../agent/drills/verifiers/postgres-server.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { readLedger } from '../../agent/ledger/ledger-store.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { runCli } from '../helpers/cli.js';
import { now } from '../../agent/clock.js';
import { loadPlanInput } from '../../agent/recover/plan-input.js';
import { planRecovery } from '../../agent/recover/recovery-plan.js';
import { loadAssets } from '../../agent/web/assets.js';
import { SnapshotPage } from '../../agent/web/pages/snapshot-page.js';
import { drillFixture, drillSet, listTree, policyOf, type DrillFixture } from '../helpers/drill-fixtures.js';
import { buildRealEstate, packWithTar, type Night } from '../helpers/real-estate.js';

const run = promisify(execFile);
const START = new Date('2026-11-01T00:00:00Z');
let fixture: DrillFixture;
let nights: Night[];
let config: string;
/** The newest night's files as the backup took them (after the attack). */
let hitFiles: DemoFile[];

const IN_PLACE = ['invoices/INV-20568.pdf', 'invoices/INV-20569.pdf'];
const RENAMED = 'invoices/INV-20570.pdf';
const NOTE = 'README_RESTORE_FILES.txt';
let newInvoice: string;

/** `openssl enc` over `data`, as ransomware run on the live system would. */
async function opensslEncrypt(data: Buffer): Promise<Buffer> {
  const dir = await mkdtemp(path.join(fixture.root, 'enc-'));
  try {
    await writeFile(path.join(dir, 'in'), data);
    await run('openssl', [
      'enc',
      '-aes-256-cbc',
      '-salt',
      '-pbkdf2',
      '-pass',
      'pass:pay-us',
      '-in',
      path.join(dir, 'in'),
      '-out',
      path.join(dir, 'out'),
    ]);
    return await readFile(path.join(dir, 'out'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  expect(findPostgres(), 'PostgreSQL server programs (Debian package postgresql)').not.toBeNull();
  fixture = await drillFixture('vouch-recover-');
  nights = await buildRealEstate({
    volume: fixture.volume,
    work: path.join(fixture.root, 'work'),
    set: 'orders',
    nights: 4,
    start: START,
  });
  const newest = nights[3]!;
  const before = nights[2]!;
  newInvoice = newest.files
    .map((file) => file.path)
    .find((name) => name.startsWith('invoices/') && !before.files.some((file) => file.path === name))!;
  expect(newInvoice).toBeDefined();
  hitFiles = [];
  for (const file of newest.files) {
    if (IN_PLACE.includes(file.path) || file.path === newInvoice)
      hitFiles.push({ ...file, data: await opensslEncrypt(file.data) });
    else if (file.path === RENAMED)
      hitFiles.push({ ...file, path: `${RENAMED}.locked`, data: await opensslEncrypt(file.data) });
    else hitFiles.push(file);
  }
  hitFiles.push({
    path: NOTE,
    data: Buffer.from(
      'Your files are encrypted!!! To restore your files send 0.5 BTC to our wallet. Contact us on http://payuslocked7xq2.onion with your ID. Do not rename encrypted files.\n',
    ),
    mtime: newest.time,
  });
  await packWithTar(
    hitFiles,
    path.join(fixture.root, 'work', 'tree'),
    path.join(fixture.volume, `${newest.id}.tar.gz`),
  );

  const set = drillSet(fixture);
  config = path.join(fixture.root, 'vouch.yaml');
  const match = `^orders-(?<time>\\d{8}(T\\d{6}Z)?)\\.(tar\\.gz)$`;
  await writeFile(
    config,
    JSON.stringify({
      state: fixture.state,
      sets: { orders: { source: { fs: { path: fixture.volume } }, snapshots: { layout: 'archive', match } } },
    }),
  );
  const scan = await runScan(policyOf(set), { stateDir: fixture.state });
  expect(scan.sets[0]!.snapshots.map((snapshot) => snapshot.verdict)).toEqual([
    'clean',
    'clean',
    'clean',
    'compromised',
  ]);
}, 300_000);

interface PlanJson {
  plan: {
    newest: { id: string };
    files: {
      path: string;
      snapshot: string;
      digest: string;
      inNewest: boolean;
      rejected: { snapshot: string; reason: string }[];
      lossWindow: { from: string; to: string } | null;
    }[];
    lost: {
      path: string;
      versions: { snapshot: string; reason: string }[];
      lossWindow: { from: string; to: string };
    }[];
    artifacts: { path: string; kind: string }[];
    counts: { files: number; fromOlder: number; lost: number };
  };
  outcome: { verified: number; complete: boolean; fellBack: unknown[]; unrestored: unknown[] } | null;
  ledgerSeq: number;
  planSha256: string;
}

describe('vouch recover after ransomware hit the newest snapshot (real openssl enc, real pg_dump, real tar)', () => {
  it('--dry-run: each hit file from its last intact version, the untouched dumps from the newest, exactly the lost file reported', async () => {
    const cli = await runCli(['--config', config, '--json', 'recover', 'orders', '--dry-run']);
    expect(cli.code, cli.stderr).toBe(3); // a file is lost
    const { plan } = JSON.parse(cli.stdout) as PlanJson;
    const newest = nights[3]!;
    expect(plan.newest.id).toBe(newest.id);
    const byPath = new Map(plan.files.map((file) => [file.path, file]));
    // The in-place hits and the renamed original come from the night before, newer versions rejected as encrypted.
    for (const hit of [...IN_PLACE, RENAMED]) {
      expect(byPath.get(hit), hit).toMatchObject({
        snapshot: nights[2]!.id,
        lossWindow: { from: nights[2]!.time.toISOString(), to: newest.time.toISOString() },
      });
    }
    for (const hit of IN_PLACE)
      expect(byPath.get(hit)!.rejected).toEqual([
        { snapshot: newest.id, time: newest.time.toISOString(), reason: expect.stringMatching(/^encrypted/) },
      ]);
    expect(byPath.get(RENAMED)!.inNewest).toBe(false);
    // The dumps were untouched: taken from the newest snapshot, with its extra orders.
    expect(nights[3]!.orders).toBeGreaterThan(nights[2]!.orders);
    for (const dump of ['db/orders.sql', 'db/orders.dump']) {
      expect(byPath.get(dump)).toMatchObject({ snapshot: newest.id, lossWindow: null, rejected: [] });
      expect(byPath.get(dump)!.digest).toBe(sha256(newest.files.find((file) => file.path === dump)!.data));
    }
    expect(plan.counts.fromOlder).toBe(3);
    // Exactly the lost file: the day's new invoice, encrypted in its only version.
    expect(plan.lost.map((file) => file.path)).toEqual([newInvoice]);
    expect(plan.lost[0]!.versions).toEqual([
      { snapshot: newest.id, time: newest.time.toISOString(), reason: expect.stringMatching(/^encrypted/) },
    ]);
    expect(plan.artifacts.map((artifact) => [artifact.path, artifact.kind]).sort()).toEqual([
      [NOTE, 'ransom-note'],
      [`${RENAMED}.locked`, 'renamed-copy'],
    ]);

    const text = await runCli(['--config', config, 'recover', 'orders', '--dry-run']);
    expect(text.stdout).toContain(`${IN_PLACE[0]}  ← ${nights[2]!.id}`);
    expect(text.stdout).toMatch(new RegExp(`rejected ${newest.id}: encrypted`));
    expect(text.stdout).toContain(
      `LOST — no usable version left (1; each version's reason below):\n    ${newInvoice}  data-loss window`,
    );
    expect(text.stdout).toContain('to restore: vouch recover orders --to DIR');
  });

  it("--to: restores every file's newest intact version, each verified; the bytes on disk are those versions", async () => {
    const to = path.join(fixture.root, 'recovered');
    const cli = await runCli(['--config', config, '--json', 'recover', 'orders', '--to', to], {}, 120_000);
    expect(cli.code, cli.stderr).toBe(3); // still 3: one file is lost
    const result = JSON.parse(cli.stdout) as PlanJson;
    expect(result.outcome).toMatchObject({ complete: true, fellBack: [], unrestored: [] });
    expect(result.outcome!.verified).toBe(result.plan.counts.files);

    const expected = new Map<string, Buffer>();
    for (const file of nights[3]!.files) expected.set(file.path, file.data);
    for (const hit of [...IN_PLACE, RENAMED])
      expected.set(hit, nights[2]!.files.find((file) => file.path === hit)!.data);
    expected.delete(newInvoice);
    const onDisk = (await listTree(to)).filter((entry) => !entry.endsWith('/'));
    expect(onDisk).toEqual([...expected.keys()].sort());
    for (const [name, data] of expected)
      expect(sha256(await readFile(path.join(to, name))), name).toBe(sha256(data));

    // The plan is a signed ledger record.
    const records = [];
    for await (const record of readLedger(fixture.state))
      if (record?.type === 'recovery-plan') records.push(record);
    const last = records.at(-1)!;
    expect(last.seq).toBe(result.ledgerSeq);
    expect(last.sig).toBeTruthy();
    expect(last.data).toMatchObject({
      set: 'orders',
      dryRun: false,
      planSha256: result.planSha256,
      lost: [{ path: newInvoice }],
    });
    expect((await runCli(['--config', config, 'evidence', 'verify'])).code).toBe(0);
  }, 180_000);

  it('refuses a target that holds files; --snapshot ID restores one snapshot as it is, listing its compromised files', async () => {
    const refused = await runCli([
      '--config',
      config,
      'recover',
      'orders',
      '--to',
      path.join(fixture.root, 'recovered'),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is not empty');
    const newest = nights[3]!;
    const to = path.join(fixture.root, 'as-is');
    const cli = await runCli(['--config', config, 'recover', 'orders', '--snapshot', newest.id, '--to', to]);
    expect(cli.code).toBe(3);
    expect(cli.stdout).toContain('WARNING: 5 of them are judged compromised and are restored as they are:');
    const onDisk = (await listTree(to)).filter((entry) => !entry.endsWith('/'));
    expect(onDisk).toEqual(hitFiles.map((file) => file.path).sort());
    expect(sha256(await readFile(path.join(to, IN_PLACE[0]!)))).toBe(
      sha256(hitFiles.find((file) => file.path === IN_PLACE[0])!.data),
    );
    const index = await readSetIndex(fixture.state, 'orders');
    expect(index.snapshots[newest.id]!.verdict).toBe('compromised');
  });

  it("the console's snapshot page shows the same plan for the hit snapshot, and the commands", async () => {
    const newest = nights[3]!;
    const index = await readSetIndex(fixture.state, 'orders');
    const plan = planRecovery('orders', await loadPlanInput(fixture.state, 'orders'));
    const html = String(
      await SnapshotPage({
        frame: { assets: loadAssets(), now: now(), signedIn: false, jobs: [] },
        set: 'orders',
        snapshot: index.snapshots[newest.id]!,
        relation: 'newer than the last clean snapshot',
        plan,
      }),
    );
    for (const hit of IN_PLACE) expect(html).toContain(`data-replaced="${hit}"`);
    expect(html).toContain(`data-lost="${newInvoice}"`);
    expect(html).toContain('vouch recover orders --to DIR');
    expect(html).toContain(`vouch recover orders --snapshot ${newest.id} --to DIR`);
    expect(html).toMatch(
      new RegExp(`This snapshot supplies <span data-supplies="true">${plan.counts.fromNewest}</span>`),
    );
  });

  it('a drill of the hit snapshot says so first, in its report and record, and lists the restored files judged encrypted', async () => {
    const newest = nights[3]!;
    const cli = await runCli(['--config', config, 'drill', 'orders', '--snapshot', newest.id], {}, 120_000);
    const lines = cli.stdout.split('\n');
    expect(lines[0]).toMatch(/^drill orders-\S+ of orders: PASSED$/);
    expect(lines[1]).toBe(
      `  WARNING: snapshot ${newest.id} is COMPROMISED by its scan: a passed drill proves it restores, not that its content is good — 5 restored files were judged encrypted or damaged`,
    );
    expect(cli.stdout).toContain(
      'detection: restored files judged encrypted or damaged by the scan (6 findings):',
    );
    expect(cli.stdout).toMatch(new RegExp(`  ${IN_PLACE[0]}: encrypted: became encrypted`));
    const drills = [];
    for await (const record of readLedger(fixture.state)) if (record?.type === 'drill') drills.push(record);
    const judgement = (
      drills.at(-1)!.data as { snapshotJudgement: { verdict: string; hitFiles: { path: string }[] } }
    ).snapshotJudgement;
    expect(judgement.verdict).toBe('compromised');
    expect([...new Set(judgement.hitFiles.map((file) => file.path))].sort()).toEqual(
      [...IN_PLACE, `${RENAMED}.locked`, NOTE, newInvoice].sort(),
    );
  });
});
