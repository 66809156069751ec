/** Snapshot times as they appear in names: 20251019T000000Z, 2025-10-19T00:00:00Z, 20251019, 2025-10-19… */

const COMPACT = /^(\d{4})(\d{2})(\d{2})(?:[T_-]?(\d{2})(\d{2})(\d{2})?)?(Z)?$/;
const EXTENDED = /^(\d{4})-(\d{2})-(\d{2})(?:[T _](\d{2})[:-]?(\d{2})(?:[:-]?(\d{2}))?(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const EPOCH = /^\d{10}$/;

/** Parses a time from a snapshot name; UTC unless an offset is given. Null when not a time. */
export function parseSnapshotTime(text: string): Date | null {
  if (EPOCH.test(text)) return new Date(Number(text) * 1000);
  const match = COMPACT.exec(text) ?? EXTENDED.exec(text);
  if (!match) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = match;
  const offset = zone && zone !== 'Z' ? zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2') : 'Z';
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`);
  return Number.isNaN(date.getTime()) || date.getUTCMonth() + 1 !== Number(mo) && offset === 'Z' ? null : date;
}
