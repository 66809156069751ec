/**
 * The evidence downloads, mounted under `/evidence`: the auditor report (`/report?since=…`, built
 * from a full verification of the ledger), one ledger record by position (`/records/N.json`, as
 * stored) and a public signing key (`/keys/ID.pem`).
 */
import { Hono } from 'hono';
import { now, nowMs } from '../../clock.js';
import { parseDuration } from '../../config/duration.js';
import { gatherReportData, targetsFromPolicy } from '../../evidence/report-data.js';
import { renderReportHtml } from '../../evidence/report-html.js';
import { ledgerIndex } from '../../ledger/ledger-index.js';
import { storedPublicKeys } from '../../ledger/signing-key.js';
import { verifyLedger } from '../../ledger/verify-ledger.js';
import { REPORT_PERIODS } from '../pages/evidence-page.js';
import { attachment, type ConsoleContext } from './console-kit.js';

/** Where the auditor report is, relative to `/evidence`. */
export const REPORT_ROUTE = '/report';

const compactNow = () =>
  now()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** The evidence download routes, relative to `/evidence`. */
export function evidenceDownloadRoutes(ctx: ConsoleContext): Hono {
  const app = new Hono();

  app.get(REPORT_ROUTE, async (c) => {
    const period = c.req.query('since') ?? 'all';
    if (!REPORT_PERIODS.some((option) => option.value === period))
      return c.json(
        { error: `since: expected one of ${REPORT_PERIODS.map((option) => option.value).join(', ')}` },
        400,
      );
    const back = period === 'all' ? null : parseDuration(period);
    const since = back === null ? undefined : new Date(nowMs() - back * 1000);
    const verification = await verifyLedger(ctx.stateDir);
    const data = await gatherReportData({
      stateDir: ctx.stateDir,
      verification,
      targets: targetsFromPolicy(ctx.policy()),
      ...(since ? { since } : {}),
    });
    return c.body(renderReportHtml(data), 200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Disposition': attachment(`vouch-evidence-report-${compactNow()}.html`),
    });
  });

  app.get('/records/:file', async (c) => {
    const position = /^(\d{1,12})\.json$/.exec(c.req.param('file'))?.[1];
    const index = ledgerIndex(ctx.stateDir);
    await index.refresh();
    const stored = position === undefined ? null : await index.at(Number(position));
    if (!stored) return c.json({ error: `no ledger record at position ${c.req.param('file')}` }, 404);
    return c.body(stored.record ? `${JSON.stringify(stored.record, null, 2)}\n` : stored.raw, 200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': attachment(
        `vouch-record-${Number.isNaN(stored.seq) ? `position-${stored.position}` : stored.seq}.json`,
      ),
    });
  });

  app.get('/keys/:file', async (c) => {
    const keyId = /^([0-9a-f]{16})\.pem$/.exec(c.req.param('file'))?.[1];
    const key = keyId ? (await storedPublicKeys(ctx.stateDir)).get(keyId) : undefined;
    if (!key) return c.json({ error: `no public key ${c.req.param('file')}` }, 404);
    return c.body(key.pem, 200, {
      'Content-Type': 'application/x-pem-file',
      'Content-Disposition': attachment(`vouch-${key.keyId}.pem`),
    });
  });
  return app;
}
