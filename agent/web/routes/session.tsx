/**
 * Sign-in and sign-out: `GET /login` shows the form, `POST /login` checks the API token (throttled
 * per address) and sets the session cookie, `POST /logout` revokes it. Both forms carry hono's
 * same-origin check; without an API token (loopback) there is no sign-in.
 */
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { LoginPage } from '../pages/message-pages.js';
import { remoteAddress } from '../remote-address.js';
import { SESSION_COOKIE, tokenMatches } from '../sessions.js';
import type { ConsoleKit } from './console-kit.js';
import { signInEnabled } from './guards.js';

/** A same-origin path to return to after signing in; anything else goes to the overview. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) && value.length <= 2000 ? value : '/';
}

/** The sign-in and sign-out routes. */
export function sessionRoutes(kit: ConsoleKit): Hono {
  const { options, frame, page } = kit;
  const enabled = signInEnabled(options);
  const app = new Hono();
  app.get('/login', enabled, (c) =>
    page(c, <LoginPage frame={frame(c)} next={safeNext(c.req.query('next'))} />),
  );
  app.post('/login', csrf(), enabled, async (c) => {
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
    if (
      typeof body.token !== 'string' || // signInEnabled let only a console with a token this far.
      !tokenMatches(body.token, options.token!)
    ) {
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
  return app;
}
