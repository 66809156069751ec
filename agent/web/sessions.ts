/**
 * Browser sessions of the web console. A browser cannot send a bearer token with a page load, so
 * the console's login form takes the token once and answers with an HttpOnly, SameSite=Strict
 * cookie holding a random session id (never the token, never in a URL). Sessions live in memory:
 * they end at expiry, on logout and when vouch restarts. Only ids' SHA-256 digests are kept.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The console's session cookie. */
export const SESSION_COOKIE = 'vouch_session';

export interface SessionOptions {
  /** How long a session lasts from login. */
  ttlMs: number;
  /** Sessions kept at most; the oldest go first. */
  max: number;
}

export interface SessionStore {
  /** A new session id (to put in the cookie) and when it expires. */
  create(now?: number): { id: string; expiresAt: number };
  /** Whether `id` names a live session. */
  valid(id: string | undefined, now?: number): boolean;
  revoke(id: string | undefined): void;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares a presented token with the configured one in constant time. */
export function tokenMatches(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}

/** Creates an in-memory session store. */
export function createSessionStore(options: SessionOptions): SessionStore {
  const sessions = new Map<string, number>();
  const key = (id: string) => digest(id).toString('hex');
  const sweep = (now: number) => {
    for (const [id, expiresAt] of sessions) if (expiresAt <= now) sessions.delete(id);
  };
  return {
    create(now = Date.now()) {
      sweep(now);
      while (sessions.size >= options.max) sessions.delete(sessions.keys().next().value!);
      const id = randomBytes(32).toString('base64url');
      const expiresAt = now + options.ttlMs;
      sessions.set(key(id), expiresAt);
      return { id, expiresAt };
    },
    valid(id, now = Date.now()) {
      if (!id || id.length > 128) return false;
      const expiresAt = sessions.get(key(id));
      if (expiresAt === undefined) return false;
      if (expiresAt <= now) {
        sessions.delete(key(id));
        return false;
      }
      return true;
    },
    revoke(id) {
      if (id) sessions.delete(key(id));
    },
  };
}
