/**
 * The web console's routes on the daemon's hono app: server-rendered pages (overview, set,
 * snapshot, evidence), downloads (manifest, a snapshot's evidence records, public keys, the
 * auditor report), sign-in and sign-out, and the static assets. Read-only: nothing here changes
 * state. Access is decided before these run (daemon/access-control.ts), the same rules as the API.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import type { Child } from 'hono/jsx';
import { secureHeaders } from 'hono/secure-headers';
import { parseDuration } from '../config/duration.js';
import type { Policy } from '../config/resolve-policy.js';
import { remoteAddress } from './remote-address.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { gatherReportData, targetsFromPolicy } from '../evidence/report-data.js';
import { renderReportHtml } from '../evidence/report-html.js';
import { storedPublicKeys } from '../ledger/signing-key.js';
import { verifyLedger } from '../ledger/verify-ledger.js';
import type { EstateView, SetView } from '../estate/estate-view.js';
import { evidenceStatus, type EvidenceStatus } from '../estate/evidence-status.js';
import { manifestPath, snapshotFileName } from '../state/manifest-store.js';
import { lastCleanReport } from '../verdicts/last-clean.js';
import { loadPlanInput } from '../recover/plan-input.js';
import { planRecovery } from '../recover/recovery-plan.js';
import { loadAssets } from './assets.js';
import { htmlDocument, type PageFrame } from './components/layout.js';
import { ledgerIndex } from '../ledger/ledger-index.js';
import type { LoginThrottle } from './login-throttle.js';
import { overviewRows } from './overview-rows.js';
import { EvidencePage, REPORT_PERIODS, type KeyRow } from './pages/evidence-page.js';
import { LoginPage, NotFoundPage } from './pages/message-pages.js';
import { OverviewPage } from './pages/overview-page.js';
import { SetPage } from './pages/set-page.js';
import { SnapshotPage } from './pages/snapshot-page.js';
import { SESSION_COOKIE, tokenMatches, type SessionStore } from './sessions.js';
import { now, nowMs } from '../clock.js';

/** What the console reads from the daemon. */
export interface ConsoleContext {
  policy(): Policy;
  estate(): Promise<EstateView>;
  stateDir: string;
  runner: Pick<JobRunner, 'jobs'>;
  scheduler: Pick<Scheduler, 'nextRuns'>;
}

export interface ConsoleOptions {
  /** The API token; without one (loopback) there is no sign-in. */
  token?: string;
  sessions: SessionStore;
  sessionTtlMs: number;
  throttle: LoginThrottle;
  /** How long the evidence page waits for the re-verification of a changed ledger before showing the previous result. */
  verifyWaitMs?: number;
}

/** Where the auditor report is downloaded (it may take longer than other requests). */
export const REPORT_PATH = '/evidence/report';

/** Records per page on the evidence page. */
export const RECORDS_PER_PAGE = 50;

/** Paths anyone may reach: the sign-in form, sign-out and the static assets (they hold no data). */
export function isPublicConsolePath(path: string): boolean {
  return path === '/login' || path === '/logout' || path.startsWith('/assets/');
}

/** A browser asking for a page (rather than a script asking for JSON). */
export function wantsHtml(c: Context): boolean {
  return (c.req.header('accept') ?? '').includes('text/html');
}

/** A same-origin path to return to after signing in; anything else goes to the overview. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) && value.length <= 2000 ? value : '/';
}

/** A file name safe in a Content-Disposition header. */
function attachment(name: string): string {
  return `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`;
}

const compactNow = () =>
  now()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

const pageHeaders: MiddlewareHandler = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts,
  // and the sign-in form's CSRF check needs the real origin (plain HTTP gets no Sec-Fetch-Site).
  referrerPolicy: 'same-origin',
  xFrameOptions: 'DENY',
  // vouch serves plain HTTP, where browsers ignore these and complain in the console.
  strictTransportSecurity: false,
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
});

const noStore: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('Cache-Control', 'no-store');
};

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

/** Registers the console on `app`; returns the HTML not-found answer for browsers. */
export function registerConsole(
  app: Hono,
  ctx: ConsoleContext,
  options: ConsoleOptions,
): { notFound(c: Context): Response | Promise<Response> } {
  const assets = loadAssets();
  const verifyWaitMs = options.verifyWaitMs ?? 2000;

  const frame = (c: Context): PageFrame => ({
    assets,
    now: now(),
    signedIn: Boolean(options.token) && options.sessions.valid(getCookie(c, SESSION_COOKIE)),
    jobs: ctx.runner.jobs(),
  });
  const page = (c: Context, element: Child, status: 200 | 401 | 404 | 429 = 200) =>
    c.html(htmlDocument(element), status);
  const notFound = (c: Context, message: string) =>
    page(c, <NotFoundPage frame={frame(c)} message={message} />, 404);
  const findSet = async (name: string): Promise<SetView | undefined> =>
    (await ctx.estate()).sets.find((set) => set.policy.name === name);

  for (const path of ['/', '/sets/*', '/evidence', '/evidence/*', '/login', '/logout'])
    app.use(path, pageHeaders, noStore);

  app.get('/assets/:name', (c) => {
    const asset = assets.get(c.req.param('name'));
    if (!asset) return c.json({ error: `no asset ${c.req.param('name')}` }, 404);
    const etag = `"${asset.version}"`;
    const cache = c.req.query('v') === asset.version ? 'public, max-age=31536000, immutable' : 'no-cache';
    if (c.req.header('if-none-match') === etag)
      return c.body(null, 304, { ETag: etag, 'Cache-Control': cache });
    return c.body(new Uint8Array(asset.body), 200, {
      'Content-Type': asset.contentType,
      ETag: etag,
      'Cache-Control': cache,
      'X-Content-Type-Options': 'nosniff',
    });
  });

  app.get('/login', (c) => {
    if (!options.token) return c.redirect('/', 303);
    return page(c, <LoginPage frame={frame(c)} next={safeNext(c.req.query('next'))} />);
  });
  app.post('/login', csrf(), async (c) => {
    if (!options.token) return c.redirect('/', 303);
    const body = await c.req.parseBody();
    const next = safeNext(body.next);
    const address = remoteAddress(c);
    const wait = options.throttle.retryAfter(address);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      return page(
        c,
        <LoginPage
          frame={frame(c)}
          next={next}
          error={`Too many wrong tokens from this address: try again in ${wait} s.`}
        />,
        429,
      );
    }
    if (typeof body.token !== 'string' || !tokenMatches(body.token, options.token)) {
      options.throttle.failed(address);
      return page(
        c,
        <LoginPage frame={frame(c)} next={next} error="That is not this vouch's API token." />,
        401,
      );
    }
    options.throttle.succeeded(address);
    const session = options.sessions.create();
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: Math.floor(options.sessionTtlMs / 1000),
      secure: new URL(c.req.url).protocol === 'https:',
    });
    return c.redirect(next, 303);
  });
  app.post('/logout', csrf(), (c) => {
    options.sessions.revoke(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect(options.token ? '/login' : '/', 303);
  });

  app.get('/', async (c) => {
    const view = await ctx.estate();
    const current = frame(c);
    return page(
      c,
      <OverviewPage
        frame={current}
        rows={overviewRows(view.sets, current.now, view.evidence.ok)}
        evidence={view.evidence}
        datasets={view.datasets}
      />,
    );
  });

  app.get('/sets/:set', async (c) => {
    const set = await findSet(c.req.param('set'));
    if (!set) return notFound(c, `The policy has no set named ${c.req.param('set')}.`);
    const snapshots = set.state ? Object.values(set.state.index.snapshots) : [];
    const report = lastCleanReport(snapshots, set.state?.drills.drills ?? [], now());
    return page(
      c,
      <SetPage
        frame={frame(c)}
        set={set}
        report={report}
        nextRuns={ctx.scheduler.nextRuns(set.policy.name)}
      />,
    );
  });

  const snapshotOf = async (c: Context) => {
    const set = await findSet(c.req.param('set')!);
    const snapshot = set?.state?.index.snapshots[c.req.param('snapshot')!];
    return set && snapshot ? { set, snapshot } : null;
  };

  app.get('/sets/:set/snapshots/:snapshot', async (c) => {
    const found = await snapshotOf(c);
    if (!found)
      return notFound(
        c,
        `Set ${c.req.param('set')} has no snapshot ${c.req.param('snapshot')} in its state.`,
      );
    const lastClean = lastCleanReport(Object.values(found.set.state!.index.snapshots), []).lastClean;
    const relation = !lastClean
      ? 'no snapshot of the set is clean'
      : lastClean.id === found.snapshot.id
        ? 'the last clean snapshot'
        : Date.parse(found.snapshot.time) > Date.parse(lastClean.time)
          ? 'newer than the last clean snapshot'
          : 'older than the last clean snapshot';
    const plan = await loadPlanInput(ctx.stateDir, found.set.policy.name)
      .then((input) => planRecovery(found.set.policy.name, input))
      .catch(() => null);
    return page(
      c,
      <SnapshotPage
        frame={frame(c)}
        set={found.set.policy.name}
        snapshot={found.snapshot}
        relation={relation}
        plan={plan}
      />,
    );
  });

  app.get('/sets/:set/snapshots/:snapshot/manifest.ndjson.gz', async (c) => {
    const found = await snapshotOf(c);
    if (!found)
      return c.json({ error: `no snapshot ${c.req.param('snapshot')} in set ${c.req.param('set')}` }, 404);
    const file = manifestPath(ctx.stateDir, found.set.policy.name, found.snapshot.id);
    const size = await stat(file)
      .then((stats) => stats.size)
      .catch(() => null);
    if (size === null)
      return c.json(
        {
          error: `snapshot ${found.snapshot.id} of set ${found.set.policy.name} has no baseline manifest yet`,
        },
        404,
      );
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, {
      'Content-Type': 'application/gzip',
      'Content-Length': String(size),
      'Content-Disposition': attachment(
        `${found.set.policy.name}-${snapshotFileName(found.snapshot.id)}.ndjson.gz`,
      ),
    });
  });

  app.get('/sets/:set/snapshots/:snapshot/evidence.json', async (c) => {
    const found = await snapshotOf(c);
    if (!found)
      return c.json({ error: `no snapshot ${c.req.param('snapshot')} in set ${c.req.param('set')}` }, 404);
    const index = ledgerIndex(ctx.stateDir);
    await index.refresh();
    const records = await index.all({ set: found.set.policy.name, snapshot: found.snapshot.id });
    const chain = (await ctx.estate()).evidence;
    const document = {
      set: found.set.policy.name,
      snapshot: found.snapshot.id,
      generatedAt: now().toISOString(),
      chain: {
        ok: chain.ok,
        records: chain.records,
        firstBad: chain.firstBad ?? null,
        keyFingerprints: chain.keyFingerprints,
      },
      records: records.map((stored) => stored.record ?? { malformed: stored.raw, segment: stored.segment }),
    };
    return c.body(`${JSON.stringify(document, null, 2)}\n`, 200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': attachment(
        `${found.set.policy.name}-${snapshotFileName(found.snapshot.id)}-evidence.json`,
      ),
    });
  });

  app.get('/evidence', async (c) => {
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

  app.get(REPORT_PATH, async (c) => {
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

  app.get('/evidence/records/:file', async (c) => {
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

  app.get('/evidence/keys/:file', async (c) => {
    const keyId = /^([0-9a-f]{16})\.pem$/.exec(c.req.param('file'))?.[1];
    const key = keyId ? (await storedPublicKeys(ctx.stateDir)).get(keyId) : undefined;
    if (!key) return c.json({ error: `no public key ${c.req.param('file')}` }, 404);
    return c.body(key.pem, 200, {
      'Content-Type': 'application/x-pem-file',
      'Content-Disposition': attachment(`vouch-${key.keyId}.pem`),
    });
  });

  return { notFound: (c) => notFound(c, `Nothing here: ${c.req.path}`) };
}
