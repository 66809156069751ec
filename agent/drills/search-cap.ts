/** How many drills `vouch drill --search` may run (a light module: the CLI parses `--max` without loading the drill code). */
import { ConfigError } from '../errors.js';

/** Drills a search runs unless told otherwise (`--max`). */
export const DEFAULT_SEARCH_MAX = 5;

/** The search cap from `--max` text: a whole number ≥ 1, else a usage error. */
export function parseSearchMax(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1)
    throw new ConfigError(`--max: expected a whole number of drills ≥ 1, got ${JSON.stringify(text)}`);
  return value;
}
