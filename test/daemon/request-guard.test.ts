/**
 * A daemon only its operator drives, tried the way a hostile web page would: the default daemon
 * (loopback, no token) gets the cross-origin posts browsers send without a preflight (text/plain,
 * form bodies), JSON from a foreign origin, and a DNS-rebinding request whose Host names the
 * attacker's domain. None may start a job or read the API; every response says nosniff; every
 * request leaves an access-log line, and an API-started job names its caller in its log and in
 * its ledger record.
 */
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAllowed, hostName, stateChangeRefusal } from '../../agent/daemon/request-guard.js';
import { readLedger } from '../../agent/ledger/ledger-store.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { getJson, runJob, startServe, type ServeProcess } from '../helpers/serve.js';

/** A raw HTTP request, so the Host header can be anything (fetch will not send a foreign one). */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

let serve: ServeProcess;
let state: string;

beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vouch-guard-'));
  await mkdir(path.join(dir, 'volume'));
  await writeFile(path.join(dir, 'volume', 'orders-20250101.tar.gz'), await buildTarGz(sampleFiles(1)));
  const config = path.join(dir, 'vouch.yaml');
  await writeFile(
    config,
    `state: ./state\nsets:\n  orders:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8})' }\n    drill: { commands: ['touch /tmp/vouch-guard-pwned'] }\n`,
  );
  state = path.join(dir, 'state');
  serve = await startServe(
    ['--config', config],
    ['--listen', '127.0.0.1:0', '--allowed-host', 'vouch.internal'],
    { VOUCH_API_TOKEN: '' },
  );
});

afterAll(async () => {
  await serve?.stop();
});

const jobs = async () => (await getJson<{ jobs: unknown[] }>(`${serve.url}/api/jobs`)).body.jobs;

describe('cross-origin requests cannot drive the default daemon', () => {
  it('refuses the posts a page sends without a preflight: text/plain and form bodies, from any origin', async () => {
    for (const [type, body] of [
      ['text/plain', '{"snapshot":"latest"}'],
      ['application/x-www-form-urlencoded', 'snapshot=latest'],
      ['multipart/form-data; boundary=x', '--x--'],
    ] as const) {
      for (const task of ['drill', 'scan']) {
        const response = await raw(`${serve.url}/api/sets/orders/${task}`, {
          method: 'POST',
          headers: { origin: 'http://evil.example', 'content-type': type, host: new URL(serve.url).host },
          body,
        });
        expect(response.status, `${task} ${type}`).toBe(415);
        expect(response.body).toMatch(/need Content-Type: application\/json/);
      }
    }
    expect(await jobs()).toEqual([]);
  });

  it('refuses JSON from another origin or site, and takes it from its own origin', async () => {
    const post = (headers: Record<string, string>) =>
      raw(`${serve.url}/api/sets/orders/scan`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', host: new URL(serve.url).host, ...headers },
        body: '{}',
      });
    expect((await post({ origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ origin: 'null' })).status).toBe(403);
    expect((await post({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(await jobs()).toEqual([]);
    const own = await post({ origin: serve.url, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(202);
  });

  it('answers no request whose Host names another site (DNS rebinding), but an allowed host and loopback names', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${new URL(serve.url).port}`,
      '127.0.0.1.evil.example',
    ]) {
      const response = await raw(`${serve.url}/api/sets`, { headers: { host } });
      expect(response.status, host).toBe(403);
      expect(response.body).toMatch(/does not name this vouch.*--allowed-host/);
    }
    for (const host of [new URL(serve.url).host, 'localhost:1234', 'vouch.internal', '[::1]:9740']) {
      expect((await raw(`${serve.url}/api/sets`, { headers: { host } })).status, host).toBe(200);
    }
  });

  it('says nosniff on every response', async () => {
    for (const route of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/api/sets',
      '/api/nothing',
      '/',
      '/assets/console.css',
    ]) {
      expect((await fetch(`${serve.url}${route}`)).headers.get('x-content-type-options'), route).toBe(
        'nosniff',
      );
    }
    expect(
      (await raw(`${serve.url}/api/sets`, { headers: { host: 'evil.example' } })).headers[
        'x-content-type-options'
      ],
    ).toBe('nosniff');
  });
});

describe('who drove the daemon is on record', () => {
  it('logs one access line per request, and the caller on the API job’s log and ledger record', async () => {
    await fetch(`${serve.url}/api/sets?probe=1`);
    const line = await serve.waitForLog(
      (entry) => entry.msg === 'request' && entry.path === '/api/sets' && entry.status === 200,
    );
    expect(line).toMatchObject({ method: 'GET', caller: 'loopback', remote: '127.0.0.1' });
    expect(typeof line.durationMs).toBe('number');
    await serve.waitForLog((entry) => entry.msg === 'request' && entry.status === 403);

    const job = await runJob(serve.url, 'orders', 'scan');
    expect(job).toMatchObject({
      status: 'succeeded',
      requestedBy: { trigger: 'api', caller: 'loopback', address: '127.0.0.1' },
    });
    await serve.waitForLog(
      (entry) => entry.job === job.id && entry.caller === 'loopback' && entry.msg === 'scan started',
    );
    const runs: unknown[] = [];
    for await (const record of readLedger(state)) if (record?.type === 'scan-run') runs.push(record.data);
    expect(runs.at(-1)).toMatchObject({
      requestedBy: { trigger: 'api', caller: 'loopback', address: '127.0.0.1' },
    });
  });
});

describe('the rules (pure)', () => {
  const loopback = {
    listen: { host: '127.0.0.1', port: 9740, loopback: true },
    allowedHosts: ['vouch.example.com'],
  };
  it('reads Host headers and decides by name, not port', () => {
    expect(hostName('Vouch.Example.COM.:443')).toBe('vouch.example.com');
    expect(hostName('[::1]:9740')).toBe('::1');
    expect(hostName('a b')).toBeNull();
    expect(hostAllowed('vouch.example.com', loopback)).toBe(true);
    expect(hostAllowed('10.0.0.5', loopback)).toBe(false);
    expect(
      hostAllowed('10.0.0.5', { ...loopback, listen: { host: '0.0.0.0', port: 9740, loopback: false } }),
    ).toBe(true);
    expect(
      hostAllowed('attacker.example', {
        ...loopback,
        listen: { host: '0.0.0.0', port: 9740, loopback: false },
      }),
    ).toBe(false);
  });
  it('lets the bearer token through whatever the body, and JSON from nowhere in particular (curl)', () => {
    const base = { ownOrigin: 'http://127.0.0.1:9740', origin: undefined, secFetchSite: undefined };
    expect(
      stateChangeRefusal({ ...base, bearer: true, contentType: 'text/plain', origin: 'http://evil.example' }),
    ).toBeNull();
    expect(
      stateChangeRefusal({ ...base, bearer: false, contentType: 'application/json; charset=utf-8' }),
    ).toBeNull();
    expect(stateChangeRefusal({ ...base, bearer: false, contentType: undefined })).toMatchObject({
      status: 415,
    });
  });
});
