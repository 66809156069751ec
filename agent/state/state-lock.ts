/**
 * One scan per state directory at a time: scans write set indexes and baselines. The lock file
 * holds the owner's pid and host; a lock whose process is gone on this host is stale and taken
 * over, so a killed agent never blocks the next. (Ledger appends have their own short lock, so
 * drills record results while a scan runs: see ledger-store.ts.)
 */
import path from 'node:path';
import { acquireLockFile, type LockFile } from '../fs/lock-file.js';

/** A held lock; `release()` is idempotent. */
export type StateLock = LockFile;

/** Takes the state directory's lock or throws StateLockedError naming the holder. */
export async function acquireStateLock(stateDir: string): Promise<StateLock> {
  return acquireLockFile(path.join(stateDir, 'lock'), { what: `state directory ${stateDir}` });
}
