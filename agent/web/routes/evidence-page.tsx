/**
 * `GET /evidence` (mounted under `/evidence`): the ledger's verification, its signing keys and its
 * records, filtered by set and kind, a page at a time. A changed ledger is re-verified; the page
 * waits a bounded time for that and otherwise shows the previous result, marked as verifying.
 */
import { Hono } from 'hono';
import { evidenceStatus, type EvidenceStatus } from '../../estate/evidence-status.js';
import { ledgerIndex } from '../../ledger/ledger-index.js';
import { storedPublicKeys } from '../../ledger/signing-key.js';
import { EvidencePage, type KeyRow } from '../pages/evidence-page.js';
import type { ConsoleKit } from './console-kit.js';

/** Records per page on the evidence page. */
export const RECORDS_PER_PAGE = 50;

/** Waits at most `ms` for `promise`; null when it took longer. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The evidence page route, relative to `/evidence`. */
export function evidencePageRoutes(kit: ConsoleKit): Hono {
  const { ctx, frame, page } = kit;
  const verifyWaitMs = kit.options.verifyWaitMs ?? 2000;
  const app = new Hono();
  app.get('/', async (c) => {
    const index = ledgerIndex(ctx.stateDir);
    const previous = await evidenceStatus(ctx.stateDir); // starts a re-verification when the ledger changed
    const [fresh] = await Promise.all([
      within<EvidenceStatus>(evidenceStatus(ctx.stateDir, { fresh: true }), verifyWaitMs),
      index.refresh(),
    ]);
    const status = fresh ?? previous;
    const filter = {
      set: (c.req.query('set') ?? '').slice(0, 200),
      kind: (c.req.query('kind') ?? '').slice(0, 200),
    };
    const total = index.count(filter);
    const pages = Math.max(1, Math.ceil(total / RECORDS_PER_PAGE));
    const requested = Number.parseInt(c.req.query('page') ?? '1', 10);
    const pageNumber = Math.min(pages, Math.max(1, Number.isFinite(requested) ? requested : 1));
    const records = await index.page(filter, (pageNumber - 1) * RECORDS_PER_PAGE, RECORDS_PER_PAGE);
    const newer = status.firstBad ? index.newerThan(status.firstBad.seq, filter) : null;
    const keys: KeyRow[] = [...(await storedPublicKeys(ctx.stateDir)).values()]
      .map((key) => ({
        keyId: key.keyId,
        fingerprint: key.fingerprint,
        signed: status.keyFingerprints.includes(key.fingerprint),
      }))
      .sort((a, b) => Number(b.signed) - Number(a.signed) || a.keyId.localeCompare(b.keyId));
    const sets = [...new Set([...ctx.policy().sets.map((set) => set.name), ...index.sets()])].sort();
    const kinds = index.kinds().filter((kind) => kind !== 'malformed' || filter.kind === kind);
    return page(
      c,
      <EvidencePage
        frame={frame(c)}
        status={status}
        verifying={fresh === null}
        keys={keys}
        filter={filter}
        sets={sets}
        kinds={filter.kind && !kinds.includes(filter.kind) ? [...kinds, filter.kind] : kinds}
        page={pageNumber}
        pages={pages}
        total={total}
        records={records}
        firstBadPage={newer === null ? null : Math.floor(newer / RECORDS_PER_PAGE) + 1}
      />,
    );
  });
  return app;
}
