/**
 * What a request must look like before anything reads or changes state — a daemon only its
 * operator drives, never a web page the operator happens to have open:
 *
 * - **Host.** DNS rebinding points an attacker's name at 127.0.0.1, so a page from that name can
 *   read the API "same-origin". Only Host values naming this daemon are answered: loopback names
 *   and addresses, the address it listens on (any IP literal when it listens on all interfaces —
 *   a rebinding page always sends its own name), and `--allowed-host` names. The port is not
 *   checked (port forwards and proxies change it; rebinding cannot change the name).
 * - **State changes** (POST and other non-read methods) need the bearer token, or else a JSON
 *   body (`Content-Type: application/json`, which browsers cannot send cross-origin without a
 *   CORS preflight that vouch never grants) and, when the browser says where it comes from
 *   (`Origin`, `Sec-Fetch-Site`), the daemon's own origin. Forms and `text/plain` posts — which
 *   any page can send without a preflight — are refused. The console's sign-in and sign-out forms
 *   are the exception: their own same-origin check (hono's csrf) applies.
 * - **nosniff** on every response.
 */
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { isLoopback, type ListenAddress } from './listen-address.js';

export interface RequestGuardOptions {
  listen: ListenAddress;
  /** Extra host names (`--allowed-host`), lower-case, without port. */
  allowedHosts: readonly string[];
}

/** The host name of a Host header value (`[::1]:9740` → `::1`, `Vouch.Example:80` → `vouch.example`), or null when malformed. */
export function hostName(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s/@]+))(?::\d{1,5})?$/i.exec(header.trim());
  if (!match) return null;
  return (match[1] ?? match[2]!).toLowerCase().replace(/\.$/, '');
}

/** Whether a request whose Host header names `name` is for this daemon (pure; see the module comment). */
export function hostAllowed(name: string | null, options: RequestGuardOptions): boolean {
  if (name === null) return false;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name)) {
    if (isLoopback(name)) return true;
    const listening = options.listen.host.toLowerCase();
    return listening === '0.0.0.0' || listening === '::' || listening === name;
  }
  return name === options.listen.host.toLowerCase() || options.allowedHosts.includes(name);
}

/** What a state-changing request brings (header values as sent). */
export interface StateChangeRequest {
  /** An `Authorization` header was sent (access control checks that it is the token). */
  bearer: boolean;
  contentType: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
  /** `http://HOST` as the request addressed this daemon. */
  ownOrigin: string;
}

/** Why a state-changing request is refused (with the HTTP status to answer), or null when it may go on (pure). */
export function stateChangeRefusal(request: StateChangeRequest): { status: 403 | 415; error: string } | null {
  if (request.bearer) return null;
  const type = (request.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    return {
      status: 415,
      error: `state-changing requests need Content-Type: application/json (or the bearer token); got ${request.contentType ? `"${request.contentType}"` : 'none'}`,
    };
  }
  if (request.secFetchSite !== undefined && request.secFetchSite !== 'same-origin') {
    return { status: 403, error: `cross-site request refused (Sec-Fetch-Site: ${request.secFetchSite})` };
  }
  if (request.origin !== undefined && request.origin.toLowerCase() !== request.ownOrigin.toLowerCase()) {
    return { status: 403, error: `cross-origin request refused (Origin: ${request.origin})` };
  }
  return null;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Forms with their own same-origin check (web/console-routes.tsx). */
const FORM_PATHS = new Set(['/login', '/logout']);

/** The guard middleware (runs before access control). */
export function requestGuard(options: RequestGuardOptions): MiddlewareHandler {
  return async (c, next) => {
    c.header('X-Content-Type-Options', 'nosniff');
    // Requests made in-process (app.request) carry no Host header: their URL says where they went.
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    if (!hostAllowed(hostName(host), options)) {
      return c.json(
        {
          error: `Host ${JSON.stringify(host ?? '')} does not name this vouch: use its address, localhost, or start it with --allowed-host NAME`,
        },
        403,
      );
    }
    if (!READ_METHODS.has(c.req.method) && !FORM_PATHS.has(c.req.path)) {
      const refusal = stateChangeRefusal({
        bearer: c.req.header('authorization') !== undefined,
        contentType: c.req.header('content-type'),
        origin: c.req.header('origin'),
        secFetchSite: c.req.header('sec-fetch-site'),
        ownOrigin: `${new URL(c.req.url).protocol}//${host}`,
      });
      if (refusal) return c.json({ error: refusal.error }, refusal.status);
    }
    await next();
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
  };
}
