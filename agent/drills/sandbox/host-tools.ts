/**
 * The host programs a sandbox is built from (`bwrap`, `prlimit`, `setpriv`), found once per
 * process, and the hard resource limits sandboxed processes inherit (a limit cannot be raised
 * past them, so requested limits are clamped instead of failing).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SandboxLimits } from '../../config/resolve-policy.js';

/** Where to look besides PATH: vouch may run with a minimal PATH (cron, systemd). */
const FALLBACK_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** What to tell a user who lacks a tool, by tool. */
export const INSTALL_HINTS: Readonly<Record<string, string>> = {
  bwrap: 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora/RHEL: dnf install bubblewrap)',
  prlimit: 'install util-linux (it provides prlimit)',
  setpriv: 'install util-linux (it provides setpriv)',
};

const found = new Map<string, string | null>();

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of an executable named `name`, or null. `VOUCH_BWRAP`, `VOUCH_PRLIMIT`, … name a
 * program in an unusual place (or, pointing nowhere, tell vouch there is none).
 */
export function findExecutable(name: string): string | null {
  const override = process.env[`VOUCH_${name.toUpperCase()}`];
  if (override !== undefined && override !== '') return executable(override) ? override : null;
  if (found.has(name)) return found.get(name)!;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...FALLBACK_DIRS];
  let hit: string | null = null;
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (executable(candidate)) {
      hit = candidate;
      break;
    }
  }
  found.set(name, hit);
  return hit;
}

/** The `prlimit` resource names and the /proc/self/limits rows they correspond to. */
const LIMIT_ROWS = {
  cpu: 'Max cpu time',
  as: 'Max address space',
  nproc: 'Max processes',
  fsize: 'Max file size',
  nofile: 'Max open files',
} as const;

type LimitName = keyof typeof LIMIT_ROWS;

/** This process's hard limits (Infinity when unlimited or unknown). */
function hardLimits(): Record<LimitName, number> {
  const out = Object.fromEntries(Object.keys(LIMIT_ROWS).map((name) => [name, Number.POSITIVE_INFINITY])) as Record<LimitName, number>;
  let text = '';
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return out;
  }
  for (const [name, row] of Object.entries(LIMIT_ROWS) as [LimitName, string][]) {
    const line = text.split('\n').find((candidate) => candidate.startsWith(row));
    const hard = line?.slice(row.length).trim().split(/\s+/)[1];
    if (hard && /^\d+$/.test(hard)) out[name] = Number(hard);
  }
  return out;
}

/** Open files allowed in a sandbox: enough for PostgreSQL, bounded. */
const SANDBOX_OPEN_FILES = 4096;

/** `prlimit` options applying `limits` (clamped to this process's hard limits), plus no core dumps. */
export function prlimitArguments(limits: SandboxLimits): string[] {
  const hard = hardLimits();
  const wanted: Record<LimitName, number> = {
    cpu: Math.max(1, Math.ceil(limits.cpuSeconds)),
    as: limits.memoryBytes,
    nproc: limits.processes,
    fsize: limits.fileSizeBytes,
    nofile: SANDBOX_OPEN_FILES,
  };
  const args = (Object.keys(wanted) as LimitName[]).map((name) => `--${name}=${Math.min(wanted[name], hard[name])}`);
  return [...args, '--core=0'];
}
