/**
 * Which host user sandboxed processes run as. As vouch's own user when it is not root. When vouch
 * runs as root, as an unprivileged user (uid/gid 65534) instead — dropped with `setpriv` before
 * bwrap starts — because the kernel exempts host root from the process limit in every namespace
 * (a fork bomb would not be contained), because PostgreSQL refuses to run as root, and so that a
 * sandbox escape would not be root. That user must own the drill's box (vouch chowns it) and
 * be able to reach it: every directory above it needs search permission for others.
 */
import { chown, stat } from 'node:fs/promises';
import path from 'node:path';
import { SANDBOX_USER, SandboxUnavailableError } from './sandbox-user.js';

/** The host identity of sandboxed processes. */
export interface SandboxIdentity {
  uid: number;
  gid: number;
  /** True when vouch is root and drops to `uid`/`gid` for sandboxed processes. */
  dropFromRoot: boolean;
}

/** The identity sandboxed processes get on this host. */
export function sandboxIdentity(): SandboxIdentity {
  const uid = process.getuid?.() ?? SANDBOX_USER.uid;
  const gid = process.getgid?.() ?? SANDBOX_USER.gid;
  return uid === 0
    ? { uid: SANDBOX_USER.uid, gid: SANDBOX_USER.gid, dropFromRoot: true }
    : { uid, gid, dropFromRoot: false };
}

/** The first directory above `dir` the identity cannot search, or null. */
async function unreachableAncestor(dir: string, identity: SandboxIdentity): Promise<string | null> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let current: string = path.sep;
  for (const part of ['', ...parts]) {
    current = part === '' ? path.sep : path.join(current, part);
    const stats = await stat(current);
    const bit = stats.uid === identity.uid ? 0o100 : stats.gid === identity.gid ? 0o010 : 0o001;
    if ((stats.mode & bit) === 0) return current;
  }
  return null;
}

/**
 * Prepares `boxDir` (and the given directories inside it) for the identity: when dropping from
 * root, hands them to the sandbox user and checks they can be reached; throws
 * SandboxUnavailableError saying what to change.
 */
export async function prepareBox(
  boxDir: string,
  inside: readonly string[],
  identity: SandboxIdentity,
): Promise<void> {
  if (!identity.dropFromRoot) return;
  const blocked = await unreachableAncestor(boxDir, identity);
  if (blocked) {
    throw new SandboxUnavailableError(
      `vouch runs as root, so sandboxed commands run as uid ${identity.uid}, which cannot reach ${boxDir}: ${blocked} is not searchable by others. ` +
        'Keep the state directory somewhere every user may traverse (e.g. /var/lib/vouch), or run vouch as an unprivileged user',
    );
  }
  // The box itself stays vouch's: only the directories inside it take the sandbox user's writes.
  for (const dir of inside) await chown(dir, identity.uid, identity.gid);
}
