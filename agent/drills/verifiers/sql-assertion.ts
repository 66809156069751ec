/**
 * Judging a policy's SQL assertions (`select count(*) from orders` ≥ 1000, newest order within
 * the RPO of the snapshot time…) against the value a query returned. Pure: the PostgreSQL and
 * SQLite verifiers run the queries, this decides.
 */
import type { SqlAssertion } from '../../config/resolve-policy.js';
import { formatDuration } from '../../config/duration.js';

/** Outcome of one assertion. */
export interface AssertionVerdict {
  ok: boolean;
  /** `returned 812, expected ≥ 1000`, or what the value was when it passed. */
  detail: string;
}

/**
 * Reads a timestamp as databases print them: ISO-8601, PostgreSQL's `2025-10-19 02:00:00+00`,
 * SQLite's `2025-10-19 02:00:00` (UTC), or Unix seconds. Null when it is none of those.
 */
export function parseDatabaseTime(text: string): Date | null {
  const value = text.trim();
  if (/^\d{9,11}(\.\d+)?$/.test(value)) return new Date(Number(value) * 1000);
  const match =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      value,
    );
  if (!match) return null;
  const [, date, time = '00:00:00', zone] = match;
  const offset =
    !zone || zone.toUpperCase() === 'Z'
      ? 'Z'
      : zone.length === 3
        ? `${zone}:00`
        : zone.includes(':')
          ? zone
          : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const parsed = new Date(`${date}T${time}${offset}`);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

function quoted(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(shown);
}

/**
 * Judges `value` (the first column of the first row as text; null for NULL or no rows) against
 * every expectation of `assertion`; the first unmet one decides the detail.
 */
export function evaluateAssertion(
  assertion: SqlAssertion,
  value: string | null,
  snapshotTime: Date,
): AssertionVerdict {
  if (value === null) return { ok: false, detail: 'returned no value (NULL or no rows)' };
  const text = value.trim();
  const number = text === '' ? Number.NaN : Number(text);
  const numeric = () => Number.isFinite(number);
  if (
    (assertion.min !== undefined || assertion.max !== undefined || typeof assertion.equals === 'number') &&
    !numeric()
  ) {
    return { ok: false, detail: `returned ${quoted(text)}, not a number` };
  }
  if (assertion.min !== undefined && number < assertion.min)
    return { ok: false, detail: `returned ${number}, expected ≥ ${assertion.min}` };
  if (assertion.max !== undefined && number > assertion.max)
    return { ok: false, detail: `returned ${number}, expected ≤ ${assertion.max}` };
  if (assertion.equals !== undefined) {
    if (typeof assertion.equals === 'number') {
      if (number !== assertion.equals)
        return { ok: false, detail: `returned ${number}, expected ${assertion.equals}` };
    } else if (text !== assertion.equals) {
      return { ok: false, detail: `returned ${quoted(text)}, expected ${quoted(assertion.equals)}` };
    }
  }
  if (assertion.matches && !assertion.matches.test(text))
    return {
      ok: false,
      detail: `returned ${quoted(text)}, expected a match for /${assertion.matches.source}/`,
    };
  if (assertion.withinSeconds !== undefined) {
    const time = parseDatabaseTime(text);
    if (!time) return { ok: false, detail: `returned ${quoted(text)}, not a timestamp` };
    const age = (snapshotTime.getTime() - time.getTime()) / 1000;
    const limit = formatDuration(assertion.withinSeconds);
    if (age > assertion.withinSeconds) {
      return {
        ok: false,
        detail: `returned ${time.toISOString()}, ${formatDuration(age)} before the snapshot time ${snapshotTime.toISOString()} (limit ${limit})`,
      };
    }
    return {
      ok: true,
      detail: `${time.toISOString()}, ${formatDuration(Math.max(0, age))} before the snapshot (limit ${limit})`,
    };
  }
  return { ok: true, detail: `returned ${quoted(text)}` };
}
