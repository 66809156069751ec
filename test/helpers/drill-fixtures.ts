/** Fixtures for drill tests: a temp root with an offline volume, a state directory and a policy. */
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { SetPolicy } from '../../agent/config/resolve-policy.js';

/** A drill test's directories. */
export interface DrillFixture {
  root: string;
  volume: string;
  state: string;
}

/** A fresh root with `volume/` and `state/`. */
export async function drillFixture(prefix = 'vouch-drill-'): Promise<DrillFixture> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  const volume = path.join(root, 'volume');
  await mkdir(volume);
  return { root, volume, state: path.join(root, 'state') };
}

/** The `orders` set over `volume` (archives named `orders-YYYYMMDD…`), with `drill` and any extra set keys. */
export function ordersSet(fixture: DrillFixture, drill: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): SetPolicy {
  const policy = validatePolicy(
    {
      sets: {
        orders: {
          source: { fs: { path: fixture.volume } },
          snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8}(T\\d{6}Z)?)\\.(tar|tar\\.gz|tgz|tar\\.zst|zip)$' },
          drill,
          ...extra,
        },
      },
    },
    'test policy',
    fixture.root,
  );
  return policy.sets[0]!;
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
