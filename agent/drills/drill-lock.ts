/** One drill per set at a time, across processes: `STATE/drills/locks/SET.lock`. */
import path from 'node:path';
import { acquireLockFile, type LockFile } from '../fs/lock-file.js';

/** Where a set's drill lock lives. */
export function drillLockPath(stateDir: string, set: string): string {
  return path.join(stateDir, 'drills', 'locks', `${set}.lock`);
}

/** Takes the set's drill lock or throws StateLockedError naming the drill that holds it. */
export function acquireDrillLock(stateDir: string, set: string, purpose: string): Promise<LockFile> {
  return acquireLockFile(drillLockPath(stateDir, set), { what: `the drill lock of set ${set}`, purpose });
}
