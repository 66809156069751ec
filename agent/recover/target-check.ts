/**
 * Where `vouch recover --to` may write: never inside a directory vouch reads as a backup store
 * (the restore would become a new snapshot, the "last clean" one) or inside the state directory,
 * and never over a regular file. Symbolic links in the target path are followed (a link into the
 * store is refused like the store itself).
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { localRepositoryPath, type Policy } from '../config/resolve-policy.js';
import { ConfigError } from '../errors.js';
import { isInside } from '../fs/is-inside.js';

/** A directory the target must stay out of, and what it is. */
export interface GuardedDirectory {
  path: string;
  what: string;
}

/** The directories of `policy` a recovery must not write into: each set's local store, and the state directory. */
export function guardedDirectories(policy: Policy, stateDir: string): GuardedDirectory[] {
  const guarded: GuardedDirectory[] = [{ path: stateDir, what: 'the state directory' }];
  for (const set of policy.sets) {
    const local = set.source.kind === 'fs' ? set.source.path : localRepositoryPath(set.source);
    if (local) guarded.push({ path: local, what: `the source of set ${set.name}` });
  }
  return guarded;
}

/** The path with symbolic links resolved as far as it exists (the rest appended as written). */
async function resolveExisting(target: string): Promise<string> {
  const absolute = path.resolve(target);
  const missing: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      return path.join(await realpath(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return absolute;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/**
 * Throws a ConfigError (exit 2) naming both paths when `to` is inside a guarded directory, or
 * naming it when it is an existing file that is not a directory.
 */
export async function checkRecoveryTarget(to: string, guarded: readonly GuardedDirectory[]): Promise<void> {
  const target = await resolveExisting(to);
  for (const dir of guarded) {
    const resolved = await resolveExisting(dir.path);
    if (isInside(target, resolved)) {
      throw new ConfigError(
        `--to ${to} is inside ${dir.what} (${resolved}${target !== path.resolve(to) ? `; --to resolves to ${target}` : ''}): recover writes outside every backup store and the state directory`,
      );
    }
  }
  const existing = await stat(target).catch(() => null);
  if (existing && !existing.isDirectory())
    throw new ConfigError(
      `--to ${to} exists and is not a directory: recover writes only into a new or empty directory`,
    );
}
