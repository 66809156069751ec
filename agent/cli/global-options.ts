/** Global flags shared by every command: --config, --state, --json (and their environment variables). */
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { loadPolicy } from '../config/load-policy.js';
import type { Policy } from '../config/resolve-policy.js';

/** Parsed global flags. */
export interface GlobalOptions {
  config: string;
  state?: string;
  json: boolean;
}

/** Global flags of the root program, as seen from any subcommand. */
export function globalOptions(command: Command): GlobalOptions {
  let root = command;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}

/** State directory: --state, then VOUCH_STATE (via the option's env), then the policy's `state`, then ./vouch-state. */
export function resolveStateDir(options: GlobalOptions, policy?: Policy): string {
  return path.resolve(options.state ?? policy?.state ?? 'vouch-state');
}

/** Loads the policy named by --config / VOUCH_CONFIG. */
export function loadConfiguredPolicy(options: GlobalOptions): Promise<Policy> {
  return loadPolicy(options.config);
}

/**
 * The policy when the command can work without one (evidence commands): loaded when the --config
 * file exists, else undefined. A policy that exists but is invalid is still an error.
 */
export async function loadOptionalPolicy(options: GlobalOptions): Promise<Policy | undefined> {
  const exists = await access(options.config).then(
    () => true,
    () => false,
  );
  return exists ? loadPolicy(options.config) : undefined;
}
