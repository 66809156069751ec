/**
 * Lock files: one holder at a time across processes on one host. The file holds the owner's pid,
 * host and a random token; a lock whose process is gone on this host is stale and taken over, so
 * a killed agent never blocks the next. A live holder — another process, or another user in this
 * process — is waited for (`waitMs`) or reported.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateLockedError } from '../errors.js';

/** A held lock; `release()` is idempotent and only ever removes this holder's own file. */
export interface LockFile {
  release(): Promise<void>;
}

/** Who holds a lock, as the file says. */
export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  token?: string;
  /** What the holder is doing (`drill orders-…`), for the message a waiting process prints. */
  purpose?: string;
}

/** Options of `acquireLockFile`. */
export interface LockFileOptions {
  /** Names the locked thing in errors (`state directory /x`, `drills of set orders`). */
  what: string;
  /** Keep trying this long while a live holder has it (default 0: fail at once). */
  waitMs?: number;
  /** Written into the file for whoever finds it held. */
  purpose?: string;
  /** Aborts the wait. */
  signal?: AbortSignal;
}

const POLL_MS = 25;

/** True when a process with `pid` exists on this host (EPERM: exists, not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owner recorded in a lock file, or null when it is missing or unreadable. */
export async function readLockOwner(file: string): Promise<LockOwner | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

/** True when `owner` is a process on this host that no longer exists. */
export function ownerIsDead(owner: LockOwner | null): boolean {
  return owner !== null && owner.host === hostname() && owner.pid !== process.pid && !processAlive(owner.pid);
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

function describeOwner(owner: LockOwner | null): string {
  if (!owner) return 'another process';
  return `pid ${owner.pid} on ${owner.host} since ${owner.since}${owner.purpose ? ` (${owner.purpose})` : ''}`;
}

/**
 * Takes the lock at `file`, taking over a stale one; waits up to `waitMs` for a live holder, then
 * throws StateLockedError naming the holder.
 */
export async function acquireLockFile(file: string, options: LockFileOptions): Promise<LockFile> {
  await mkdir(path.dirname(file), { recursive: true });
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
    ...(options.purpose ? { purpose: options.purpose } : {}),
  };
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    if (await tryCreate(file, me)) {
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          const owner = await readLockOwner(file);
          if (owner?.token === me.token) await rm(file, { force: true });
        },
      };
    }
    const owner = await readLockOwner(file);
    // An unreadable lock file may be one being written right now; only a dead owner is stale.
    if (ownerIsDead(owner)) {
      // Rename first so two contenders cannot both delete and re-create the stale lock.
      const aside = `${file}.stale-${me.token}`;
      await rename(file, aside).catch(() => undefined);
      await rm(aside, { force: true });
      continue;
    }
    if (Date.now() >= deadline || options.signal?.aborted) {
      throw new StateLockedError(`${options.what} is in use by ${describeOwner(owner)}`);
    }
    await sleep(POLL_MS, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
  }
}
