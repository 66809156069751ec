/**
 * The agent's calendar clock: the "now" that dates are compared with — snapshot and drill ages
 * against RPO and drill intervals, readiness, report periods, the demo's backup dates, and the
 * times written into records. Durations, timeouts and lock staleness use the process clock
 * (`Date.now()` differences, `performance.now()`), never this.
 *
 * `VOUCH_NOW` (an ISO-8601 instant with a zone, e.g. `2027-12-31T23:30:00Z`) sets where this clock
 * stands when the process starts; it then advances in real time. Tests and CI use it to run the
 * same checks on other days (a month ahead, across a year end), and child processes inherit it,
 * so a CLI started by a test agrees with the test about the date. File modification times are
 * written by the kernel and are not shifted: whatever compares an mtime with "now" must be fed
 * mtimes taken from this clock (tests set them with `utimes`).
 */
import { ConfigError } from './errors.js';

const ZONED_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds to add to the process clock, from `VOUCH_NOW` (0 when unset). */
export function clockOffset(value: string | undefined, processNow: number): number {
  if (value === undefined || value === '') return 0;
  const at = ZONED_INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at))
    throw new ConfigError(
      `VOUCH_NOW: expected an ISO-8601 instant with a zone (e.g. 2027-12-31T23:30:00Z), got ${JSON.stringify(value)}`,
    );
  return at - processNow;
}

/**
 * Child processes inherit the offset itself, so a CLI that a test starts a minute after the test
 * began still agrees with the test about the time (re-reading `VOUCH_NOW` would set it back).
 */
const INHERITED_OFFSET = 'VOUCH_CLOCK_OFFSET_MS';
/**
 * The `VOUCH_NOW` the inherited offset was computed from. A child whose `VOUCH_NOW` is another
 * instant was given its own date on purpose: it starts from that, not from its parent's clock.
 */
const INHERITED_ORIGIN = 'VOUCH_CLOCK_ORIGIN';

/**
 * The offset a process starts with, from its environment: the inherited offset when it came from
 * the same `VOUCH_NOW` (or its parent did not say which one it came from), else `VOUCH_NOW` read
 * afresh. Pure: `processNow` is the process clock at start.
 */
export function startingOffset(env: NodeJS.ProcessEnv, processNow: number): number {
  const inherited = Number(env[INHERITED_OFFSET]);
  const origin = env[INHERITED_ORIGIN];
  const sameOrigin = origin === undefined || origin === (env.VOUCH_NOW ?? '');
  return env[INHERITED_OFFSET] && Number.isFinite(inherited) && sameOrigin
    ? inherited
    : clockOffset(env.VOUCH_NOW, processNow);
}

let offset: number | undefined;

/** The offset, read from the environment once (a bad `VOUCH_NOW` throws a ConfigError, exit 2). */
function currentOffset(): number {
  if (offset === undefined) {
    offset = startingOffset(process.env, Date.now());
    if (offset !== 0) {
      process.env[INHERITED_OFFSET] = String(offset);
      process.env[INHERITED_ORIGIN] = process.env.VOUCH_NOW ?? '';
    }
  }
  return offset;
}

/** Now, on the calendar clock. */
export function now(): Date {
  return new Date(nowMs());
}

/** Now in epoch milliseconds, on the calendar clock. */
export function nowMs(): number {
  return Date.now() + currentOffset();
}
