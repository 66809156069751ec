/**
 * Crash safety of scans: the real CLI killed with SIGKILL, or stopped with SIGINT, while it reads
 * a snapshot (held mid-body by the fault proxy, so the moment is exact), then started again. The
 * state opens, the evidence verifies, the interrupted read is recorded (as aborted after a
 * crash) and redone, and the snapshots the first run finished are not read again.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import type { LedgerRecord } from '../../agent/ledger/ledger-record.js';
import { readLedger } from '../../agent/ledger/ledger-store.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startFaultyS3Proxy, type FaultyS3Proxy } from '../helpers/faulty-s3-proxy.js';
import { waitFor } from '../helpers/wait-for.js';

let s3: EmbeddedS3;
let client: S3Client;
let proxy: FaultyS3Proxy;
let root: string;
let config: string;
let state: string;
let buckets = 0;
const KEYS = [1, 2, 3, 4].map((day) => `orders/orders-2025101${day}T020000Z.tar.gz`);
const IDS = KEYS.map((key) => path.basename(key, '.tar.gz'));

beforeAll(async () => {
  s3 = await startEmbeddedS3();
  client = s3.client();
  proxy = await startFaultyS3Proxy(s3.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  client?.destroy();
  await s3?.stop();
});

beforeEach(async () => {
  const bucket = `crash-${++buckets}`;
  await s3.createBucket(bucket);
  for (const [day, key] of KEYS.entries()) {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: await buildTarGz(sampleFiles(day + 1)) }),
    );
  }
  root = await mkdtemp(path.join(tmpdir(), 'vouch-scan-crash-'));
  state = path.join(root, 'state');
  config = path.join(root, 'vouch.yaml');
  await writeFile(
    config,
    [
      'sets:',
      '  orders:',
      `    source: { s3: { bucket: ${bucket}, prefix: orders/, endpoint: '${proxy.endpoint}', forcePathStyle: true, checksums: when-required, idleTimeout: 10m } }`,
      "    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' }",
      '',
    ].join('\n'),
  );
  proxy.reset();
});

const env = () => ({
  AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
});

async function records(): Promise<LedgerRecord[]> {
  const out: LedgerRecord[] = [];
  for await (const record of readLedger(state)) if (record) out.push(record);
  return out;
}

/** Starts a scan that will hang mid-body on the third snapshot, and waits until it does. */
async function scanHangingOnThird() {
  proxy.inject(KEYS[2]!, { kind: 'stall', afterBytes: 200 });
  const run = startCli(['--config', config, '--state', state, '--json', 'scan'], env());
  await waitFor(() => proxy.gets(KEYS[2]!).length > 0, 'the scan to start reading the third snapshot');
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the stalled bytes arrive
  return run;
}

async function rescan() {
  const { code, stdout, stderr } = await runCli(
    ['--config', config, '--state', state, '--json', 'scan'],
    env(),
    120_000,
  );
  expect(stderr).not.toMatch(/error/i);
  expect(code).toBe(0);
  return JSON.parse(stdout) as {
    sets: { snapshots: { id: string; verdict: string; deep: boolean; reason?: string }[]; notes: string[] }[];
  };
}

describe('a scan killed mid-read', () => {
  it('SIGKILL: the next scan opens the state, records the dead run as aborted, redoes its read and skips what it had finished', async () => {
    const { child, result } = await scanHangingOnThird();
    child.kill('SIGKILL');
    expect((await result).code).toBeNull();
    expect((await verifyLedger(state)).ok).toBe(true);
    expect(await readdir(path.join(state, 'scans', 'runs'))).toHaveLength(1); // the dead run's marker
    const killedRun = (await records()).filter((record) => record.type === 'snapshot-scan');
    expect(killedRun.map((record) => (record.data as { snapshot: string }).snapshot)).toEqual(
      IDS.slice(0, 2),
    );

    proxy.reset();
    const report = await rescan();
    const set = report.sets[0]!;
    expect(set.snapshots.map((s) => [s.id, s.verdict, s.deep])).toEqual([
      [IDS[0], 'clean', false],
      [IDS[1], 'clean', false],
      [IDS[2], 'clean', true],
      [IDS[3], 'clean', true],
    ]);
    expect(set.notes.join('\n')).toMatch(/continued the interrupted scan run/);
    expect(proxy.gets(KEYS[0]!)).toEqual([]);
    expect(proxy.gets(KEYS[2]!)).toHaveLength(1);
    const aborted = (await records()).filter((record) => record.type === 'scan-aborted');
    expect(aborted).toHaveLength(1);
    expect(aborted[0]!.data).toMatchObject({ reading: { set: 'orders', snapshot: IDS[2] } });
    const verification = await verifyLedger(state);
    expect(verification.ok).toBe(true);
    expect(verification.manifests.problems).toEqual([]);
    expect(await readdir(path.join(state, 'scans', 'runs'))).toEqual([]);
    expect(await readdir(path.join(state, 'tmp'))).toEqual([]);
  });

  it('SIGINT: stops at once at a safe point (exit 130, nothing half-read recorded); the next scan resumes there', async () => {
    const { child, result } = await scanHangingOnThird();
    const asked = Date.now();
    child.kill('SIGINT');
    const { code, stdout, stderr } = await result;
    expect(code).toBe(130);
    expect(Date.now() - asked).toBeLessThan(10_000);
    expect(stderr).toContain('SIGINT: stopping');
    const stopped = JSON.parse(stdout);
    expect(stopped.interrupted).toBe(true);
    expect(stopped.sets[0].snapshots.map((s: { id: string }) => s.id)).toEqual(IDS.slice(0, 2));
    expect((await verifyLedger(state)).ok).toBe(true);

    proxy.reset();
    const report = await rescan();
    expect(report.sets[0]!.snapshots.map((s) => [s.id, s.deep])).toEqual([
      [IDS[0], false],
      [IDS[1], false],
      [IDS[2], true],
      [IDS[3], true],
    ]);
    const types = (await records()).map((record) => record.type);
    expect(types).not.toContain('scan-aborted');
    expect(types.filter((type) => type === 'scan-run')).toHaveLength(2);

    // A run that is not a continuation reads everything again (rehash: always).
    const fresh = await runCli(
      ['--config', config, '--state', state, '--json', 'scan', '--fresh'],
      env(),
      120_000,
    );
    expect(JSON.parse(fresh.stdout).sets[0].snapshots.every((s: { deep: boolean }) => s.deep)).toBe(true);
  });
});
