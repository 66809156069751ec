/** Durations in policy files: `90s`, `15m`, `24h`, `30d`, `2w`, or combinations like `1d12h`. */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const DURATION = /^(?:\d+(?:\.\d+)?[smhdw])+$/;
const PART = /(\d+(?:\.\d+)?)([smhdw])/g;

/** Seconds in a duration string, or null when it is not one. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return null;
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  return seconds;
}

/** A short human form of a number of seconds (`3d 4h`, `12m 5s`, `0.8s`). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds < 10) return `${Math.round(seconds * 10) / 10}s`;
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/**
 * An age in one format everywhere a recovery lead reads one (`last-clean`, `recover`): minutes
 * under an hour, else whole hours in `formatDuration`'s form (`43m`, `19h`, `3d 19h`). Pure.
 */
export function formatAge(seconds: number): string {
  const clamped = Math.max(0, seconds);
  if (clamped < 3600) return `${Math.round(clamped / 60)}m`;
  return formatDuration(Math.round(clamped / 3600) * 3600);
}
