import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { startS3Estate, type S3Estate } from '../helpers/demo-estate-s3.js';
import { getJson, runJob, startServe, type ServeProcess } from '../helpers/serve.js';

const RULES = path.resolve('dashboards/vouch-alerts.yml');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Alert {
  labels: Record<string, string>;
  state: string;
}

let estate: S3Estate;
let serve: ServeProcess;
let prometheus: ChildProcess;
let prometheusUrl: string;
let prometheusLog = '';

const alerts = async () =>
  (await getJson<{ data: { alerts: Alert[] } }>(`${prometheusUrl}/api/v1/alerts`)).body.data.alerts;
const compromisedAlerts = async () =>
  (await alerts()).filter((alert) => alert.labels.alertname === 'VouchSnapshotCompromised');

/** Polls until `probe` returns a value, for at most `ms`. */
async function eventually<T>(
  probe: () => Promise<T | null | undefined>,
  ms: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => null);
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} not seen within ${ms} ms; prometheus log tail: ${prometheusLog.slice(-2000)}`);
}

beforeAll(async () => {
  estate = await startS3Estate(4);
  const dir = await mkdtemp(path.join(tmpdir(), 'vouch-prometheus-'));
  serve = await startServe(
    ['--config', await estate.writePolicy(dir)],
    ['--listen', '127.0.0.1:0'],
    estate.env,
  );
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  const config = path.join(dir, 'prometheus.yml');
  await writeFile(
    config,
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' },
      rule_files: [RULES],
      scrape_configs: [{ job_name: 'vouch', static_configs: [{ targets: [new URL(serve.url).host] }] }],
    }),
  );
  prometheus = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout!.on('data', (chunk) => (prometheusLog += chunk));
  prometheus.stderr!.on('data', (chunk) => (prometheusLog += chunk));
  await eventually(async () => (await fetch(`${prometheusUrl}/-/ready`)).ok, 30_000, 'Prometheus ready');
});

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    prometheus.kill('SIGKILL');
  }
  await serve?.stop();
  await estate?.stop();
});

describe('a real Prometheus scraping vouch serve with the shipped alert rules', () => {
  it('fires VouchSnapshotCompromised after a ransomware-hit rewrite of a baselined snapshot, and not before', async () => {
    expect(await runJob(serve.url, 'orders', 'scan')).toMatchObject({
      status: 'succeeded',
      result: { verdicts: { clean: 4 } },
    });
    // Prometheus has scraped the clean state and evaluated the rules on it a few times.
    await eventually(
      async () => {
        const { body } = await getJson<{ data: { result: { value: [number, string] }[] } }>(
          `${prometheusUrl}/api/v1/query?query=${encodeURIComponent('vouch_snapshots{verdict="clean"}')}`,
        );
        return body.data.result[0]?.value[1] === '4';
      },
      30_000,
      'the clean scan in Prometheus',
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await compromisedAlerts()).toEqual([]);
    const rulesState = await getJson<{
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    }>(`${prometheusUrl}/api/v1/rules`);
    for (const rule of rulesState.body.data.groups.flatMap((group) => group.rules))
      expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');

    await estate.ransomwareHit(1);
    expect(await runJob(serve.url, 'orders', 'scan')).toMatchObject({
      status: 'succeeded',
      result: { verdicts: { clean: 3, compromised: 1 } },
    });
    const firing = await eventually(
      async () => (await compromisedAlerts()).find((alert) => alert.state === 'firing'),
      60_000,
      'VouchSnapshotCompromised firing',
    );
    expect(firing.labels).toMatchObject({
      alertname: 'VouchSnapshotCompromised',
      severity: 'critical',
      set: 'orders',
      job: 'vouch',
    });
    const drift = (await alerts()).find((alert) => alert.labels.alertname === 'VouchHashDrift');
    expect(drift?.state).toBe('firing');
  });

  it('fires VouchSnapshotsReplaced for the archive ransomware rewrote and VouchSnapshotsRemoved once an archive is deleted, with VouchNewCompromise', async () => {
    const firing = async (name: string) =>
      (await alerts()).find((alert) => alert.labels.alertname === name && alert.state === 'firing');
    // The rewrite of the previous test is a replacement of a baselined archive: a finding about the store.
    const replaced = await eventually(
      () => firing('VouchSnapshotsReplaced'),
      60_000,
      'VouchSnapshotsReplaced firing',
    );
    expect(replaced.labels).toMatchObject({ severity: 'critical', set: 'orders', job: 'vouch' });
    expect(await firing('VouchNewCompromise')).toBeDefined();
    expect(await firing('VouchSnapshotsRemoved')).toBeUndefined();

    const client = estate.s3.client();
    await client.send(
      new DeleteObjectCommand({ Bucket: estate.bucket, Key: `orders/${estate.snapshotId(0)}.tar.gz` }),
    );
    client.destroy();
    expect(await runJob(serve.url, 'orders', 'scan')).toMatchObject({ status: 'succeeded' });
    const removed = await eventually(
      () => firing('VouchSnapshotsRemoved'),
      60_000,
      'VouchSnapshotsRemoved firing',
    );
    expect(removed.labels).toMatchObject({ severity: 'critical', set: 'orders', job: 'vouch' });
    const { body } = await getJson<{ data: { result: { value: [number, string] }[] } }>(
      `${prometheusUrl}/api/v1/query?query=${encodeURIComponent('vouch_snapshots_removed{set="orders"}')}`,
    );
    expect(body.data.result[0]?.value[1]).toBe('1');
  });
});
