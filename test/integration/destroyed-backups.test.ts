/**
 * Destroyed backups are findings: ransomware that deletes, encrypts in place or encrypts-and-renames
 * the backup archives themselves (real `openssl enc`), and drops a ransom note beside them, on a
 * real offline volume and on a real S3 server through the SDK. The findings stay through rescans
 * and a repaired archive until a person accepts them; until then `vouch last-clean` does not exit
 * 0, the console does not say "Every snapshot is clean", the metrics count them and the auditor
 * report lists them.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadPolicy } from '../../agent/config/load-policy.js';
import type { Policy } from '../../agent/config/resolve-policy.js';
import { gatherReportData } from '../../agent/evidence/report-data.js';
import { renderReportHtml } from '../../agent/evidence/report-html.js';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { loadEstateView } from '../../agent/estate/estate-view.js';
import { createMetricsRegistry } from '../../agent/metrics/metrics.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { acceptFindings } from '../../agent/triage/accept-findings.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli } from '../helpers/cli.js';
import { createTestHttpApp } from '../helpers/http-app.js';
import { startS3Estate } from '../helpers/demo-estate-s3.js';

const NOTE =
  'ALL YOUR FILES HAVE BEEN ENCRYPTED!\nYour backups are encrypted too. To decrypt your files pay 2 bitcoin to the wallet address below.\nDownload Tor Browser and open http://abcdefghijklmnop.onion\nDo not rename the files or try to decrypt them yourself.\n';

/** Encrypts `from` into `to` as ransomware does with real tools. */
function opensslEncrypt(from: string, to: string): void {
  execFileSync('openssl', [
    'enc',
    '-aes-256-cbc',
    '-pbkdf2',
    '-salt',
    '-pass',
    'pass:ransom',
    '-in',
    from,
    '-out',
    to,
  ]);
}

/** Metric lines of a registry for one set, as text. */
async function metricsOf(policy: Policy, state: string): Promise<string> {
  const registry = createMetricsRegistry({
    estate: () => loadEstateView(policy, state),
    scheduler: () => ({ tasks: [], running: 0, queued: 0 }),
    daemon: () => ({ reloads: 0, reloadFailures: 0, lastReloadSuccess: 0 }),
  });
  return registry.metrics();
}

/** The console's set page as HTML, from the daemon's real app (no socket). */
async function setPage(policy: Policy, state: string, set: string): Promise<string> {
  const app = createTestHttpApp(policy, state);
  const response = await app.request(`/sets/${set}`, { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  return response.text();
}

const gauge = (metrics: string, name: string, set = 'orders') =>
  Number(new RegExp(`^${name}\\{set="${set}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 'NaN');

describe('destroyed backups on an offline volume', () => {
  it('reports deleted, encrypted-in-place and encrypted-and-renamed archives and a ransom note until each is accepted', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'vouch-destroyed-'));
    const volume = path.join(root, 'volume');
    const state = path.join(root, 'state');
    execFileSync('mkdir', ['-p', volume]);
    const days = [17, 18, 19, 20];
    for (const day of days)
      await writeFile(path.join(volume, `orders-202510${day}.tar.gz`), await buildTarGz(sampleFiles(day)));
    const policyFile = path.join(root, 'vouch.yaml');
    await writeFile(
      policyFile,
      stringify({
        state: './state',
        sets: {
          orders: {
            source: { fs: { path: './volume' } },
            snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8})\\.tar\\.gz$' },
          },
        },
      }),
    );
    const policy = await loadPolicy(policyFile);
    const first = await runScan(policy, { stateDir: state });
    expect(first.sets[0]!.snapshots.map((snapshot) => snapshot.verdict)).toEqual([
      'clean',
      'clean',
      'clean',
      'clean',
    ]);
    expect(first.sets[0]!.findings).toBeUndefined();
    // Exit 3 only because no drill proved the snapshot yet: nothing is said about the store.
    const untouched = await runCli(['--config', policyFile, 'last-clean', 'orders']);
    expect(untouched.code).toBe(3);
    expect(untouched.stdout).toContain('NOT DRILLED');
    expect(untouched.stdout).not.toContain('THE STORE ITSELF WAS TOUCHED');
    expect(gauge(await metricsOf(policy, state), 'vouch_set_ready')).toBe(1);

    // The attack: 18 and 20 encrypted and renamed (originals deleted), 19 encrypted in place, a note dropped.
    const original19 = await readFile(path.join(volume, 'orders-20251019.tar.gz'));
    for (const day of [18, 20]) {
      opensslEncrypt(
        path.join(volume, `orders-202510${day}.tar.gz`),
        path.join(volume, `orders-202510${day}.tar.gz.locked`),
      );
      await rm(path.join(volume, `orders-202510${day}.tar.gz`));
    }
    opensslEncrypt(path.join(volume, 'orders-20251019.tar.gz'), path.join(root, 'encrypted19'));
    await copyFile(path.join(root, 'encrypted19'), path.join(volume, 'orders-20251019.tar.gz'));
    await writeFile(path.join(volume, 'inventory.db'), 'SQLite format 3\0 pretend inventory');
    opensslEncrypt(path.join(volume, 'inventory.db'), path.join(volume, 'inventory.db.locked'));
    await rm(path.join(volume, 'inventory.db'));
    await writeFile(path.join(volume, 'HOW_TO_DECRYPT_FILES.txt'), NOTE);
    await writeFile(path.join(volume, 'backup-job.log'), 'nightly backup finished\n'); // an ordinary leftover

    const second = (await runScan(policy, { stateDir: state })).sets[0]!;
    expect([...second.removed].sort()).toEqual(['orders-20251018', 'orders-20251020']);
    const kinds = (second.findings ?? []).map((finding) => `${finding.kind} ${finding.path}`).sort();
    expect(kinds).toEqual([
      'foreign-object *.locked',
      'foreign-object HOW_TO_DECRYPT_FILES.txt',
      'foreign-object inventory.db.locked',
      'foreign-object orders-20251018.tar.gz.locked',
      'foreign-object orders-20251020.tar.gz.locked',
      'snapshot-removed orders-20251018',
      'snapshot-removed orders-20251020',
      'snapshot-replaced orders-20251019',
    ]);
    const byPath = new Map((second.findings ?? []).map((finding) => [finding.path, finding]));
    expect(byPath.get('inventory.db.locked')!.detail).toContain('openssl-salted-encrypted');
    expect(byPath.get('HOW_TO_DECRYPT_FILES.txt')!.detail).toMatch(/says so \(.*onion-link/);
    expect(byPath.get('orders-20251019')!.detail).toMatch(/replaced in the store .*size \d+ → \d+/);

    const lastClean = await runCli(['--config', policyFile, '--json', 'last-clean', 'orders']);
    expect(lastClean.code).toBe(3);
    const document = JSON.parse(lastClean.stdout) as { openSetFindings: number; lastClean: { id: string } };
    expect(document.openSetFindings).toBe(8);
    const text = await runCli(['--config', policyFile, 'last-clean', 'orders']);
    expect(text.stdout).toContain('THE STORE ITSELF WAS TOUCHED: 8 open findings');

    let metrics = await metricsOf(policy, state);
    expect(gauge(metrics, 'vouch_snapshots_removed')).toBe(2);
    expect(gauge(metrics, 'vouch_snapshots_replaced')).toBe(1);
    expect(gauge(metrics, 'vouch_foreign_objects')).toBe(5);
    expect(metrics).toMatch(/^vouch_findings\{set="orders",kind="snapshot-removed"\} 2$/m);
    // Open store findings make the set not ready: the gauge, the check, /readyz detail and the console say why.
    expect(gauge(metrics, 'vouch_set_ready')).toBe(0);
    expect(metrics).toMatch(/^vouch_set_readiness_check\{set="orders",check="store"\} 0$/m);
    const readyz = (await (await createTestHttpApp(policy, state).request('/readyz')).json()) as {
      sets: { set: string; ready: boolean; failing: { check: string; detail: string }[] }[];
    };
    expect(readyz.sets[0]).toMatchObject({
      set: 'orders',
      ready: false,
      failing: [
        {
          check: 'store',
          detail: expect.stringMatching(
            /^8 open findings about the store: .*2 snapshot-removed \(orders-20251018, orders-20251020\)/,
          ),
        },
      ],
    });
    expect(await setPage(policy, state, 'orders')).toContain('8 open findings about the store');

    // The rescan keeps them (no duplicates); restoring 19's original bytes makes 19 clean again, but its replacement stays a finding.
    await writeFile(path.join(volume, 'orders-20251019.tar.gz'), original19);
    const third = (await runScan(policy, { stateDir: state })).sets[0]!;
    expect(third.snapshots.map((snapshot) => [snapshot.id, snapshot.verdict])).toEqual([
      ['orders-20251017', 'clean'],
      ['orders-20251019', 'clean'],
    ]);
    expect(third.findings).toHaveLength(8);
    const page = await setPage(policy, state, 'orders');
    expect(page).not.toContain('Every snapshot is clean.');
    expect(page).toContain('Every snapshot still in the store is clean, but the store itself was touched');
    expect(page).toMatch(/role="alert" data-store-findings="orders"/);
    expect((await runCli(['--config', policyFile, 'last-clean', 'orders'])).code).toBe(3);

    const report = renderReportHtml(
      await gatherReportData({ stateDir: state, verification: await verifyLedger(state) }),
    );
    expect(report).toContain('Removed and replaced snapshots, objects beside them');
    expect(report.match(/class="store-finding"/g)).toHaveLength(8);
    expect(report.match(/class="removal"/g)).toHaveLength(2);
    expect(report).toContain('8 store findings open');

    // Accepted with who and why: they stop counting but stay listed; old damage stops firing.
    const set = policy.sets[0]!;
    await acceptFindings({
      stateDir: state,
      set,
      path: '**',
      kind: 'snapshot-removed',
      reason: 'IR-42: deleted by the intruder; copies restored from the offsite set',
      by: 'alice',
    });
    await acceptFindings({
      stateDir: state,
      set,
      path: '**',
      kind: 'snapshot-replaced',
      reason: 'IR-42: original bytes put back from the offsite set',
      by: 'alice',
    });
    metrics = await metricsOf(policy, state);
    expect(gauge(metrics, 'vouch_snapshots_removed')).toBe(0);
    expect(gauge(metrics, 'vouch_snapshots_replaced')).toBe(0);
    expect(gauge(metrics, 'vouch_foreign_objects')).toBe(5);
    const partly = await runCli(['--config', policyFile, 'last-clean', 'orders']);
    expect(partly.code).toBe(3);
    expect(partly.stdout).toContain('THE STORE ITSELF WAS TOUCHED: 5 open findings');
    expect(gauge(await metricsOf(policy, state), 'vouch_set_ready')).toBe(0);
    await acceptFindings({
      stateDir: state,
      set,
      path: '**',
      kind: 'foreign-object',
      reason: 'IR-42: leftovers kept for forensics',
      by: 'bob',
    });
    // Every store finding accepted: last-clean no longer says the store was touched (it still
    // exits 3 because no drill proved the snapshot).
    const settled = await runCli(['--config', policyFile, 'last-clean', 'orders']);
    expect(settled.code).toBe(3);
    expect(settled.stdout).not.toContain('THE STORE ITSELF WAS TOUCHED');
    // Accepting them restores readiness.
    metrics = await metricsOf(policy, state);
    expect(gauge(metrics, 'vouch_set_ready')).toBe(1);
    expect(metrics).toMatch(/^vouch_set_readiness_check\{set="orders",check="store"\} 1$/m);
    const fourth = (await runScan(policy, { stateDir: state })).sets[0]!;
    expect(fourth.findings!.every((finding) => finding.accepted)).toBe(true);
    expect((await readSetIndex(state, 'orders')).setFindings).toHaveLength(8);
    expect(await setPage(policy, state, 'orders')).toContain('Every snapshot is clean.');
    expect((await verifyLedger(state)).ok).toBe(true);
  });

  it("records a snapshot pruned past the set's retention without a finding", async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'vouch-pruned-'));
    const volume = path.join(root, 'volume');
    execFileSync('mkdir', ['-p', volume]);
    for (const day of [17, 18])
      await writeFile(path.join(volume, `orders-202510${day}.tar.gz`), await buildTarGz(sampleFiles(day)));
    const policyFile = path.join(root, 'vouch.yaml');
    await writeFile(
      policyFile,
      stringify({
        state: './state',
        sets: {
          orders: {
            source: { fs: { path: './volume' } },
            snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8})\\.tar\\.gz$', retention: '30d' },
          },
        },
      }),
    );
    const policy = await loadPolicy(policyFile);
    await runScan(policy, { stateDir: path.join(root, 'state') });
    await rm(path.join(volume, 'orders-20251017.tar.gz'));
    const report = (await runScan(policy, { stateDir: path.join(root, 'state') })).sets[0]!;
    expect(report.removed).toEqual(['orders-20251017']);
    expect(report.findings).toBeUndefined();
    expect(report.notes.some((note) => note.includes("past the set's retention"))).toBe(true);
  });
});

describe('destroyed backups in S3 (s3rver through the SDK, WHEN_REQUIRED checksums)', () => {
  it('reports a deleted archive, an archive rewritten by ransomware and a ransom note beside them', async () => {
    const estate = await startS3Estate(4);
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    Object.assign(process.env, estate.env); // the SDK's default chain, as `vouch` gets it
    try {
      const dir = await mkdtemp(path.join(tmpdir(), 'vouch-destroyed-s3-'));
      const policy = await loadPolicy(await estate.writePolicy(dir));
      const state = path.join(dir, 'state');
      const before = await runScan(policy, { stateDir: state });
      expect(before.sets[0]!.snapshots.map((snapshot) => snapshot.verdict)).toEqual([
        'clean',
        'clean',
        'clean',
        'clean',
      ]);
      const client = estate.s3.client();
      await client.send(
        new DeleteObjectCommand({ Bucket: estate.bucket, Key: `orders/${estate.snapshotId(0)}.tar.gz` }),
      );
      await estate.ransomwareHit(2);
      await client.send(
        new PutObjectCommand({ Bucket: estate.bucket, Key: 'orders/README_RESTORE_FILES.txt', Body: NOTE }),
      );
      client.destroy();
      const report = (await runScan(policy, { stateDir: state })).sets[0]!;
      expect(report.error).toBeUndefined();
      expect((report.findings ?? []).map((finding) => `${finding.kind} ${finding.path}`).sort()).toEqual([
        'foreign-object README_RESTORE_FILES.txt',
        `snapshot-removed ${estate.snapshotId(0)}`,
        `snapshot-replaced ${estate.snapshotId(2)}`,
      ]);
      const metrics = await metricsOf(policy, state);
      expect(gauge(metrics, 'vouch_snapshots_removed')).toBe(1);
      expect(gauge(metrics, 'vouch_snapshots_replaced')).toBe(1);
      expect(gauge(metrics, 'vouch_foreign_objects')).toBe(1);
    } finally {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await estate.stop();
    }
  });
});
