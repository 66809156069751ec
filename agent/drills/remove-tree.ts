/**
 * Removes a drill's directory whatever its commands left in it: links are removed, never followed
 * (a command may plant `link -> /etc`), and directories a command made unreadable or unwritable
 * (chmod 000) are opened up first — vouch owns them, so it may.
 */
import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** Gives every directory under `dir` (never through a link) owner rwx so its entries can be removed. */
async function openUp(dir: string): Promise<void> {
  const stats = await lstat(dir).catch(() => null);
  if (!stats?.isDirectory()) return;
  await chmod(dir, 0o700).catch(() => undefined);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) await openUp(path.join(dir, name));
}

/** Removes `dir` and everything in it; succeeds when it does not exist. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOTEMPTY') throw error;
  }
  await openUp(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 2 });
}
