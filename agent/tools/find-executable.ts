/**
 * Finds the host programs vouch runs (the sandbox's bwrap, the backup tools restic and borg,
 * decompressors), once per process. vouch may run with a minimal PATH (cron, systemd), so the
 * usual system directories are searched too.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Where to look besides PATH. */
const FALLBACK_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const found = new Map<string, string | null>();

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of an executable named `name`, or null. `VOUCH_BWRAP`, `VOUCH_RESTIC`, … name a
 * program in an unusual place (or, pointing nowhere, tell vouch there is none).
 */
export function findExecutable(name: string): string | null {
  const override = process.env[`VOUCH_${name.toUpperCase()}`];
  if (override !== undefined && override !== '') return executable(override) ? override : null;
  if (found.has(name)) return found.get(name)!;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...FALLBACK_DIRS];
  let hit: string | null = null;
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (executable(candidate)) {
      hit = candidate;
      break;
    }
  }
  found.set(name, hit);
  return hit;
}
