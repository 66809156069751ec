/**
 * The auditor report judges: each control per set reads pass, fail or no evidence from what
 * happened in the period — a set whose only drill failed fails the drill-served controls, a set
 * with a drill passed within its RTO passes them, a set without drills has no evidence — shown in
 * the one self-contained HTML file in headless Chromium, with scope, immutability audits, key
 * rotations and a sign-off block.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { judgeControls, type SetOutcomes } from '../../agent/evidence/control-judgement.js';
import type { ReportData, ReportDrill, SetEvidence } from '../../agent/evidence/report-data.js';
import { renderReportHtml } from '../../agent/evidence/report-html.js';
import type { LedgerVerification } from '../../agent/ledger/verify-ledger.js';
import { launchChromium } from '../helpers/browser.js';

const outcomes = (extra: Partial<SetOutcomes> = {}): SetOutcomes => ({
  drills: [],
  scans: 3,
  unverified: 0,
  openStoreFindings: 0,
  immutabilityAudits: [],
  acceptances: [],
  ledgerOk: true,
  ...extra,
});
const statusOf = (set: SetOutcomes, control: string) =>
  judgeControls(set).find((judgement) => judgement.control === control)!;

describe('control judgement', () => {
  it('fails every drill-served control for a set whose drills all failed, with the reason', () => {
    const failed = outcomes({ drills: [{ outcome: 'failed', withinRto: null, sampled: false }] });
    for (const control of ['A.8.13', 'A1.3', 'CP-9(1)', 'CP-9(2)', '11.5'])
      expect(statusOf(failed, control).status).toBe('fail');
    expect(statusOf(failed, 'A1.3').reasons).toEqual([
      'no passed restore drill in the period (1 ran, none passed)',
    ]);
  });

  it('passes with a drill passed within the RTO, fails one over the RTO, and has no evidence without drills', () => {
    expect(
      statusOf(outcomes({ drills: [{ outcome: 'passed', withinRto: true, sampled: false }] }), 'A1.3').status,
    ).toBe('pass');
    expect(
      statusOf(outcomes({ drills: [{ outcome: 'passed', withinRto: false, sampled: false }] }), 'A1.3')
        .status,
    ).toBe('fail');
    expect(statusOf(outcomes(), 'A1.3')).toMatchObject({
      status: 'no-evidence',
      reasons: ['no restore drill in the period'],
    });
  });

  it('fails the integrity controls for unverified snapshots, open store findings, a failed immutability audit or a broken ledger', () => {
    const drilled = { drills: [{ outcome: 'passed' as const, withinRto: true, sampled: false }] };
    expect(statusOf(outcomes(drilled), 'CP-9(1)').status).toBe('pass');
    expect(statusOf(outcomes({ ...drilled, unverified: 1 }), 'CP-9(1)').status).toBe('fail');
    expect(statusOf(outcomes({ ...drilled, openStoreFindings: 2 }), 'A.8.13').reasons).toEqual([
      '2 snapshot(s) removed or replaced, or suspicious objects, not accepted',
    ]);
    expect(
      statusOf(outcomes({ ...drilled, immutabilityAudits: [{ ok: true }, { ok: false }] }), 'A.8.13').status,
    ).toBe('fail');
    expect(statusOf(outcomes({ ...drilled, ledgerOk: false }), 'A.8.13').status).toBe('fail');
    expect(statusOf(outcomes({ ...drilled, ledgerOk: false }), 'A1.3').status).toBe('pass'); // not a ledger control
  });
});

describe('the RTO/RPO control and the scans judged from outcomes', () => {
  const drilled = { drills: [{ outcome: 'passed' as const, withinRto: true, sampled: false }] };
  it('A1.3 (RTO/RPO) cannot pass in a period that missed the RPO or the RTO', () => {
    const missed = outcomes({
      ...drilled,
      rpo: { targetSeconds: 36 * 3600, worstGapSeconds: 91 * 3600, hasClean: true },
    });
    expect(statusOf(missed, 'A1.3')).toEqual({
      control: 'A1.3',
      status: 'fail',
      reasons: ['RPO missed in the period: worst gap between clean snapshots 3d 19h, target 1d 12h'],
    });
    expect(
      statusOf(
        outcomes({ ...drilled, rpo: { targetSeconds: 3600, worstGapSeconds: null, hasClean: false } }),
        'A1.3',
      ).reasons,
    ).toEqual(['RPO missed: no clean snapshot']);
    expect(
      statusOf(
        outcomes({
          ...drilled,
          rpo: { targetSeconds: 36 * 3600, worstGapSeconds: 30 * 3600, hasClean: true },
        }),
        'A1.3',
      ).status,
    ).toBe('pass');
    // One drill within the RTO and one over it: the period shows an RTO miss.
    const overOnce = outcomes({
      drills: [...drilled.drills, { outcome: 'passed', withinRto: false, sampled: false }],
    });
    expect(statusOf(overOnce, 'A1.3')).toMatchObject({
      status: 'fail',
      reasons: ['RTO missed in the period: 1 drill ran over it'],
    });
    // Controls that do not ask for the objectives are not failed by them.
    expect(statusOf(missed, '11.5').status).toBe('pass');
  });

  it('"every snapshot read completely" comes from the scans: a snapshot not read completely fails the scan-served controls and is named', () => {
    const partly = outcomes({ ...drilled, incomplete: ['web-20261202T020000Z'] });
    for (const control of ['A.8.13', 'CP-9(1)'])
      expect(statusOf(partly, control)).toMatchObject({
        status: 'fail',
        reasons: ['1 snapshot not read completely: web-20261202T020000Z'],
      });
    expect(statusOf(outcomes(drilled), 'CP-9(1)').reasons).toContain(
      '3 scan records, every snapshot read completely',
    );
  });
});

const VERIFICATION = {
  ok: true,
  records: 40,
  keyFingerprints: ['ab'.repeat(32)],
  trust: 'stored',
  manifests: { checked: 2 },
  head: null,
} as unknown as LedgerVerification;

function drill(id: string, outcome: 'passed' | 'failed', seq: number): ReportDrill {
  return {
    id,
    seq,
    set: 'x',
    snapshot: `${id}-snapshot`,
    snapshotTime: '2026-01-01T02:00:00Z',
    pick: 'last-clean',
    outcome,
    startedAt: '2026-01-02T03:00:00Z',
    finishedAt: '2026-01-02T03:05:00Z',
    durationSeconds: 300,
    phases: { fetch: 100, extract: 100, verify: 50, app: 50 },
    projectedFullRestoreSeconds: null,
    rtoTargetSeconds: 3600,
    rpoTargetSeconds: null,
    withinRto: outcome === 'passed' ? true : null,
    sample: { fraction: 1, entries: 10, bytes: 1000 },
    failures:
      outcome === 'failed'
        ? [
            {
              verifier: 'postgres',
              path: 'db/orders.dump',
              detail: 'pg_restore: error: could not read input file: end of file',
            },
          ]
        : [],
    verifiers: [
      {
        verifier: 'postgres',
        phase: 'app',
        seconds: 40,
        status: outcome,
        detail: '',
        failures: [],
        assertions: [
          {
            file: 'db/orders.dump',
            name: 'every order is there',
            sql: 'select count(*) from orders',
            value: outcome === 'passed' ? '3587' : '3261',
            ok: outcome === 'passed',
            ...(outcome === 'passed' ? {} : { detail: 'returned 3261, expected ≥ 3587' }),
          },
        ],
      },
    ],
  } as unknown as ReportDrill;
}

function set(name: string, drills: ReportDrill[]): SetEvidence {
  return {
    name,
    rpoTargetSeconds: 86_400,
    rtoTargetSeconds: 3600,
    lastClean: { id: `${name}-1`, time: '2026-01-01T02:00:00Z' },
    newest: { id: `${name}-1`, time: '2026-01-01T02:00:00Z' },
    rpo: { ageSeconds: 3600, worstGapSeconds: 3600 },
    verdicts: { clean: 1, suspicious: 0, compromised: 0, unverified: 0 },
    rejected: [],
    scans: { records: 3, deep: 1, last: '2026-01-02T00:00:00Z' },
    verdictChanges: [],
    drills,
    acceptances: [],
    removals: [],
    storeFindings: [],
    immutabilityAudits: [
      { seq: 5, time: '2026-01-02T00:00:00Z', kind: 's3', ok: true, protected: true, findings: 0 },
    ],
  };
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('the judged report in Chromium', () => {
  it('reads fail for the set without a passed drill and pass for the set with one, with scope, audits, key rotations and a sign-off block', async () => {
    const data: ReportData = {
      generatedAt: '2026-01-03T00:00:00.000Z',
      since: '2026-01-01T00:00:00.000Z',
      stateDir: '/var/lib/vouch',
      verification: VERIFICATION,
      sets: [
        set('billing', [
          drill('d-billing', 'failed', 11),
          {
            ...drill('d-billing-hit', 'failed', 13),
            snapshotJudgement: {
              verdict: 'compromised',
              warning:
                'snapshot d-billing-hit-snapshot is COMPROMISED by its scan, and this drill failed: neither its content nor its restore is proven',
              hitFiles: [],
              hitFilesOmitted: 0,
            },
          },
        ]),
        { ...set('orders', [drill('d-orders', 'passed', 12)]), incomplete: [] },
        {
          ...set('media', [drill('d-media', 'passed', 14)]),
          rpo: { ageSeconds: 3600, worstGapSeconds: 5 * 86_400 },
          incomplete: ['media-0'],
        },
      ],
      keyRotations: [
        {
          seq: 20,
          time: '2026-01-02T12:00:00Z',
          type: 'key-rotation',
          previousKeyId: 'k1',
          keyId: 'k2',
          fingerprint: 'cd'.repeat(32),
        },
      ],
      version: '9.9.9-test',
    };
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('request', (request) => requests.push(request.url()));
    await page.setContent(renderReportHtml(data), { waitUntil: 'load' });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]); // self-contained: nothing fetched
    const status = (setName: string, control: string) =>
      page.getAttribute(`td.control-status[data-set="${setName}"][data-control="${control}"]`, 'data-status');
    for (const control of ['A1.3', 'CP-9(2)', '11.5', 'A.8.13', 'CP-9(1)']) {
      expect(await status('billing', control)).toBe('fail');
      expect(await status('orders', control)).toBe('pass');
    }
    expect(await page.textContent('td.control-status[data-set="billing"][data-control="A1.3"]')).toContain(
      'no passed restore drill in the period',
    );
    // RPO missed in the period, a snapshot not read completely: the controls their Summary contradicts fail.
    expect(await status('media', 'A1.3')).toBe('fail');
    expect(await page.textContent('td.control-status[data-set="media"][data-control="A1.3"]')).toContain(
      'RPO missed in the period',
    );
    expect(await status('media', 'CP-9(1)')).toBe('fail');
    expect(await page.textContent('td.control-status[data-set="media"][data-control="CP-9(1)"]')).toContain(
      '1 snapshot not read completely: media-0',
    );
    // A drill of a compromised snapshot is marked in its row.
    const hit = page.locator('tr.drill[data-drill="d-billing-hit"] .not-clean');
    expect(await hit.getAttribute('data-not-clean')).toBe('compromised');
    expect(await hit.textContent()).toContain('neither its content nor its restore is proven');
    expect(await page.locator('tr.drill[data-drill="d-billing"] .not-clean').count()).toBe(0);
    const scope = (await page.textContent('#scope'))!;
    expect(scope).toContain('9.9.9-test');
    expect(scope).toMatch(/2026-01-01 00:00:00Z to 2026-01-03 00:00:00Z/);
    expect(scope).toContain('billing');
    expect(await page.locator('tr.immutability-audit').count()).toBe(3);
    expect(await page.textContent('tr.key-rotation')).toContain('k1 → k2');
    expect(await page.locator('#sign-off table.sign-off tbody tr').count()).toBe(2);
    // Each drill's assertions with the values they returned.
    const assertion = (await page.textContent(
      '#set-billing tr.assertion[data-assertion="every order is there"]',
    ))!;
    expect(assertion).toContain('select count(*) from orders');
    expect(assertion).toContain('3261');
    expect(assertion).toContain('returned 3261, expected ≥ 3587');
    expect(await page.textContent('#set-orders tr.assertion')).toContain('3587');
    const pdf = await page.pdf({ format: 'A4', landscape: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });
});
