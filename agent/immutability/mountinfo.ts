/**
 * `/proc/self/mountinfo` parsing (pure): which mount holds a path and whether it is read-only.
 * Format (proc(5)): `id parent major:minor root mountpoint mount-options [optional...] - fstype source super-options`,
 * with spaces, tabs, newlines and backslashes in paths escaped as octal (`\040`).
 */

export interface MountInfo {
  /** The filesystem's device (`major:minor`): mounts with the same one show the same files. */
  device: string;
  /** The directory of that filesystem this mount shows (`/` for a whole filesystem, a subdirectory for a bind mount). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-mount options (`ro`, `nosuid`…). */
  mountOptions: string[];
  /** Superblock options. */
  superOptions: string[];
}

function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Parses mountinfo text; malformed lines are skipped. Later lines shadow earlier ones on the same mount point. */
export function parseMountInfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const separator = fields.indexOf('-', 6);
    if (fields.length < 10 || separator < 0 || separator + 3 > fields.length) continue;
    mounts.push({
      device: fields[2]!,
      root: unescapeOctal(fields[3]!),
      mountPoint: unescapeOctal(fields[4]!),
      mountOptions: fields[5]!.split(','),
      fsType: fields[separator + 1]!,
      source: unescapeOctal(fields[separator + 2]!),
      superOptions: (fields[separator + 3] ?? '').split(','),
    });
  }
  return mounts;
}

function contains(mountPoint: string, target: string): boolean {
  if (mountPoint === '/') return target.startsWith('/');
  return target === mountPoint || target.startsWith(`${mountPoint}/`);
}

/** The mount an absolute, symlink-free path lives on: the longest containing mount point, last mounted wins. */
export function mountFor(mounts: readonly MountInfo[], target: string): MountInfo | null {
  let best: MountInfo | null = null;
  for (const mount of mounts) {
    if (!contains(mount.mountPoint, target)) continue;
    if (!best || mount.mountPoint.length >= best.mountPoint.length) best = mount;
  }
  return best;
}

/** Whether writes through this mount are refused (either the mount or its superblock is read-only). */
export function isReadOnly(mount: MountInfo): boolean {
  return mount.mountOptions.includes('ro') || mount.superOptions.includes('ro');
}

function within(base: string, target: string): string | null {
  if (base === '/') return target;
  if (target === base) return '/';
  return target.startsWith(`${base}/`) ? target.slice(base.length) : null;
}

/**
 * Other paths through which the directory `target` (on `mount`) is writable: mounts of the same
 * filesystem that are not read-only and show the same directory, at a path no other mount
 * covers. A read-only bind mount of a directory that is still writable where it came from
 * protects nothing against whoever can reach the original. Mounts this process cannot see (other
 * mount namespaces, other hosts sharing the volume) are not found.
 */
export function writableAliases(mounts: readonly MountInfo[], target: string): string[] {
  const mount = mountFor(mounts, target);
  if (!mount) return [];
  const inside = within(mount.mountPoint, target)!;
  const onDevice = mount.root === '/' ? inside : inside === '/' ? mount.root : `${mount.root}${inside}`;
  const aliases: string[] = [];
  for (const other of mounts) {
    if (other === mount || other.device !== mount.device || isReadOnly(other)) continue;
    const rest = within(other.root, onDevice);
    if (rest === null) continue;
    const alias =
      other.mountPoint === '/' ? rest : rest === '/' ? other.mountPoint : `${other.mountPoint}${rest}`;
    if (mountFor(mounts, alias) === other) aliases.push(alias);
  }
  return [...new Set(aliases)];
}
