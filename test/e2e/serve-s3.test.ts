import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceStatus } from '../../agent/estate/evidence-status.js';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { readScanStatus } from '../../agent/state/scan-status.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { startS3Estate, type S3Estate } from '../helpers/demo-estate-s3.js';
import { getJson, parseMetrics, runJob, startServe, type ServeProcess } from '../helpers/serve.js';

let estate: S3Estate;
let serve: ServeProcess;
let dir: string;

beforeAll(async () => {
  estate = await startS3Estate(5);
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-serve-s3-'));
  // Drills run their sandboxed checks as an unprivileged user when vouch is root: the state
  // directory must be reachable for it (mkdtemp makes it 0700).
  await chmod(dir, 0o755);
  const config = await estate.writePolicy(dir);
  serve = await startServe(['--config', config], ['--listen', '127.0.0.1:0'], estate.env, 60_000, {
    realDrills: true,
  });
});

afterAll(async () => {
  await serve?.stop();
  await estate?.stop();
});

describe('vouch serve against an S3 estate (real s3rver, child process)', () => {
  it('scans and drills (a real restore in bubblewrap) on request, and /metrics reports what the state directory holds', async () => {
    const scan = await runJob(serve.url, 'orders', 'scan');
    expect(scan).toMatchObject({
      status: 'succeeded',
      trigger: 'api',
      result: { snapshots: 5, verdicts: { clean: 5 } },
    });
    const drill = await runJob(serve.url, 'orders', 'drill');
    expect(drill).toMatchObject({
      status: 'succeeded',
      result: { outcome: 'passed', snapshot: estate.snapshotId(4) },
    });

    const state = path.join(dir, 'state');
    const [index, scans, drills, evidence] = await Promise.all([
      readSetIndex(state, 'orders'),
      readScanStatus(state, 'orders'),
      readDrillIndex(state, 'orders'),
      evidenceStatus(state),
    ]);
    const response = await fetch(`${serve.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const metrics = parseMetrics(text);
    const m = (series: string) => metrics.get(series);

    expect(Object.values(index.snapshots).every((snapshot) => snapshot.verdict === 'clean')).toBe(true);
    expect(m('vouch_snapshots{set="orders",verdict="clean"}')).toBe(Object.keys(index.snapshots).length);
    expect(m('vouch_snapshots{set="orders",verdict="compromised"}')).toBe(0);
    expect(m('vouch_last_clean_snapshot_timestamp_seconds{set="orders"}')).toBe(
      estate.snapshotTime(4).getTime() / 1000,
    );
    expect(m('vouch_newest_snapshot_timestamp_seconds{set="orders"}')).toBe(
      estate.snapshotTime(4).getTime() / 1000,
    );
    expect(m('vouch_findings{set="orders",kind="drift-modified"}')).toBe(0);
    expect(m('vouch_scan_last_success_timestamp_seconds{set="orders"}')).toBe(
      Date.parse(scans.lastSuccess!) / 1000,
    );
    expect(m('vouch_scanned_bytes_total{set="orders"}')).toBe(scans.scannedBytesTotal);
    expect(scans.scannedBytesTotal).toBe(
      Object.values(index.snapshots).reduce((sum, snapshot) => sum + snapshot.bytes, 0),
    );
    expect(m('vouch_scans_total{set="orders"}')).toBe(1);

    const last = drills.drills.at(-1)!;
    expect(m('vouch_drills_total{set="orders"}')).toBe(1);
    expect(m('vouch_drill_failures_total{set="orders"}')).toBe(0);
    expect(m('vouch_drill_last_passed{set="orders"}')).toBe(1);
    expect(m('vouch_drill_last_success_timestamp_seconds{set="orders"}')).toBe(
      Date.parse(last.finishedAt) / 1000,
    );
    expect(m('vouch_drill_duration_seconds{set="orders"}')).toBe(last.durationSeconds);
    for (const phase of ['fetch', 'extract', 'verify', 'app'] as const) {
      expect(m(`vouch_drill_phase_duration_seconds{set="orders",phase="${phase}"}`)).toBe(last.phases[phase]);
    }
    expect(last.phases.fetch).toBeGreaterThan(0); // an S3 archive is downloaded before it is restored
    expect(m('vouch_rto_target_seconds{set="orders"}')).toBe(7200);
    expect(m('vouch_rpo_target_seconds{set="orders"}')).toBe(172_800);
    expect(m('vouch_drill_max_age_seconds{set="orders"}')).toBe(86_400 + 3600);
    expect(m('vouch_evidence_chain_ok')).toBe(evidence.ok ? 1 : 0);
    expect(m('vouch_evidence_records')).toBe(evidence.records);
    // newest clean snapshot within RPO, drill passed in time and within RTO, no immutability required, chain intact
    expect(m('vouch_set_ready{set="orders"}')).toBe(1);
    expect(m('vouch_task_runs_total{set="orders",task="scan"}')).toBe(1);
    expect(m('vouch_task_runs_total{set="orders",task="drill"}')).toBe(1);
    expect([...metrics.keys()].some((key) => key.startsWith('vouch_build_info{'))).toBe(true);

    const child = execFile('promtool', ['check', 'metrics']);
    const output = new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = '';
      child.stdout!.on('data', (c) => (out += c));
      child.stderr!.on('data', (c) => (out += c));
      child.on('close', (code) => resolve({ code, out }));
    });
    child.stdin!.end(text);
    const { code, out } = await output;
    expect(out).toBe('');
    expect(code).toBe(0);
  });

  it('answers the JSON API from the same state', async () => {
    const sets = await getJson<{ sets: { name: string; ready: boolean; lastClean: { id: string } }[] }>(
      `${serve.url}/api/sets`,
    );
    expect(sets.status).toBe(200);
    expect(sets.body.sets[0]).toMatchObject({
      name: 'orders',
      ready: true,
      lastClean: { id: estate.snapshotId(4) },
    });
    const snapshots = await getJson<{ snapshots: { id: string; verdict: string }[] }>(
      `${serve.url}/api/sets/orders/snapshots`,
    );
    expect(snapshots.body.snapshots.map((s) => s.id)).toEqual(
      [4, 3, 2, 1, 0].map((day) => estate.snapshotId(day)),
    );
    const lastClean = await getJson(`${serve.url}/api/sets/orders/last-clean`);
    expect(lastClean.body).toMatchObject({
      lastClean: { id: estate.snapshotId(4) },
      lastRestorable: { id: estate.snapshotId(4) },
      rejected: [],
    });
    const drills = await getJson<{ drills: { outcome: string }[] }>(`${serve.url}/api/sets/orders/drills`);
    expect(drills.body.drills.map((d) => d.outcome)).toEqual(['passed']);
    expect((await getJson(`${serve.url}/api/evidence`)).body).toMatchObject({ ok: true });
    expect((await getJson(`${serve.url}/api/sets/nope`)).status).toBe(404);
    expect((await getJson(`${serve.url}/readyz`)).body).toMatchObject({ ready: true });
    expect((await getJson(`${serve.url}/healthz`)).body).toEqual({ status: 'ok' });
  });

  it('logs JSON lines with a child logger per job and no credentials', async () => {
    const finished = serve.logs.find((line) => line.msg === 'drill finished');
    expect(finished).toMatchObject({ task: 'drill', set: 'orders', level: 'info' });
    expect(String(finished!.job)).toMatch(/^drill-orders-/);
    expect(serve.logs.find((line) => line.msg === 'drill passed')).toMatchObject({
      drill: expect.stringMatching(/^orders-/),
      snapshot: estate.snapshotId(4),
    });
    const raw = JSON.stringify(serve.logs);
    expect(raw).not.toContain(
      estate.s3.credentials.secretAccessKey === 'S3RVER' ? '"S3RVER"' : estate.s3.credentials.secretAccessKey,
    );
  });

  it('stops on SIGTERM with exit code 0 and releases the state lock', async () => {
    expect(await serve.stop()).toBe(0);
    await expect(readFile(path.join(dir, 'state', 'lock'))).rejects.toThrow(/ENOENT/);
  });
});
