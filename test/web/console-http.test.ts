/**
 * The console's HTTP behaviour on the daemon's real hono app (no socket): access rules, sessions,
 * the sign-in throttle, security headers, ordering, escaping of hostile names, downloads.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { createManifestWriter } from '../../agent/state/manifest-store.js';
import type { SetIndex, SnapshotState } from '../../agent/model/snapshot-state.js';
import type { Finding } from '../../agent/model/findings.js';
import type { Verdict } from '../../agent/model/verdict.js';
import { now, nowMs } from '../../agent/clock.js';
import { createTestHttpApp } from '../helpers/http-app.js';

const TOKEN = 'http-test-token-0123456789abcdef';
const HOSTILE = '<img src=x onerror="globalThis.pwned=1">.pdf';
const HOUR = 3_600_000;

let state: string;

function snapshot(id: string, hoursAgo: number, verdict: Verdict, findings: Finding[] = []): SnapshotState {
  const findingCounts: Partial<Record<Finding['kind'], number>> = {};
  for (const finding of findings) findingCounts[finding.kind] = (findingCounts[finding.kind] ?? 0) + 1;
  const time = new Date(nowMs() - hoursAgo * HOUR).toISOString();
  return {
    id,
    time,
    verdict,
    complete: true,
    entries: 10,
    bytes: 1000,
    findings,
    findingCounts,
    lastScan: time,
  };
}

async function writeIndex(set: string, snapshots: SnapshotState[]): Promise<void> {
  const index: SetIndex = {
    set,
    updatedAt: now().toISOString(),
    snapshots: Object.fromEntries(snapshots.map((s) => [s.id, s])),
  };
  await writeFile(path.join(state, 'sets', `${set}.json`), JSON.stringify(index));
}

function app(token?: string) {
  const policy = validatePolicy(
    {
      sets: Object.fromEntries(
        ['alpha', 'beta', 'gamma'].map((name) => [
          name,
          {
            source: { fs: { path: '/nonexistent' } },
            snapshots: { layout: 'archive' },
            targets: { rpo: '24h' },
          },
        ]),
      ),
      datasets: { orders: { copies: ['alpha', 'beta'] } },
    },
    'test policy',
    state,
  );
  return createTestHttpApp(policy, state, token);
}

const html = { accept: 'text/html' };
const ORIGIN = 'http://localhost';

beforeAll(async () => {
  state = await mkdtemp(path.join(tmpdir(), 'vouch-console-http-'));
  await mkdir(path.join(state, 'sets'), { recursive: true });
  await writeIndex('alpha', [snapshot('alpha-1', 30, 'clean'), snapshot('nested/alpha-2', 2, 'clean')]);
  const hit = snapshot('beta-2', 3, 'compromised', [
    {
      kind: 'encrypted',
      path: HOSTILE,
      severity: 'critical',
      detail:
        'expected pdf (by history), found random bytes from the first byte [magic-mismatch, random-content]',
    },
    {
      kind: 'ransom-note',
      path: 'README</td><script>globalThis.pwned=1</script>',
      severity: 'critical',
      detail: 'ransom note (onion-link)',
    },
  ]);
  hit.findingCounts.encrypted = 2500; // the index kept only some of them
  await writeIndex('beta', [snapshot('beta-1', 50, 'clean'), hit]);
  await writeFile(path.join(state, 'sets', 'gamma.json'), '{ not json');
  const at = now().toISOString();
  const writer = await createManifestWriter(state, {
    format: 'vouch-manifest',
    version: 1,
    set: 'alpha',
    snapshot: 'nested/alpha-2',
    snapshotTime: at,
    layout: 'directory',
    algorithm: 'sha256',
    createdAt: at,
  });
  await writer.add({ path: 'db/orders.sql', type: 'file', size: 3, digest: 'abc' });
  await writer.commit();
});

describe('console pages over HTTP', () => {
  it('orders the overview problems first: unreadable state, then not ready (worst newest snapshot first), then ready', async () => {
    const response = await app().request('/', { headers: html });
    expect(response.status).toBe(200);
    const body = await response.text();
    const order = [...body.matchAll(/<tr data-set="([^"]+)"/g)].map((match) => match[1]);
    expect(order).toEqual(['gamma', 'beta', 'alpha']);
    expect(body).toMatch(/<tr data-set="beta" data-ready="false"/);
    expect(body).toMatch(/<tr data-set="alpha" data-ready="true"/);
    expect(body).toContain('state unreadable');
    // The data set's 3-2-1-1-0 rule: two copies, never audited, one with a compromised snapshot.
    expect(body).toMatch(
      /<th scope="row">orders<\/th><td><a href="\/sets\/alpha">alpha<\/a>, <a href="\/sets\/beta">beta<\/a><\/td><td><span class="badge bad">broken<\/span>/,
    );
  });

  it('escapes names that come from backups: a hostile path is shown as text, never markup', async () => {
    const body = await (await app().request('/sets/beta', { headers: html })).text();
    expect(body).toContain('&lt;img src=x onerror=&quot;globalThis.pwned=1&quot;&gt;.pdf');
    expect(body).not.toContain('<img src=x');
    expect(body).not.toContain('<script>globalThis');
    expect(body).toContain('README&lt;/td&gt;&lt;script&gt;');
    expect(body).toContain('2 findings are listed; 2,499 more were counted but not kept');
    expect(body).toMatch(
      /Encrypted files <span class="count">2,500<\/span><span class="small"> \(1 listed\)<\/span>/,
    );
  });

  it('serves pages with a strict Content-Security-Policy and no caching', async () => {
    const response = await app().request('/sets/alpha', { headers: html });
    const csp = response.headers.get('content-security-policy')!;
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "form-action 'self'",
    ])
      expect(csp).toContain(directive);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const asset = await app().request('/assets/console.js?v=wrong');
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toBe('no-cache');
  });

  it('routes snapshot ids with slashes and downloads their manifest; 404 for what does not exist', async () => {
    const page = await app().request(`/sets/alpha/snapshots/${encodeURIComponent('nested/alpha-2')}`, {
      headers: html,
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('the last clean snapshot');
    const manifest = await app().request(
      `/sets/alpha/snapshots/${encodeURIComponent('nested/alpha-2')}/manifest.ndjson.gz`,
    );
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('content-disposition')).toBe(
      'attachment; filename="alpha-nested_2Falpha-2.ndjson.gz"',
    );
    const lines = gunzipSync(Buffer.from(await manifest.arrayBuffer()))
      .toString('utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(lines[1]!)).toMatchObject({ path: 'db/orders.sql' });
    expect((await app().request('/sets/alpha/snapshots/alpha-1/manifest.ndjson.gz')).status).toBe(404);
    expect((await app().request('/sets/alpha/snapshots/nope', { headers: html })).status).toBe(404);
    expect((await app().request('/sets/nope', { headers: html })).status).toBe(404);
    const unknown = await app().request('/no/such/page', { headers: html });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('text/html');
    expect((await app().request('/api/no/such/route')).headers.get('content-type')).toContain(
      'application/json',
    );
  });

  it('without a token (loopback) there is no sign-in: the form sends you to the overview', async () => {
    const response = await app().request('/login', { headers: html });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
  });
});

describe('console access with a token', () => {
  it('sends browsers to the sign-in form, keeps the requested page, and answers scripts with 401', async () => {
    const guarded = app(TOKEN);
    const page = await guarded.request('/sets/beta?x=1', { headers: html });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`/login?next=${encodeURIComponent('/sets/beta?x=1')}`);
    expect((await guarded.request('/sets/beta')).status).toBe(401);
    expect((await guarded.request('/api/sets', { headers: html })).status).toBe(401);
    expect((await guarded.request('/healthz')).status).toBe(200);
    expect((await guarded.request('/assets/console.css')).status).toBe(200);
    expect(
      (await guarded.request('/sets/beta', { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
  });

  it('signs in with the token, then reads with the session cookie but cannot start jobs with it; signing out ends the session', async () => {
    const guarded = app(TOKEN);
    const login = await guarded.request('/login', {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, next: '/evidence' }).toString(),
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/evidence');
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(
      /^vouch_session=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    const cookie = setCookie.split(';')[0]!;
    expect((await guarded.request('/evidence', { headers: { ...html, cookie } })).status).toBe(200);
    expect((await guarded.request('/api/jobs', { headers: { cookie } })).status).toBe(200);
    expect(
      (
        await guarded.request('/api/sets/alpha/scan', {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await guarded.request('/api/sets/alpha/scan', {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).status,
    ).toBe(202);
    const logout = await guarded.request('/logout', { method: 'POST', headers: { cookie, origin: ORIGIN } });
    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toBe('/login');
    expect((await guarded.request('/evidence', { headers: { ...html, cookie } })).status).toBe(303);
  });

  it('only returns to same-origin paths after signing in', async () => {
    const guarded = app(TOKEN);
    for (const next of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
    ]) {
      const login = await guarded.request('/login', {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: TOKEN, next }).toString(),
      });
      expect(login.headers.get('location'), next).toBe('/');
    }
  });

  it('refuses further sign-in attempts after 10 wrong tokens, even with the right one, and says when to retry', async () => {
    const guarded = app(TOKEN);
    const attempt = (token: string) =>
      guarded.request('/login', {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
    for (let n = 0; n < 10; n++) expect((await attempt(`wrong-token-${n}-0123456789`)).status).toBe(401);
    const refused = await attempt(TOKEN);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toContain('Too many wrong tokens');
  });
});
