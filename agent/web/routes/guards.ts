/**
 * The console's guards, each written once and put in front of the routes it protects: the page
 * headers (a strict Content-Security-Policy, no caching), sign-in being on at all, and the
 * snapshot a snapshot route names existing. Access itself is decided before the console
 * (daemon/access-control.ts).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { SetView } from '../../estate/estate-view.js';
import type { SnapshotState } from '../../model/snapshot-state.js';
import type { ConsoleKit, ConsoleOptions } from './console-kit.js';

/** The paths that answer with pages (or the forms that lead to them): they get `pageHeaders`. */
export const PAGE_PATHS = ['/', '/sets/*', '/evidence', '/evidence/*', '/login', '/logout'] as const;

/** A strict Content-Security-Policy and the other security headers for pages. */
export const pageHeaders: MiddlewareHandler = secureHeaders({
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

/** `Cache-Control: no-store` on whatever the route answers: pages show live state. */
export const noStore: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('Cache-Control', 'no-store');
};

/** Without an API token (loopback) there is no sign-in: the sign-in routes send the browser home. */
export function signInEnabled(options: ConsoleOptions): MiddlewareHandler {
  return async (c, next) => {
    if (!options.token) return c.redirect('/', 303);
    await next();
  };
}

/** A snapshot of a set, as the estate shows it now. */
export interface FoundSnapshot {
  set: SetView;
  snapshot: SnapshotState;
}

/** The env of routes behind `requireSnapshot`: the snapshot they name, found. */
export interface SnapshotEnv {
  Variables: { found: FoundSnapshot };
}

/**
 * Finds the snapshot `:snapshot` of the set `:set` and hands it on as `found`; when either is
 * missing (or the set's state is unreadable) the route answers `missing(c)` instead.
 */
export function requireSnapshot(
  kit: ConsoleKit,
  missing: (c: Context) => Response | Promise<Response>,
): MiddlewareHandler<SnapshotEnv> {
  return async (c, next) => {
    const set = await kit.findSet(c.req.param('set')!);
    const snapshot = set?.state?.index.snapshots[c.req.param('snapshot')!];
    if (!set || !snapshot) return missing(c);
    c.set('found', { set, snapshot });
    await next();
  };
}
