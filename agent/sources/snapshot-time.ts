/** Snapshot times as they appear in names: 20251019T000000Z, 2025-10-19T00:00:00Z, 20251019, 2025-10-19… */

const COMPACT = /^(\d{4})(\d{2})(\d{2})(?:[T_-]?(\d{2})(\d{2})(\d{2})?)?(Z)?$/;
const EXTENDED =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T _](\d{2})[:-]?(\d{2})(?:[:-]?(\d{2}))?(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const EPOCH = /^\d{10}$/;

/**
 * Offset of `zone` from UTC at `at`, in ms (Asia/Tokyo: +9 h), from Intl's wall-clock reading of
 * that instant in the zone.
 */
export function zoneOffsetMs(at: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(at));
  const part = (type: string) => Number(parts.find((candidate) => candidate.type === type)!.value);
  const wall = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  );
  return wall - Math.floor(at / 1000) * 1000;
}

/** The instant a wall-clock time (given as if it were UTC, in ms) names in `zone` (the later reading when a shift repeats an hour). */
export function wallTimeIn(wallAsUtc: number, zone: string): number {
  const first = wallAsUtc - zoneOffsetMs(wallAsUtc, zone);
  const second = wallAsUtc - zoneOffsetMs(first, zone);
  return second;
}

/**
 * Parses a time from a snapshot name. A name with an offset (`Z`, `+09:00`) or an epoch says
 * its own instant; one without is read in `timeZone` (an IANA name, policy
 * `snapshots.timezone`), UTC when none is given. Null when not a time.
 */
export function parseSnapshotTime(text: string, timeZone?: string): Date | null {
  if (EPOCH.test(text)) return new Date(Number(text) * 1000);
  const match = COMPACT.exec(text) ?? EXTENDED.exec(text);
  if (!match) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = match;
  const offset = zone && zone !== 'Z' ? zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2') : 'Z';
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`);
  if (Number.isNaN(date.getTime()) || (date.getUTCMonth() + 1 !== Number(mo) && offset === 'Z')) return null;
  if (zone || !timeZone || timeZone === 'UTC') return date;
  return new Date(wallTimeIn(date.getTime(), timeZone));
}
