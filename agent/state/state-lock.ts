/**
 * One writer per state directory. The lock file holds the owner's pid and host; a lock whose
 * process is gone on this host is stale and taken over, so a killed agent never blocks the next.
 */
import { hostname } from 'node:os';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { StateLockedError } from '../errors.js';

/** A held lock; `release()` is idempotent. */
export interface StateLock {
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(file: string): Promise<LockOwner | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

async function tryCreate(file: string, owner: LockOwner): Promise<boolean> {
  try {
    const handle = await open(file, 'wx', 0o644);
    try {
      await handle.writeFile(JSON.stringify(owner));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Takes the state directory's lock or throws StateLockedError naming the holder. */
export async function acquireStateLock(stateDir: string): Promise<StateLock> {
  const file = path.join(stateDir, 'lock');
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(file, me)) {
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          const owner = await readOwner(file);
          if (owner?.pid === me.pid && owner.host === me.host) await rm(file, { force: true });
        },
      };
    }
    const owner = await readOwner(file);
    const stale = owner !== null && owner.host === me.host && owner.pid !== me.pid && !processAlive(owner.pid);
    // An unreadable lock file may be one being written right now; only a dead owner is stale.
    if (!stale) {
      const who = owner ? `pid ${owner.pid} on ${owner.host} since ${owner.since}` : 'another process';
      throw new StateLockedError(`state directory ${stateDir} is in use by ${who}`);
    }
    // Rename first so two contenders cannot both delete and re-create the stale lock.
    await rename(file, `${file}.stale-${process.pid}`).catch(() => undefined);
    await rm(`${file}.stale-${process.pid}`, { force: true });
  }
  throw new StateLockedError(`state directory ${stateDir}: could not take the lock`);
}
