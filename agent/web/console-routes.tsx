/**
 * The web console on the daemon's hono app: server-rendered pages (overview, set, snapshot,
 * evidence), downloads (manifest, a snapshot's evidence records, public keys, the auditor report),
 * sign-in and sign-out, and the static assets — one hono sub-app per area under routes/, mounted
 * here behind the page headers. Read-only: nothing here changes state. Access is decided before
 * these run (daemon/access-control.ts), the same rules as the API.
 */
import type { Context, Hono } from 'hono';
import { createConsoleKit, type ConsoleContext, type ConsoleOptions } from './routes/console-kit.js';
import { evidenceDownloadRoutes, REPORT_ROUTE } from './routes/evidence-downloads.js';
import { evidencePageRoutes } from './routes/evidence-page.js';
import { noStore, PAGE_PATHS, pageHeaders } from './routes/guards.js';
import { overviewRoutes } from './routes/overview.js';
import { sessionRoutes } from './routes/session.js';
import { setPageRoutes } from './routes/set-pages.js';
import { snapshotDownloadRoutes } from './routes/snapshot-downloads.js';
import { staticAssetRoutes } from './routes/static-assets.js';

const SETS = '/sets';
const EVIDENCE = '/evidence';

/** Where the auditor report is downloaded (it may take longer than other requests). */
export const REPORT_PATH = `${EVIDENCE}${REPORT_ROUTE}`;

/** Paths anyone may reach: the sign-in form, sign-out and the static assets (they hold no data). */
export function isPublicConsolePath(path: string): boolean {
  return path === '/login' || path === '/logout' || path.startsWith('/assets/');
}

/** A browser asking for a page (rather than a script asking for JSON). */
export function wantsHtml(c: Context): boolean {
  return (c.req.header('accept') ?? '').includes('text/html');
}

/** Registers the console on `app`; returns the HTML not-found answer for browsers. */
export function registerConsole(
  app: Hono,
  ctx: ConsoleContext,
  options: ConsoleOptions,
): { notFound(c: Context): Response | Promise<Response> } {
  const kit = createConsoleKit(ctx, options);
  for (const path of PAGE_PATHS) app.use(path, pageHeaders, noStore);
  app.route('/', staticAssetRoutes(kit.assets));
  app.route('/', sessionRoutes(kit));
  app.route('/', overviewRoutes(kit));
  app.route(SETS, setPageRoutes(kit));
  app.route(SETS, snapshotDownloadRoutes(kit));
  app.route(EVIDENCE, evidencePageRoutes(kit));
  app.route(EVIDENCE, evidenceDownloadRoutes(ctx));
  return { notFound: (c) => kit.notFound(c, `Nothing here: ${c.req.path}`) };
}
