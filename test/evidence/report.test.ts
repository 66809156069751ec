import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillReport } from '../../agent/model/drill.js';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { gatherReportData, worstCleanGap } from '../../agent/evidence/report-data.js';
import { escapeHtml, renderReportHtml } from '../../agent/evidence/report-html.js';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli } from '../helpers/cli.js';
import { drillFixture, drillSet, policyOf, type DrillFixture } from '../helpers/drill-fixtures.js';

/** Screenshots and PDFs; `npm run test:dates` gives each of its simultaneous runs its own. */
const ARTIFACTS = path.resolve(
  fileURLToPath(new URL('../../', import.meta.url)),
  process.env.VOUCH_TEST_ARTIFACTS ?? 'test-artifacts',
);
const HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let fixture: DrillFixture;
let drills: DrillReport[];
let reportFile: string;
let browser: Browser;

beforeAll(async () => {
  fixture = await drillFixture('vouch-report-');
  for (const day of [17, 18, 19])
    await writeFile(
      path.join(fixture.volume, `orders-202510${day}.tar.gz`),
      await buildTarGz(sampleFiles(day)),
    );
  const set = drillSet(fixture, {
    drill: { commands: ['test -s db/orders.sql', { name: HOSTILE_NAME, run: 'test -e never-there' }] },
    extra: { targets: { rpo: '24h', rto: '2h' } },
  });
  const sampled = drillSet(fixture, {
    drill: { sample: '50%' },
    extra: { targets: { rpo: '24h', rto: '2h' } },
  });
  await runScan(policyOf(set), { stateDir: fixture.state });
  await writeFile(path.join(fixture.volume, 'orders-20251019.tar.gz'), await buildTarGz(sampleFiles(42))); // tampered after its baseline
  await runScan(policyOf(set), { stateDir: fixture.state });
  drills = [
    await runDrillReport(set, { stateDir: fixture.state }),
    await runDrillReport(sampled, { stateDir: fixture.state, snapshot: 'orders-20251017' }),
  ];
  await writeFile(
    path.join(fixture.root, 'vouch.yaml'),
    `state: ./state\nsets:\n  orders:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8})' }\n    targets: { rpo: 24h, rto: 2h }\n`,
  );
  reportFile = path.join(fixture.root, 'report.html');
  const cli = await runCli([
    '--config',
    path.join(fixture.root, 'vouch.yaml'),
    'evidence',
    'report',
    '--out',
    reportFile,
  ]);
  expect(cli.code, cli.stderr).toBe(0);
  expect(cli.stdout).toMatch(/wrote .*report\.html: 1 sets, 2 drills; evidence chain verified/);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
});

describe('auditor report', () => {
  it('loads in Chromium with no errors and no external requests, showing every drill; kept as a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`file://${reportFile}`, { waitUntil: 'load' });
    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${reportFile}`]);

    const rows = page.locator('tr.drill');
    expect(await rows.count()).toBe(2);
    for (const drill of drills) {
      const row = page.locator(`tr.drill[data-drill="${drill.id}"]`);
      await expect(row.textContent()).resolves.toContain(drill.outcome);
      await expect(row.textContent()).resolves.toContain(String(drill.ledgerSeq));
    }
    const text = (await page.textContent('body'))!;
    expect(text).toContain('chain verified');
    expect(text).toContain('orders-20251018'); // the last clean snapshot, after 19 was tampered with
    expect(text).toMatch(/orders-20251019\s*2025-10-19 00:00:00Z\s*compromised/);
    for (const control of ['A.8.13', 'A1.3', 'CP-9(1)', 'CP-9(2)', '11.5']) expect(text).toContain(control);
    expect(text).toContain(HOSTILE_NAME); // shown as text…
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined(); // …never run

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'evidence-report.png'), fullPage: true });
    await page.close();
  });

  it('is readable when printed', async () => {
    const page = await browser.newPage();
    await page.goto(`file://${reportFile}`);
    const pdf = path.join(ARTIFACTS, 'evidence-report.pdf');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.pdf({ path: pdf, format: 'A4', landscape: true });
    await page.close();
    const printed = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    expect(printed).toContain('Backup evidence report');
    // Long ids wrap inside their table cell: check their parts and what an auditor reads first.
    for (const drill of drills) {
      expect(printed).toContain(drill.id.split('-').at(-1));
      expect(printed).toContain(drill.snapshot!);
      expect(printed).toMatch(new RegExp(`\\b${drill.ledgerSeq}\\s+\\d{4}-\\d{2}-\\d{2}`));
    }
    expect(printed).toContain('exited with 1, expected 0');
    expect(printed).toMatch(/fetch .* extract .* verify .* app/);
  });

  it('shows a broken chain, naming the first bad record', async () => {
    const segment = path.join(fixture.state, 'ledger', '00000001.ndjson');
    const original = await readFile(segment, 'utf8');
    try {
      await writeFile(segment, original.replace('"outcome":"failed"', '"outcome":"passed"'));
      const verification = await verifyLedger(fixture.state);
      const html = renderReportHtml(await gatherReportData({ stateDir: fixture.state, verification }));
      expect(html).toContain('chain FAILED');
      expect(html).toContain(`first bad record <b>${verification.firstBad!.seq}</b>: <b>edited</b>`);
    } finally {
      await writeFile(segment, original);
    }
  });
});

describe('report pieces', () => {
  it('escapes everything that came from a backup', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('measures RPO achieved as the widest gap between clean snapshots in the period', () => {
    const hour = 3_600_000;
    expect(worstCleanGap([0, 10 * hour, 12 * hour], null, 20 * hour)).toBe(10 * 3600);
    expect(worstCleanGap([0, 10 * hour, 12 * hour], 11 * hour, 20 * hour)).toBe(8 * 3600);
    expect(worstCleanGap([], null, 20 * hour)).toBeNull();
  });
});
