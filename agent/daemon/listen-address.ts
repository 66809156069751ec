/** `--listen HOST:PORT` parsing and the loopback rule: off loopback, the API needs a token. */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

/** Where the daemon listens. */
export interface ListenAddress {
  host: string;
  port: number;
  loopback: boolean;
}

/** The default: loopback only. */
export const DEFAULT_LISTEN = '127.0.0.1:9740';

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** Parses `HOST:PORT` (`[::1]:9740` for IPv6; port 0 picks a free one). */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65_535)
    throw new ConfigError(`--listen ${text}: expected HOST:PORT, e.g. 127.0.0.1:9740 or [::1]:9740`);
  const host = match[1] ?? match[2]!;
  return { host, port, loopback: isLoopback(host) };
}

/**
 * The bearer token for a listen address: required off loopback (a usage error without one);
 * optional on loopback, where a set token is still enforced.
 */
export function requireTokenFor(address: ListenAddress, token: string | undefined): string | undefined {
  const value = token?.trim() ? token.trim() : undefined;
  if (!address.loopback && !value) {
    throw new ConfigError(
      `refusing to listen on ${address.host}:${address.port} without VOUCH_API_TOKEN: off loopback every request but /healthz needs a bearer token`,
    );
  }
  if (value && value.length < 16)
    throw new ConfigError(
      'VOUCH_API_TOKEN is too short: use at least 16 characters (e.g. openssl rand -hex 32)',
    );
  return value;
}
