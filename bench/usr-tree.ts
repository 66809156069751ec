/**
 * A deterministic sample of this machine's /usr as a real file tree for benchmarks: every regular
 * file under /usr is listed in sorted order and a file is taken when the SHA-256 of its path
 * falls in the first `files / candidates` of the hash space, so the same machine always gives the
 * same sample, and a larger sample contains a smaller one. Copied once into
 * bench-data/usr-tree-N/ (symlinks and special files are left out; files over `maxFileBytes` too).
 *
 * Reusable: `npm run bench:restic` scans a restic repository of it; a later `npm run bench:tree`
 * can ask for 30,000 files or more.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { DATA } from './bench-kit.js';

/** The sample on disk. */
export interface UsrTree {
  /** Directory holding the files, at their /usr-relative paths (`bin/ls`, `share/doc/…`). */
  dir: string;
  files: number;
  bytes: number;
}

/** Every regular file under `root`, sorted, with its size. */
function listFiles(root: string): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const full = path.join(dir, name);
      const stats = lstatSync(full, { throwIfNoEntry: false });
      if (!stats) continue;
      if (stats.isDirectory()) walk(full);
      else if (stats.isFile()) out.push({ path: full, size: stats.size });
    }
  };
  walk(root);
  return out;
}

/** Where a path's SHA-256 falls in [0, 1). */
function hashPoint(file: string): number {
  return createHash('sha256').update(file).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The sample of `files` files of /usr (each at most `maxFileBytes`), made once into `dir` (default
 * bench-data/usr-tree-N); a marker `dir.json` beside it says it is complete.
 */
export function usrTree(
  files: number,
  maxFileBytes = 64 * 2 ** 20,
  root = '/usr',
  dir = path.join(DATA, `usr-tree-${files}`),
): UsrTree {
  const marker = `${dir}.json`;
  if (existsSync(marker) && existsSync(dir)) return JSON.parse(readFileSync(marker, 'utf8')) as UsrTree;
  rmSync(dir, { recursive: true, force: true });
  const candidates = listFiles(root).filter((file) => file.size <= maxFileBytes);
  if (candidates.length < files)
    throw new Error(
      `${root} has only ${candidates.length} regular files of at most ${maxFileBytes} bytes; asked for ${files}`,
    );
  // The `files` paths with the smallest hash points: deterministic, and nested as the sample grows.
  const picked = candidates
    .map((file) => ({ ...file, point: hashPoint(file.path) }))
    .sort((a, b) => a.point - b.point)
    .slice(0, files)
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  process.stderr.write(`copying a sample of ${files} files of ${root} into ${dir} (once)…\n`);
  let bytes = 0;
  let copied = 0;
  for (const file of picked) {
    const target = path.join(dir, path.relative(root, file.path));
    mkdirSync(path.dirname(target), { recursive: true });
    try {
      copyFileSync(file.path, target);
      bytes += file.size;
      copied++;
    } catch {
      // unreadable (permissions): the sample is a little smaller
    }
  }
  const tree: UsrTree = { dir, files: copied, bytes };
  writeFileSync(marker, JSON.stringify(tree));
  return tree;
}
