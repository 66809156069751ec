/**
 * The real-estate yardstick: whole real trees of this machine — /usr, /var/lib, /etc, the npm and
 * apt caches — and trees unpacked from Debian packages downloaded for it (office suite, fonts,
 * TeX, scientific Python, game data), each scanned through the real scan pipeline exactly as a
 * user's backup set would be: as a directory snapshot and as a .tar.gz snapshot, each twice (the
 * second snapshot a day later holds the same tree, so it is scanned with the first as history:
 * the steady state every later night of an unchanged server looks like). Nothing was done to
 * these trees, so every snapshot must read `clean`: 0 strong and 0 weak `encrypted`, and no
 * finding that makes it suspicious.
 *
 * Directory snapshots of a live tree are bind mounts (read-only) of it, or hard-link copies where
 * mounting is not allowed; archive snapshots are made by GNU tar + gzip. Debian packages are
 * fetched with `apt-get download` and unpacked with `dpkg-deb -x` into bench-data/, once.
 *
 * Environment: VOUCH_BENCH_TREES picks trees by name (comma-separated, e.g. `etc,deb-fonts`;
 * default all), VOUCH_BENCH_TREE_LAYOUTS the layouts (`directory,tar.gz`; default both).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runScan } from '../../agent/scan/scan-run.js';
import type { Finding, FindingKind } from '../../agent/model/findings.js';
import type { Verdict } from '../../agent/model/verdict.js';
import { runTool, ToolError } from './tools.js';

/** A tree the benchmark scans. */
export interface RealTree {
  name: string;
  /** What it is, for the table. */
  label: string;
  /** The directory scanned; for Debian groups, where the packages are unpacked. */
  root: string;
  /** Debian packages unpacked into `root` (Debian groups only). */
  packages?: readonly string[];
}

/** The layouts a tree is scanned in. */
export const TREE_LAYOUTS = ['directory', 'tar.gz'] as const;
export type TreeLayout = (typeof TREE_LAYOUTS)[number];

/** Groups of Debian packages with formats the machine's own trees lack. */
const DEBIAN_GROUPS: Readonly<Record<string, { label: string; packages: string[] }>> = {
  'deb-office': {
    label: 'LibreOffice (core, common, writer, calc, help) + a Java library',
    packages: [
      'libreoffice-core',
      'libreoffice-common',
      'libreoffice-writer',
      'libreoffice-calc',
      'libreoffice-help-en-us',
      'libcommons-lang3-java',
    ],
  },
  'deb-fonts': {
    label: 'fonts: Noto, DejaVu, Liberation, Font Awesome (woff/woff2), Noto Color Emoji',
    packages: [
      'fonts-noto-core',
      'fonts-dejavu-core',
      'fonts-liberation2',
      'fonts-font-awesome',
      'fonts-noto-color-emoji',
    ],
  },
  'deb-tex': {
    label: 'TeX Live base, LaTeX, recommended fonts, Latin Modern, TeX Gyre',
    packages: ['texlive-base', 'texlive-latex-base', 'texlive-fonts-recommended', 'lmodern', 'tex-gyre'],
  },
  'deb-scipy': {
    label: 'scientific Python: numpy, scipy, matplotlib, pandas',
    packages: ['python3-numpy', 'python3-scipy', 'python3-matplotlib', 'python3-pandas'],
  },
  'deb-games': {
    label: 'game and artwork data: Freedoom, OpenGFX, GIMP data',
    packages: ['freedoom', 'openttd-opengfx', 'gimp-data'],
  },
};

/** The npm cache directory (`npm config get cache`, else ~/.npm). */
function npmCache(): string {
  const result = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' });
  const dir = result.status === 0 ? result.stdout.trim() : '';
  return dir && existsSync(dir) ? dir : path.join(homedir(), '.npm');
}

/** Every tree, machine trees first. `data` is the benchmark's data directory. */
export function realTrees(data: string): RealTree[] {
  return [
    { name: 'usr', label: '/usr (programs, libraries, documentation, locales)', root: '/usr' },
    { name: 'var-lib', label: '/var/lib (dpkg, apt lists, service state)', root: '/var/lib' },
    { name: 'etc', label: '/etc (configuration)', root: '/etc' },
    { name: 'npm-cache', label: 'npm cache (content-addressed tarballs, index)', root: npmCache() },
    { name: 'apt-cache', label: '/var/cache/apt (downloaded .deb packages)', root: '/var/cache/apt' },
    ...Object.entries(DEBIAN_GROUPS).map(([name, group]) => ({
      name,
      label: group.label,
      root: path.join(data, 'trees', name),
      packages: group.packages,
    })),
  ];
}

/** Trees and layouts picked by the environment. */
export function pickTrees(
  all: readonly RealTree[],
  env: NodeJS.ProcessEnv = process.env,
): { trees: RealTree[]; layouts: TreeLayout[] } {
  const wanted = env.VOUCH_BENCH_TREES?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted?.filter((name) => !all.some((tree) => tree.name === name)) ?? [];
  if (unknown.length)
    throw new Error(
      `VOUCH_BENCH_TREES: unknown tree ${unknown.join(', ')}; known: ${all.map((t) => t.name).join(', ')}`,
    );
  const layouts = (env.VOUCH_BENCH_TREE_LAYOUTS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean) ?? [...TREE_LAYOUTS]) as TreeLayout[];
  const badLayout = layouts.filter((layout) => !TREE_LAYOUTS.includes(layout));
  if (badLayout.length)
    throw new Error(
      `VOUCH_BENCH_TREE_LAYOUTS: unknown layout ${badLayout.join(', ')}; known: ${TREE_LAYOUTS.join(', ')}`,
    );
  return { trees: wanted ? all.filter((tree) => wanted.includes(tree.name)) : [...all], layouts };
}

/** Downloads and unpacks a Debian group once (a marker names the packages). */
export function prepareDebianTree(tree: RealTree, data: string, log: (message: string) => void): void {
  if (!tree.packages) return;
  const marker = path.join(tree.root, '.vouch-bench-unpacked');
  const expected = tree.packages.join('\n');
  if (existsSync(marker) && readText(marker) === expected) return;
  const debs = path.join(data, 'debs', tree.name);
  rmSync(tree.root, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  mkdirSync(tree.root, { recursive: true });
  log(`${tree.name}: apt-get download ${tree.packages.join(' ')}`);
  runTool('apt-get', ['download', '-q', ...tree.packages], { cwd: debs });
  for (const deb of readdirSync(debs).filter((file) => file.endsWith('.deb')))
    runTool('dpkg-deb', ['-x', path.join(debs, deb), tree.root]);
  writeFileSync(marker, expected);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** One scanned snapshot of a tree. */
export interface TreeSnapshotResult {
  id: string;
  verdict: Verdict;
  entries: number;
  bytes: number;
  encryptedStrong: number;
  encryptedWeak: number;
  /** Every finding kind but `encrypted`, counted. */
  otherFindings: Partial<Record<FindingKind, number>>;
  /** A few findings to read when the verdict is not clean. */
  examples: Finding[];
  /** Every encrypted finding (the false alarms to study), up to 200. */
  encrypted: Finding[];
  seconds: number;
}

/** One tree in one layout: its two snapshots. */
export interface TreeResult {
  tree: string;
  label: string;
  layout: TreeLayout;
  first: TreeSnapshotResult;
  second: TreeSnapshotResult;
}

const FIRST = '2025-01-01';
const SECOND = '2025-01-02';

/** Places `tree` as a read-only directory at `at`: a bind mount, or a hard-link copy where mounting is refused. Returns how to undo it. */
function placeDirectory(tree: string, at: string): () => void {
  mkdirSync(at, { recursive: true });
  const bind = spawnSync('mount', ['--bind', '-o', 'ro', tree, at], { stdio: 'ignore' });
  if (bind.status === 0) {
    // Older util-linux ignores `ro` on the first bind call.
    spawnSync('mount', ['-o', 'remount,bind,ro', at], { stdio: 'ignore' });
    return () => {
      spawnSync('umount', [at], { stdio: 'ignore' });
    };
  }
  rmSync(at, { recursive: true, force: true });
  runTool('cp', ['-al', tree, at]);
  return () => rmSync(at, { recursive: true, force: true });
}

/** Writes `tree` as a .tar.gz at `file` (GNU tar; files that change while read are archived as read). */
function placeArchive(tree: string, file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const result = spawnSync(
    'sh',
    [
      '-c',
      'tar --warning=no-file-changed --warning=no-file-ignored -C "$1" -cf - . | gzip -1 > "$2"',
      'sh',
      tree,
      file,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (result.status !== 0 && !existsSync(file))
    throw new ToolError(`tar | gzip of ${tree} failed: ${result.stderr.toString().trim()}`);
}

/** Mount points under `dir`. */
function mountsUnder(dir: string): string[] {
  let table = '';
  try {
    table = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  return table
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mount) => mount.startsWith(`${dir}/`));
}

/** Unmounts anything a killed earlier run left mounted under `dir`. */
function unmountLeftovers(dir: string): void {
  for (const mount of mountsUnder(dir).sort().reverse()) spawnSync('umount', [mount], { stdio: 'ignore' });
  if (mountsUnder(dir).length > 0)
    throw new Error(
      `real-tree benchmark: cannot unmount ${mountsUnder(dir).join(', ')}; unmount them by hand`,
    );
}

/** Scans one tree in one layout as a two-snapshot set under `work` (emptied first and after). */
export async function scanTree(tree: RealTree, layout: TreeLayout, work: string): Promise<TreeResult> {
  unmountLeftovers(work);
  rmSync(work, { recursive: true, force: true });
  const setDir = path.join(work, 'set');
  const undo: (() => void)[] = [];
  try {
    const place = (time: string) => {
      if (layout === 'directory') undo.push(placeDirectory(tree.root, path.join(setDir, time)));
      else if (time === FIRST) placeArchive(tree.root, path.join(setDir, `${tree.name}-${FIRST}.tar.gz`));
      // The same bytes a day later: an unchanged tree.
      else
        linkSync(
          path.join(setDir, `${tree.name}-${FIRST}.tar.gz`),
          path.join(setDir, `${tree.name}-${time}.tar.gz`),
        );
    };
    const match =
      layout === 'directory'
        ? '^(?<time>\\d{4}-\\d{2}-\\d{2})$'
        : `^${tree.name}-(?<time>\\d{4}-\\d{2}-\\d{2})\\.tar\\.gz$`;
    const policy = validatePolicy(
      {
        sets: {
          tree: {
            source: { fs: { path: setDir } },
            snapshots: { layout: layout === 'directory' ? 'directory' : 'archive', match },
          },
        },
      },
      'real-tree benchmark policy',
      work,
    );
    // Two nightly scans: the first snapshot alone, then the next night's with it as history.
    const scanNight = async (time: string) => {
      place(time);
      const started = performance.now();
      const report = await runScan(policy, { stateDir: path.join(work, 'state') });
      const seconds = (performance.now() - started) / 1000;
      const set = report.sets[0];
      if (!set || set.error)
        throw new Error(
          `real-tree benchmark: scanning ${tree.name} (${layout}) failed: ${set?.error ?? 'no report'}`,
        );
      const snapshot = set.snapshots.find((s) => s.time.startsWith(time));
      if (!snapshot)
        throw new Error(
          `real-tree benchmark: ${tree.name} (${layout}): the scan did not report the ${time} snapshot (${set.notes.join('; ')})`,
        );
      return snapshotResult(snapshot, seconds);
    };
    const first = await scanNight(FIRST);
    const second = await scanNight(SECOND);
    return { tree: tree.name, label: tree.label, layout, first, second };
  } finally {
    for (const step of undo.reverse()) step();
    // Never remove through a mount that would not come off: that is the live tree.
    if (mountsUnder(work).length > 0)
      // eslint-disable-next-line no-unsafe-finally -- refusing to delete a live tree outranks the benchmark's own error
      throw new Error(
        `real-tree benchmark: ${work} still has mounts (${mountsUnder(work).join(', ')}); unmount them by hand`,
      );
    rmSync(work, { recursive: true, force: true });
  }
}

function snapshotResult(
  snapshot: {
    id: string;
    verdict: Verdict;
    entries: number;
    bytes: number;
    findings: Finding[];
    findingCounts: Partial<Record<FindingKind, number>>;
    detection?: { encryptedStrong: number; encryptedWeak: number };
  },
  seconds = 0,
): TreeSnapshotResult {
  const otherFindings = { ...snapshot.findingCounts };
  delete otherFindings.encrypted;
  const examples = [...snapshot.findings].sort((a, b) => rank(a) - rank(b)).slice(0, 12);
  return {
    id: snapshot.id,
    verdict: snapshot.verdict,
    entries: snapshot.entries,
    bytes: snapshot.bytes,
    encryptedStrong: snapshot.detection?.encryptedStrong ?? 0,
    encryptedWeak: snapshot.detection?.encryptedWeak ?? 0,
    otherFindings,
    examples,
    encrypted: snapshot.findings.filter((finding) => finding.kind === 'encrypted').slice(0, 200),
    seconds,
  };
}

const rank = (finding: Finding) => ({ critical: 0, warning: 1, info: 2 })[finding.severity];
