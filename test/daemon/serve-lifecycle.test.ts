import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evidenceStatus } from '../../agent/estate/evidence-status.js';
import { readLedger } from '../../agent/ledger/ledger-store.js';
import { manifestPath } from '../../agent/state/manifest-store.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli } from '../helpers/cli.js';
import { getJson, parseMetrics, runJob, startServe } from '../helpers/serve.js';

const TOKEN = 'test-token-0123456789abcdef';

/** An offline volume with `count` small archives and a policy for it. */
async function offlineEstate(
  count: number,
  extraPolicy = '',
): Promise<{ dir: string; config: string; state: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vouch-serve-'));
  const volume = path.join(dir, 'volume');
  await mkdir(volume);
  const archive = await buildTarGz(sampleFiles(1));
  for (let i = 0; i < count; i++) {
    const day = new Date(Date.UTC(2025, 0, 1) + i * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    await writeFile(path.join(volume, `orders-${day}.tar.gz`), archive);
  }
  const config = path.join(dir, 'vouch.yaml');
  await writeFile(
    config,
    `state: ./state\nsets:\n  orders:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8})' }\n${extraPolicy}`,
  );
  return { dir, config, state: path.join(dir, 'state') };
}

describe('vouch serve: start-up and access control', () => {
  it('exits 2 with every policy problem named by path when the policy is invalid at start-up', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-serve-'));
    const config = path.join(dir, 'vouch.yaml');
    await writeFile(
      config,
      "sets:\n  orders:\n    source: { fs: {} }\n    snapshots: { layout: archive }\n    schedule: { scan: 'every hour', timezone: Mars/Olympus }\n",
    );
    const { code, stderr } = await runCli(['--config', config, 'serve', '--listen', '127.0.0.1:0']);
    expect(code).toBe(2);
    expect(stderr).toContain('sets.orders.source.fs.path: required');
    expect(stderr).toContain('sets.orders.schedule.scan: expected a cron expression with 5 or 6 fields');
    expect(stderr).toContain('sets.orders.schedule.timezone: unknown time zone');
  });

  it('refuses to listen off loopback without VOUCH_API_TOKEN', async () => {
    const { config } = await offlineEstate(1);
    const { code, stderr } = await runCli(['--config', config, 'serve', '--listen', '0.0.0.0:0'], {
      VOUCH_API_TOKEN: '',
    });
    expect(code).toBe(2);
    expect(stderr).toContain('refusing to listen on 0.0.0.0:0 without VOUCH_API_TOKEN');
  });

  it('requires the bearer token off loopback on everything but /healthz (and /metrics unless --metrics-auth)', async () => {
    const { config } = await offlineEstate(1);
    const serve = await startServe(['--config', config], ['--listen', '0.0.0.0:0'], {
      VOUCH_API_TOKEN: TOKEN,
    });
    try {
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect((await fetch(`${serve.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${serve.url}/metrics`)).status).toBe(200);
      for (const route of [
        '/readyz',
        '/api/sets',
        '/api/sets/orders/snapshots',
        '/api/evidence',
        '/api/jobs',
      ]) {
        expect((await fetch(`${serve.url}${route}`)).status, route).toBe(401);
        expect(
          (
            await fetch(`${serve.url}${route}`, {
              headers: { authorization: 'Bearer wrong-token-0123456789' },
            })
          ).status,
          route,
        ).toBe(401);
        expect((await fetch(`${serve.url}${route}`, { headers: auth })).status, route).toBe(200);
      }
      expect(
        (
          await fetch(`${serve.url}/api/sets/orders/scan`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
          })
        ).status,
      ).toBe(401);
      expect(await runJob(serve.url, 'orders', 'scan', auth)).toMatchObject({ status: 'succeeded' });
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    const locked = await startServe(['--config', config], ['--listen', '0.0.0.0:0', '--metrics-auth'], {
      VOUCH_API_TOKEN: TOKEN,
    });
    try {
      expect((await fetch(`${locked.url}/metrics`)).status).toBe(401);
      expect(
        (await fetch(`${locked.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      ).toBe(200);
    } finally {
      await locked.stop();
    }
  });

  it('caps request bodies', async () => {
    const { config } = await offlineEstate(1);
    const serve = await startServe(['--config', config], ['--listen', '127.0.0.1:0']);
    try {
      const response = await fetch(`${serve.url}/api/sets/orders/drill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ snapshot: 'x'.repeat(64 * 1024) }),
      });
      expect(response.status).toBe(413);
    } finally {
      await serve.stop();
    }
  });
});

// The SIGTERM test's own bounds (up to 60 s for the scan to record five snapshots, 20 s to stop,
// then a full scan of 300) add up to more than the default test timeout when other test files
// share the cores.
describe('vouch serve: signals', { timeout: 240_000 }, () => {
  it('SIGTERM mid-scan stops at a safe point: state consistent, lock released, the next scan finishes the job', async () => {
    const { config, state } = await offlineEstate(300);
    const serve = await startServe(
      ['--config', config],
      ['--listen', '127.0.0.1:0', '--shutdown-timeout', '20s'],
    );
    const started = await getJson<{ job: { id: string } }>(`${serve.url}/api/sets/orders/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(started.status).toBe(202);
    // Wait until some snapshots are recorded, then stop.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const index = await readSetIndex(state, 'orders').catch(() => ({ snapshots: {} }));
      if (Object.keys(index.snapshots).length >= 5) break;
      if (Date.now() > deadline) throw new Error('scan did not start');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stoppedAt = Date.now();
    expect(await serve.stop()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);

    const names = await readdir(state);
    expect(names).not.toContain('lock');
    expect(await evidenceStatus(state)).toMatchObject({ ok: true });
    const index = await readSetIndex(state, 'orders');
    const scanned = Object.keys(index.snapshots);
    expect(scanned.length).toBeLessThan(300);
    for (const id of scanned) await readFile(manifestPath(state, 'orders', id)); // every recorded snapshot has its baseline
    const records = [];
    for await (const record of readLedger(state)) records.push(record!);
    expect(records.at(-1)).toMatchObject({ type: 'scan-run', data: { interrupted: true } });
    expect(serve.logs.some((line) => line.msg === 'scan finished' && line.status === 'aborted')).toBe(true);

    const next = await runCli(['--json', '--config', config, 'scan']);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout).sets[0].snapshots).toHaveLength(300);
  });

  it('SIGHUP with a broken policy keeps the old one and says why; a good one is applied', async () => {
    const { config } = await offlineEstate(1, "    schedule: { scan: '0 * * * *' }\n");
    const serve = await startServe(['--config', config], ['--listen', '127.0.0.1:0']);
    try {
      const original = await readFile(config, 'utf8');
      await writeFile(config, `${original}    targets: { rpo: soon }\n`);
      serve.child.kill('SIGHUP');
      const rejected = await serve.waitForLog((line) =>
        String(line.msg).startsWith('policy reload rejected'),
      );
      expect(rejected.level).toBe('error');
      expect(rejected.problems).toEqual([
        'sets.orders.targets.rpo: expected a duration such as 90m, 24h, 30d',
      ]);
      const sets = await getJson<{ sets: { name: string; schedule: { scan: string } }[] }>(
        `${serve.url}/api/sets`,
      );
      expect(sets.body.sets.map((set) => [set.name, set.schedule.scan])).toEqual([['orders', '0 * * * *']]);
      const metrics = parseMetrics(await (await fetch(`${serve.url}/metrics`)).text());
      expect(metrics.get('vouch_policy_reload_failures_total')).toBe(1);

      await writeFile(
        config,
        `${original.replace("'0 * * * *'", "'15 * * * *'")}  invoices:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: archive }\n`,
      );
      serve.child.kill('SIGHUP');
      await serve.waitForLog((line) => line.msg === 'policy reloaded');
      const reloaded = await getJson<{ sets: { name: string; schedule: { scan: string } | null }[] }>(
        `${serve.url}/api/sets`,
      );
      expect(reloaded.body.sets.map((set) => [set.name, set.schedule?.scan ?? null])).toEqual([
        ['orders', '15 * * * *'],
        ['invoices', null],
      ]);
    } finally {
      const code = await serve.stop();
      expect({ code, signal: serve.child.signalCode, stderr: serve.stderr() }).toMatchObject({ code: 0 });
    }
  });
});
