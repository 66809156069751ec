/**
 * The verifiers a drill runs, in order: integrity of the restored bytes first (before any command
 * could touch them), then the application checks. Adding a verifier = one file plus one line here.
 */
import { commandsVerifier } from './commands.js';
import { digestVerifier } from './digest.js';
import { postgresVerifier } from './postgres.js';
import { sqliteVerifier } from './sqlite.js';
import { structureVerifier } from './structure.js';
import type { Verifier } from './verifier.js';

/** Every verifier, in the order they run. */
export const VERIFIERS: readonly Verifier[] = [
  digestVerifier,
  structureVerifier,
  postgresVerifier,
  sqliteVerifier,
  commandsVerifier,
];
