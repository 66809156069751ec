/** Fixtures for drill tests: a temp root with an offline volume, a state directory and a policy. */
import { chmod, mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { DEFAULT_CONCURRENCY, type Policy, type SetPolicy } from '../../agent/config/resolve-policy.js';

/** A drill test's directories. */
export interface DrillFixture {
  root: string;
  volume: string;
  state: string;
}

/**
 * A fresh root with `volume/` and `state/`. The root is world-searchable like /var/lib: when the
 * tests run as root, sandboxed commands run as another user that must reach the drill directory.
 */
export async function drillFixture(prefix = 'vouch-drill-'): Promise<DrillFixture> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(root, 0o755);
  const volume = path.join(root, 'volume');
  await mkdir(volume);
  return { root, volume, state: path.join(root, 'state') };
}

/** Options of `drillSet`. */
export interface SetOptions {
  name?: string;
  drill?: Record<string, unknown>;
  /** More set keys (targets, limits, snapshots…); `source` replaces the fs source over `volume`. */
  extra?: Record<string, unknown>;
}

/** A set over `volume` (archives named `NAME-YYYYMMDD…`), as the policy file would give it. */
export function drillSet(fixture: DrillFixture, options: SetOptions = {}): SetPolicy {
  const name = options.name ?? 'orders';
  const policy = validatePolicy(
    {
      sets: {
        [name]: {
          source: { fs: { path: fixture.volume } },
          snapshots: {
            layout: 'archive',
            match: `^${name}-(?<time>\\d{8}(T\\d{6}Z)?)\\.(tar|tar\\.gz|tgz|tar\\.zst|tar\\.xz|tar\\.bz2|tar\\.lz4|zip|7z)$`,
          },
          drill: options.drill ?? {},
          ...options.extra,
        },
      },
    },
    'test policy',
    fixture.root,
  );
  return policy.sets[0]!;
}

/** A policy of the given sets (for runScan). */
export function policyOf(...sets: SetPolicy[]): Policy {
  return { file: 'test policy', sets, datasets: [], concurrency: DEFAULT_CONCURRENCY };
}

/** Every path under `dir` (relative, sorted), not following links. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string, prefix: string) => {
    for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
      const relative = `${prefix}${entry.name}`;
      out.push(entry.isDirectory() ? `${relative}/` : relative);
      if (entry.isDirectory()) await walk(path.join(current, entry.name), `${relative}/`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

/** Processes whose command line contains `token` (bwrap's carries the drill directory). */
export async function processesMentioning(token: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(token)) pids.push(Number(name));
  }
  return pids;
}
