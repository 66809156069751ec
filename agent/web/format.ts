/** How the web console writes times, ages and sizes (pure). One style everywhere, matching the CLI's. */
import { formatDuration } from '../config/duration.js';

/** `2026-11-24 02:00Z`: an ISO time to the minute, UTC. */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');
}

/** `2026-11-24 02:00:05Z`: an ISO time to the second, UTC. */
export function fullTime(iso: string): string {
  return iso.replace('T', ' ').replace(/(:\d{2})(\.\d+)?Z$/, '$1Z');
}

/** Seconds from `iso` to `now` (never negative: clocks of other machines may run ahead). */
export function ageSeconds(iso: string, now: Date): number {
  return Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);
}

/** `3h 5m ago`, `just now`. */
export function ago(iso: string, now: Date): string {
  const seconds = ageSeconds(iso, now);
  return seconds < 60 ? 'just now' : `${formatDuration(seconds)} ago`;
}

/** A duration in seconds, `—` when unknown. */
export function duration(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? '—' : formatDuration(seconds);
}

/** `1,234`. */
export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** `1 snapshot`, `3 snapshots`. */
export function plural(value: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count(value)} ${value === 1 ? noun : pluralNoun}`;
}
