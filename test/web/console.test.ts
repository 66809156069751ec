/**
 * The web console in a real browser (Debian Chromium through playwright-core) against a real
 * `vouch serve` child process on the demo estate: two weeks of nightly backups on an embedded S3
 * server, one rewritten by an intruder, the newest hit by ransomware, and a restore drill of the
 * last clean one. Every page is checked for console errors, failed requests and accessibility
 * violations, and kept as a screenshot in test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runDemo, type DemoResult } from '../../agent/demo/run-demo.js';
import { currentPublicKey, formatFingerprint } from '../../agent/ledger/signing-key.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { accessibilityViolations, launchChromium, watchPage, type PageProblems } from '../helpers/browser.js';
import { startServe, type ServeProcess } from '../helpers/serve.js';

/** Screenshots and PDFs; `npm run test:dates` gives each of its simultaneous runs its own. */
const ARTIFACTS = path.resolve(
  fileURLToPath(new URL('../../', import.meta.url)),
  process.env.VOUCH_TEST_ARTIFACTS ?? 'test-artifacts',
);
const TOKEN = 'console-test-token-0123456789abcdef';

let demo: DemoResult;
let config: string;
let serve: ServeProcess;
let browser: Browser;

beforeAll(async () => {
  const state = await mkdtemp(path.join(tmpdir(), 'vouch-console-'));
  await chmod(state, 0o711); // the demo's drill runs its checks as another user
  demo = await runDemo({ stateDir: state, keepStore: true, say: () => undefined });
  expect(demo.caught).toBe(true);
  // The demo's policy without its schedules, so no scheduled scan moves the ledger under a test.
  const policy = parse(await readFile(demo.policyFile, 'utf8')) as {
    sets: Record<string, { schedule?: unknown }>;
  };
  for (const set of Object.values(policy.sets)) delete set.schedule;
  config = path.join(demo.stateDir, 'vouch-console-test.yaml');
  await writeFile(config, stringify(policy));
  serve = await startServe(['--config', config, '--state', demo.stateDir], ['--listen', '127.0.0.1:0']);
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
  // The whole demo (scans, a sandboxed drill), the daemon and Chromium: over three minutes when
  // the machine also runs other test files.
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  await demo?.stopStore();
});

/** A fresh page whose problems are collected. */
async function open(context?: BrowserContext): Promise<{ page: Page; problems: PageProblems }> {
  const page = await (context ?? browser).newPage({ viewport: { width: 1280, height: 900 } });
  return { page, problems: watchPage(page) };
}

function expectNoProblems(problems: PageProblems): void {
  expect(problems.errors, 'console errors').toEqual([]);
  expect(problems.failedRequests, 'failed requests').toEqual([]);
  expect(problems.badResponses, 'HTTP errors').toEqual([]);
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });
}

describe('web console on the demo estate', () => {
  it('overview lists every set, problems first, and marks the ransomware-hit set (orders) not ready', async () => {
    const { page, problems } = await open();
    await page.goto(serve.url, { waitUntil: 'load' });
    expect(await page.title()).toBe('Overview — vouch');
    await expect(
      page.locator('tr[data-set]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-set'))),
    ).resolves.toEqual(['orders', 'orders-restic', 'invoices-offline']);
    const orders = page.locator('tr[data-set="orders"]');
    expect(await orders.getAttribute('data-ready')).toBe('false');
    const ordersText = (await orders.textContent())!;
    expect(ordersText).toContain('not ready');
    expect(ordersText).toContain('compromised'); // its newest snapshot
    expect(ordersText).toContain(demo.expectedLastClean);
    expect(ordersText).toMatch(
      /RPO: last restorable snapshot \(clean, its latest drill passed\) is [\d.]+h old; RPO 24h/,
    );
    expect(ordersText).toContain('passed'); // the demo's drill of the last clean snapshot
    expect(await page.locator('tr[data-set="invoices-offline"]').getAttribute('data-ready')).toBe('true');
    // The demo's restic repository of the same system is not ready either: its newest snapshot is the hit one and it was never drilled.
    expect(await page.locator('tr[data-set="orders-restic"]').getAttribute('data-ready')).toBe('false');
    expect(await page.locator('.lead').textContent()).toMatch(
      /3 sets: 2 not ready · evidence chain intact \(\d+ records\)/,
    );
    // Landmarks and headings.
    expect(await page.getByRole('banner').count()).toBe(1);
    expect(await page.getByRole('main').count()).toBe(1);
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(1);
    expect(await page.locator('h1').count()).toBe(1);
    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent.trim()')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement.id')).toBe('main');
    await page.keyboard.press('Tab');
    // The first thing after the skip link is the worst set: the demo rewrote one of its archives in
    // the store (a snapshot-replaced banner), else its row.
    expect(await page.evaluate('document.activeElement.getAttribute("href")')).toMatch(
      /^\/sets\/orders(#store-findings)?$/,
    );
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'overview');
    expectNoProblems(problems);
    await page.close();
  });

  it('clicking through to orders shows the compromised snapshots with their encrypted files grouped by type and mode, and the last clean snapshot', async () => {
    const { page, problems } = await open();
    await page.goto(serve.url, { waitUntil: 'load' });
    await page.getByRole('link', { name: 'orders', exact: true }).click();
    await page.waitForURL(/\/sets\/orders$/);
    expect(await page.locator('h1').textContent()).toMatch(/Set orders\s*not ready/);
    expect(await page.locator('[data-last-clean]').getAttribute('data-last-clean')).toBe(
      demo.expectedLastClean,
    );
    expect(await page.locator('[data-last-restorable]').getAttribute('data-last-restorable')).toBe(
      demo.expectedLastClean,
    );

    // The timeline: one bar per snapshot, both bad ones red, the last clean one marked.
    expect(await page.locator('figure.timeline rect.bar').count()).toBe(14);
    expect(await page.locator('figure.timeline rect.bar.compromised').count()).toBe(2);
    expect(await page.locator('figure.timeline .marker').textContent()).toContain(
      'last clean · last restorable',
    );

    const hit = page.locator(`section[data-snapshot="${demo.ransomware}"]`);
    await expect(hit.locator('h3').textContent()).resolves.toContain('compromised');
    await expect(hit.textContent()).resolves.toContain('newer than the last clean snapshot');
    const encrypted = hit.locator('.group.encrypted');
    const hitEncrypted = demo.hit.renamed.length + demo.hit.inPlace.length;
    await expect(encrypted.locator('h4').textContent()).resolves.toMatch(
      new RegExp(`Encrypted files\\s*${hitEncrypted}$`),
    );
    const subgroups = await encrypted.locator('summary').allTextContents();
    expect(subgroups).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sqlite · intermittent: 16 bytes encrypted, 16 left, repeating — 1 path$/),
        expect.stringMatching(/^pdf · whole file encrypted — \d+ paths$/),
      ]),
    );
    const invoice = demo.hit.renamed.find((file) => /^invoices\/INV-\d+\.pdf\.kandalock$/.test(file))!;
    for (const file of ['db/inventory.sqlite', 'db/orders.sql', invoice]) {
      expect(await encrypted.locator(`tr[data-path="${file}"]`).isVisible(), file).toBe(true);
    }
    expect(await hit.locator('.group.ransom-notes tr[data-path="HOW_TO_DECRYPT.txt"]').isVisible()).toBe(
      true,
    );
    const tampered = page.locator(`section[data-snapshot="${demo.tampered}"]`);
    await expect(tampered.textContent()).resolves.toContain('older than the last clean snapshot');
    expect(await tampered.locator('.group.drift tr[data-path="db/orders.sql"]').isVisible()).toBe(true);

    // The path filter: only matching rows stay, and it says how many.
    const index = await readSetIndex(demo.stateDir, 'orders');
    // A prefix shared by a few invoice numbers (INV-2056 for INV-20561…INV-20569).
    const filter = /INV-\d+/.exec(invoice)![0].slice(0, -1);
    const expected = index.snapshots[demo.ransomware]!.findings.filter((finding) =>
      finding.path.toLowerCase().includes(filter.toLowerCase()),
    ).length;
    expect(expected).toBeGreaterThan(0);
    await hit.getByLabel('Filter affected paths').fill(filter);
    await expect.poll(() => hit.locator('tr[data-path]:visible').count()).toBe(expected);
    expect(await hit.locator('[data-filter-result]').textContent()).toBe(
      `${expected} of ${index.snapshots[demo.ransomware]!.findings.length} listed paths match`,
    );
    expect(await hit.locator('.group.ransom-notes').isVisible()).toBe(false);
    await hit.getByLabel('Filter affected paths').fill('');
    await expect.poll(() => hit.locator('.group.ransom-notes').isVisible()).toBe(true);

    // The drill history against the RTO.
    const drill = page.locator('table.drills tbody tr').first();
    await expect(drill.textContent()).resolves.toMatch(
      new RegExp(`${demo.expectedLastClean}[\\s\\S]*passed[\\s\\S]*fetch .* extract .* verify .* app`),
    );
    await expect(drill.textContent()).resolves.toContain('within RTO');

    // Downloads: the last clean snapshot's manifest and the hit snapshot's evidence records.
    const [manifest] = await Promise.all([
      page.waitForEvent('download'),
      page
        .locator(`table.snapshots tr[data-snapshot="${demo.expectedLastClean}"] a`, { hasText: 'manifest' })
        .click(),
    ]);
    const header = JSON.parse(
      gunzipSync(await readFile(await manifest.path()))
        .toString('utf8')
        .split('\n')[0]!,
    );
    expect(header).toMatchObject({
      format: 'vouch-manifest',
      set: 'orders',
      snapshot: demo.expectedLastClean,
    });
    const [records] = await Promise.all([
      page.waitForEvent('download'),
      hit.locator('a', { hasText: 'evidence records' }).first().click(),
    ]);
    const evidence = JSON.parse(await readFile(await records.path(), 'utf8')) as {
      chain: { ok: boolean };
      records: { type: string; data: { snapshot: string; verdict?: string } }[];
    };
    expect(evidence.chain.ok).toBe(true);
    expect(evidence.records.every((record) => record.data.snapshot === demo.ransomware)).toBe(true);
    expect(evidence.records.map((record) => record.type)).toEqual(
      expect.arrayContaining(['baseline', 'snapshot-scan']),
    );
    expect(
      evidence.records.some(
        (record) => record.type === 'snapshot-scan' && record.data.verdict === 'compromised',
      ),
    ).toBe(true);

    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'set');
    // The top of the page as the README shows it (agent/web/console-set.png is a copy).
    await page.setViewportSize({ width: 1100, height: 860 });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-set-top.png') });
    expectNoProblems(problems);
    await page.close();
  });

  it('prints the set page with every collapsed section open and without the controls', async () => {
    const { page, problems } = await open();
    await page.goto(`${serve.url}/sets/orders`, { waitUntil: 'load' });
    // The renamed files of the hit snapshot are a collapsed section on screen.
    expect(
      await page
        .locator(`section[data-snapshot="${demo.ransomware}"] details[data-subgroup]:not([open])`)
        .count(),
    ).toBeGreaterThan(0);
    const pdf = path.join(ARTIFACTS, 'console-set.pdf');
    await page.pdf({ path: pdf, format: 'A4', landscape: true });
    const printed = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    expect(printed).toContain('Which snapshot to restore');
    expect(printed).toContain(demo.expectedLastClean);
    expect(printed).toMatch(/renamed from\s+images\/product-\d+\.png/);
    expect(printed).not.toContain('Filter affected paths');
    expect(printed).not.toContain('Sign out');
    expectNoProblems(problems);
    await page.close();
  });

  it('the snapshot page of the hit snapshot lists its findings and detection counts', async () => {
    const { page, problems } = await open();
    await page.goto(`${serve.url}/sets/orders/snapshots/${encodeURIComponent(demo.ransomware)}`, {
      waitUntil: 'load',
    });
    expect(await page.locator('h1').textContent()).toMatch(
      new RegExp(`Snapshot ${demo.ransomware}\\s*compromised`),
    );
    await expect(page.locator('dl.facts').textContent()).resolves.toContain(
      `${demo.hit.renamed.length + demo.hit.inPlace.length} encrypted (strong evidence)`,
    );
    expect(await page.locator('tr[data-path="HOW_TO_DECRYPT.txt"]').isVisible()).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'snapshot');
    expectNoProblems(problems);
    await page.close();
  });

  it('evidence page: the chain intact with the signing key fingerprint, records filtered by set and kind and paged on the server, the auditor report downloaded', async () => {
    const { page, problems } = await open();
    await page.goto(`${serve.url}/evidence`, { waitUntil: 'load' });
    const chain = page.locator('section.chain');
    expect(await chain.getAttribute('data-chain')).toBe('intact');
    const key = (await currentPublicKey(demo.stateDir))!;
    expect(await chain.locator('.fingerprint').first().textContent()).toBe(
      formatFingerprint(key.fingerprint),
    );
    const total = Number(
      /(\d+) records, newest first/.exec((await page.locator('[data-record-count]').textContent())!)![1],
    );
    expect(total).toBeGreaterThan(50);
    expect(await page.locator('table.records tbody tr').count()).toBe(50);
    expect(await page.locator('table.records tbody tr').first().getAttribute('data-seq')).toBe(String(total));
    await page.getByRole('link', { name: 'Older →' }).first().click();
    await page.waitForURL(/page=2/);
    expect(await page.locator('table.records tbody tr').count()).toBe(total - 50);
    expect(await page.locator('table.records tbody tr').last().getAttribute('data-seq')).toBe('1');

    await page.getByLabel('Set').selectOption('orders');
    await page.getByLabel('Kind').selectOption('drill');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/kind=drill/);
    const kinds = await page.locator('table.records tbody tr td:nth-child(3)').allTextContents();
    expect(kinds).toEqual(['drill']);
    expect(await page.locator('[data-record-count]').textContent()).toBe('1 record match, newest first.');

    const [report] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the auditor report' }).click(),
    ]);
    expect(report.suggestedFilename()).toMatch(/^vouch-evidence-report-\d{8}T\d{6}Z\.html$/);
    const html = await readFile(await report.path(), 'utf8');
    expect(html).toContain('Backup evidence report');
    expect(html).toContain('chain verified');
    expect(html).toContain(demo.expectedLastClean);

    await page.goto(`${serve.url}/evidence`, { waitUntil: 'load' });
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'evidence');
    expectNoProblems(problems);
    await page.close();
  });

  it('pages refresh their data without a reload while a scan runs', async () => {
    const { page, problems } = await open();
    await page.goto(`${serve.url}/sets/orders`, { waitUntil: 'load' });
    const before = await page.locator('[data-last-scan]').getAttribute('data-last-scan');
    await page.evaluate(() => ((globalThis as { notReloaded?: boolean }).notReloaded = true));
    const started = await fetch(`${serve.url}/api/sets/orders/scan`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(started.status).toBe(202);
    // The tab becoming visible makes the page look for running jobs at once (as it does every few seconds).
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))");
    await expect
      .poll(() => page.locator('#activity').textContent(), { timeout: 30_000 })
      .toMatch(/Scan of orders (running since|queued)/);
    await expect
      .poll(() => page.locator('[data-last-scan]').getAttribute('data-last-scan'), {
        timeout: 90_000,
        interval: 500,
      })
      .not.toBe(before);
    await expect
      .poll(() => page.locator('#activity').textContent(), { timeout: 30_000 })
      .toBe('No scan or drill running.');
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator('#refreshed').textContent()).toMatch(/updated \d{2}:\d{2}:\d{2}Z/);
    expectNoProblems(problems);
    await page.close();
  });

  it('after a ledger record is edited, the evidence page shows the chain broken at that record', async () => {
    const segment = path.join(demo.stateDir, 'ledger', '00000001.ndjson');
    const original = await readFile(segment, 'utf8');
    const lines = original.split('\n');
    // Hide the ransomware: rewrite the hit snapshot's compromised scan record as clean.
    const at = lines.findIndex(
      (line) =>
        line.includes('"type":"snapshot-scan"') &&
        line.includes(`"snapshot":"${demo.ransomware}"`) &&
        line.includes('"verdict":"compromised"'),
    );
    expect(at).toBeGreaterThanOrEqual(0);
    const seq = (JSON.parse(lines[at]!) as { seq: number }).seq;
    lines[at] = lines[at]!.replace('"verdict":"compromised"', '"verdict":"clean"');
    await writeFile(segment, lines.join('\n'));
    const { page, problems } = await open();
    try {
      await page.goto(`${serve.url}/evidence`, { waitUntil: 'load' });
      await expect
        .poll(() => page.locator('section.chain').getAttribute('data-chain'), { timeout: 20_000 })
        .toBe('broken');
      expect(await page.locator('section.chain').getAttribute('data-first-bad')).toBe(String(seq));
      expect(await page.locator('section.chain [role="alert"]').textContent()).toContain(
        `The chain is broken at record ${seq}: edited`,
      );
      await page.getByRole('link', { name: `Show record ${seq}` }).click();
      const row = page.locator(`table.records tr.bad-record[data-seq="${seq}"]`);
      expect(await row.isVisible()).toBe(true);
      await expect(row.textContent()).resolves.toContain('first bad record');
      await screenshot(page, 'evidence-broken');
      await page.goto(serve.url, { waitUntil: 'load' });
      expect(await page.locator('.alert.bad', { hasText: 'evidence chain' }).textContent()).toContain(
        `The evidence chain is broken at record ${seq}`,
      );
      expectNoProblems(problems);
    } finally {
      await writeFile(segment, original);
      await page.close();
    }
  });
});

/** This machine's first IPv4 address that is not loopback, else the wildcard address. */
function offLoopbackHost(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? [])
      if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return '0.0.0.0';
}

describe('web console off loopback (bearer token required)', () => {
  let guarded: ServeProcess;

  beforeAll(async () => {
    const host = offLoopbackHost();
    guarded = await startServe(['--config', config, '--state', demo.stateDir], ['--listen', `${host}:0`], {
      VOUCH_API_TOKEN: TOKEN,
    });
  });

  afterAll(async () => {
    await guarded?.stop();
  });

  it('refuses an unauthenticated visitor everything but the sign-in form, and leaks no data', async () => {
    const html = { accept: 'text/html' };
    const snapshot = encodeURIComponent(demo.ransomware);
    for (const route of [
      '/',
      '/sets/orders',
      `/sets/orders/snapshots/${snapshot}`,
      '/evidence',
      '/evidence?page=2',
    ]) {
      const response = await fetch(`${guarded.url}${route}`, { headers: html, redirect: 'manual' });
      expect(response.status, route).toBe(303);
      expect(response.headers.get('location'), route).toBe(`/login?next=${encodeURIComponent(route)}`);
      expect(await response.text(), route).toBe('');
    }
    for (const route of [
      '/',
      '/sets/orders',
      `/sets/orders/snapshots/${snapshot}/manifest.ndjson.gz`,
      `/sets/orders/snapshots/${snapshot}/evidence.json`,
      '/evidence/report',
      '/evidence/records/0.json',
      '/api/sets',
      '/api/jobs',
    ]) {
      const response = await fetch(`${guarded.url}${route}`, { redirect: 'manual' });
      expect(response.status, route).toBe(401);
      expect(await response.text(), route).not.toContain('orders-');
    }
    const login = await fetch(`${guarded.url}/login`);
    expect(login.status).toBe(200);
    const form = await login.text();
    expect(form).toContain('API token');
    expect(form).not.toMatch(/orders-|compromised|invoices-offline/);
    const post = (token: string, origin = guarded.url) =>
      fetch(`${guarded.url}/login`, {
        method: 'POST',
        headers: { origin },
        body: new URLSearchParams({ token, next: '/' }),
        redirect: 'manual',
      });
    const wrong = await post('not-the-token-0123456789');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    // A sign-in posted from another site is refused even with the right token.
    expect((await post(TOKEN, 'http://attacker.example')).status).toBe(403);
    // A session cookie that vouch never issued is no key either.
    const forged = await fetch(`${guarded.url}/sets/orders`, {
      headers: { cookie: 'vouch_session=forged-session-id', accept: 'text/html' },
      redirect: 'manual',
    });
    expect(forged.status).toBe(303);
    expect((await fetch(`${guarded.url}/assets/console.css`)).status).toBe(200);
  });

  it('signs a browser in with the token in a form (never in a URL), keeps an HttpOnly SameSite=Strict session for reading only, and signs it out', async () => {
    const context = await browser.newContext();
    const { page, problems } = await open(context);
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    await page.goto(`${guarded.url}/sets/orders`, { waitUntil: 'load' });
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.locator('main').textContent()).not.toMatch(/orders-|compromised/);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'login');

    await page.getByLabel('API token').fill('not-the-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.locator('[role="alert"]').textContent())
      .toContain("not this vouch's API token");
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/sets\/orders$/);
    expect(await page.locator('[data-last-clean]').getAttribute('data-last-clean')).toBe(
      demo.expectedLastClean,
    );

    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: 'vouch_session',
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
    });
    expect(cookies[0]!.value).not.toContain(TOKEN);
    expect(await page.evaluate('document.cookie')).toBe('');
    // The session reads (the page's own polling of /api/jobs works), but cannot start jobs.
    expect((await page.request.get(`${guarded.url}/api/jobs`)).status()).toBe(200);
    expect((await page.request.post(`${guarded.url}/api/sets/orders/scan`, { data: {} })).status()).toBe(401);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    const stale = await fetch(`${guarded.url}/sets/orders`, {
      headers: { cookie: `vouch_session=${cookies[0]!.value}`, accept: 'text/html' },
      redirect: 'manual',
    });
    expect(stale.status).toBe(303);
    expect(urls.every((url) => !url.includes(TOKEN))).toBe(true);

    // The only errors: the deliberately wrong token (401 and Chromium's note about it).
    expect(problems.badResponses).toEqual([`401 POST ${guarded.url}/login`]);
    expect(problems.errors.every((error) => /status of 401/.test(error))).toBe(true);
    expect(problems.failedRequests).toEqual([]);
    await context.close();
  });
});
