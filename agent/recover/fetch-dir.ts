/**
 * Where a recovery keeps the archives it fetches: `STATE/recover/work-PID-HEX/`, private to the
 * user, removed when the recovery ends. A recovery killed before it could remove its folder
 * (SIGKILL, power loss) leaves a copy of backup data in the state directory; the next recovery
 * removes every such folder whose process is gone from this host. Folders of live processes (two
 * recoveries at once) are left alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../fs/lock-file.js';

/** Folders named before they carried their process id are removed once they are this old. */
const UNOWNED_STALE_MS = 24 * 3600_000;

/** Whether a `recover/` entry is a fetch folder no running recovery owns. */
async function isLeftover(dir: string, name: string): Promise<boolean> {
  const owned = /^work-(\d+)-[0-9a-f]+$/.exec(name);
  if (owned) {
    const pid = Number(owned[1]);
    return pid !== process.pid && !processAlive(pid);
  }
  if (!/^work-[0-9a-f]{8}$/.test(name)) return false;
  const { mtimeMs } = await stat(path.join(dir, name));
  return Date.now() - mtimeMs > UNOWNED_STALE_MS;
}

/** Removes the fetch folders of recoveries that died; returns their names. */
export async function removeLeftoverFetchDirs(stateDir: string): Promise<string[]> {
  const dir = path.join(stateDir, 'recover');
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!(await isLeftover(dir, name).catch(() => false))) continue;
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Makes this recovery's fetch folder (mode 0700), after removing dead recoveries' folders. */
export async function makeFetchDir(stateDir: string): Promise<string> {
  await removeLeftoverFetchDirs(stateDir);
  const fetchDir = path.join(stateDir, 'recover', `work-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(fetchDir, { recursive: true, mode: 0o700 });
  return fetchDir;
}
