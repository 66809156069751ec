/**
 * Who may call what (one rule set for the API, metrics and the web console). Without a token
 * (loopback) everything is open. With one: `/healthz` is open, and `/metrics` unless
 * `--metrics-auth`; the console's sign-in form and static assets are open (they hold no data);
 * everything else needs `Authorization: Bearer TOKEN`, or — for reading only (GET, HEAD) — a live
 * console session cookie. A browser without either is sent to the sign-in form; anything else
 * gets 401.
 */
import type { MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { getCookie } from 'hono/cookie';
import type { Context } from 'hono';
import type { RequestedBy } from '../model/requested-by.js';
import { isPublicConsolePath, wantsHtml } from '../web/console-routes.js';
import { SESSION_COOKIE, tokenMatches, type SessionStore } from '../web/sessions.js';

export interface AccessOptions {
  token?: string;
  metricsAuth: boolean;
  sessions: SessionStore;
}

/** Who is calling: the bearer token, a console session, loopback (a daemon without a token), or nobody proven (`none`). */
export function identifyCaller(
  c: Context,
  options: Pick<AccessOptions, 'token' | 'sessions'>,
): NonNullable<RequestedBy['caller']> | 'none' {
  if (!options.token) return 'loopback';
  const authorization = c.req.header('authorization');
  if (authorization?.startsWith('Bearer ') && tokenMatches(authorization.slice(7), options.token))
    return 'token';
  if (options.sessions.valid(getCookie(c, SESSION_COOKIE))) return 'session';
  return 'none';
}

/** The access-control middleware. */
export function accessControl(options: AccessOptions): MiddlewareHandler {
  const token = options.token;
  if (!token) return (_c, next) => next();
  const bearer = bearerAuth({ token });
  return async (c, next) => {
    const path = c.req.path;
    if (path === '/healthz' || (path === '/metrics' && !options.metricsAuth) || isPublicConsolePath(path))
      return next();
    if (c.req.header('authorization') !== undefined) return bearer(c, next);
    const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
    if (reading && options.sessions.valid(getCookie(c, SESSION_COOKIE))) return next();
    if (reading && wantsHtml(c) && !path.startsWith('/api/') && path !== '/metrics') {
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    return bearer(c, next);
  };
}
