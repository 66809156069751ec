/**
 * Lock files: one holder at a time across processes on one host. The file holds the owner's pid,
 * host and a random token; a lock whose process is gone on this host is stale and taken over, so
 * a killed agent never blocks the next. A live holder — another process, or another user in this
 * process — is waited for (`waitMs`) or reported.
 *
 * A lock file never exists without its owner: the owner is written to a private file first and
 * hard-linked into place (link fails when the lock exists), so a process killed while taking a
 * lock leaves at most its private file behind, never an empty lock that looks held forever.
 * (Where hard links are not supported, the file is created exclusively and then written; an
 * unreadable lock older than UNREADABLE_STALE_MS is then taken for a writer that died.)
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateLockedError } from '../errors.js';
import { now } from '../clock.js';

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
/** An unreadable lock file this old is a writer's that died between creating and writing it. */
const UNREADABLE_STALE_MS = 10_000;
/** Private owner files this old are leftovers of processes killed while taking a lock. */
const LEFTOVER_MS = 60_000;

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

async function writeOwner(file: string, owner: LockOwner, flags: 'wx'): Promise<void> {
  const handle = await open(file, flags, 0o644);
  try {
    await handle.writeFile(JSON.stringify(owner));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates the lock file holding `owner`, atomically; false when it already exists. */
async function tryCreate(file: string, owner: LockOwner): Promise<boolean> {
  const own = `${file}.owner-${owner.token}`;
  try {
    await writeOwner(own, owner, 'wx');
    try {
      await link(own, file);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    } finally {
      await rm(own, { force: true });
    }
    // No hard links here: create exclusively, then write (see UNREADABLE_STALE_MS).
    await writeOwner(file, owner, 'wx');
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** True when the lock file cannot be read and is older than any live writer would leave it. */
async function unreadableAndOld(file: string): Promise<boolean> {
  const stats = await stat(file).catch(() => null);
  return stats !== null && Date.now() - stats.mtimeMs > UNREADABLE_STALE_MS;
}

/** Removes private owner files that processes killed while taking a lock left beside `file`. */
async function sweepLeftovers(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.owner-`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const stats = await stat(path.join(dir, name)).catch(() => null);
    if (stats && Date.now() - stats.mtimeMs > LEFTOVER_MS) await rm(path.join(dir, name), { force: true });
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
    since: now().toISOString(),
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
    // An unreadable lock file may be one being written right now; only a dead owner, or one
    // that never finished writing, is stale.
    if (ownerIsDead(owner) || (owner === null && (await unreadableAndOld(file)))) {
      await sweepLeftovers(file);
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
