/** VOUCH_LOG_LEVEL, checked before anything runs (without loading the logger itself). */
import { ConfigError } from '../errors.js';

/** Levels VOUCH_LOG_LEVEL may name. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The log level: `requested`, else VOUCH_LOG_LEVEL, else `fallback`; an unknown one is a usage error (exit 2). */
export function logLevel(requested?: string, fallback = 'info'): string {
  const level = (requested ?? process.env.VOUCH_LOG_LEVEL ?? fallback).trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(
      `VOUCH_LOG_LEVEL=${requested ?? process.env.VOUCH_LOG_LEVEL}: expected one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return level;
}
