/**
 * Real files found on this machine, by type, for detection tests and the detection benchmark:
 * documentation and man pages (gzip), Java and Python packages (zip/jar/whl), icons (PNG),
 * shared libraries and programs (ELF), and so on. Walks are bounded (files and directories
 * visited) so a test's set-up stays fast on any machine.
 */
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';

/** Where real files are looked for, in order. */
export const MACHINE_ROOTS = [
  '/usr/share',
  '/usr/lib',
  '/usr/bin',
  '/usr/sbin',
  '/usr/local/lib',
  '/root/.cache',
  '/root/.npm',
  '/var/cache',
  '/var/lib',
  '/opt',
];

/** A found file. */
export interface MachineFile {
  path: string;
  size: number;
}

/** What to look for. */
export interface FindOptions {
  /** Keeps a file by name (e.g. extension) and, when given, by its first bytes. */
  name: (name: string) => boolean;
  head?: (head: Buffer) => boolean;
  minSize?: number;
  maxSize?: number;
  /** Stop after this many files. */
  limit: number;
  roots?: string[];
  /** Stop after visiting this many directory entries in all. */
  maxVisits?: number;
}

function readHead(file: string, bytes = 64): Buffer {
  const data = readFileSync(file, { flag: 'r' }).subarray(0, bytes);
  return Buffer.from(data);
}

/** Files matching `options`, found by a bounded breadth-first walk; deterministic for a machine. */
export function findMachineFiles(options: FindOptions): MachineFile[] {
  const found: MachineFile[] = [];
  const seen = new Set<string>();
  let visits = 0;
  const maxVisits = options.maxVisits ?? 400_000;
  const queue = [...(options.roots ?? MACHINE_ROOTS)];
  while (queue.length > 0 && found.length < options.limit && visits < maxVisits) {
    const dir = queue.shift()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      visits++;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        queue.push(full);
        continue;
      }
      if (!entry.isFile() || !options.name(entry.name)) continue;
      let size: number;
      let inode: string;
      try {
        const stats = statSync(full);
        size = stats.size;
        inode = `${stats.dev}:${stats.ino}`;
      } catch {
        continue;
      }
      if (seen.has(inode) || size < (options.minSize ?? 1) || size > (options.maxSize ?? 64 * 2 ** 20))
        continue;
      try {
        if (options.head && !options.head(readHead(full))) continue;
      } catch {
        continue;
      }
      seen.add(inode);
      found.push({ path: full, size });
      if (found.length >= options.limit) break;
    }
  }
  return found;
}

/** Convenience: files whose name ends with one of `extensions` (with the dot). */
export function findByExtension(
  extensions: string[],
  limit: number,
  extra: Partial<FindOptions> = {},
): MachineFile[] {
  return findMachineFiles({
    name: (name) => extensions.some((ext) => name.toLowerCase().endsWith(ext)),
    limit,
    ...extra,
  });
}
