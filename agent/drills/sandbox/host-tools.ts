/**
 * The host programs a sandbox is built from (`bwrap`, `prlimit`, `setpriv`), found once per
 * process, and the hard resource limits sandboxed processes inherit (a limit cannot be raised
 * past them, so requested limits are clamped instead of failing).
 */
import { readFileSync } from 'node:fs';
import type { SandboxLimits } from '../../config/resolve-policy.js';
import { findExecutable } from '../../tools/find-executable.js';

/** What to tell a user who lacks a tool, by tool. */
export const INSTALL_HINTS: Readonly<Record<string, string>> = {
  bwrap:
    'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora/RHEL: dnf install bubblewrap)',
  prlimit: 'install util-linux (it provides prlimit)',
  setpriv: 'install util-linux (it provides setpriv)',
};

export { findExecutable };

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
  const out = Object.fromEntries(
    Object.keys(LIMIT_ROWS).map((name) => [name, Number.POSITIVE_INFINITY]),
  ) as Record<LimitName, number>;
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
  const args = (Object.keys(wanted) as LimitName[]).map(
    (name) => `--${name}=${Math.min(wanted[name], hard[name])}`,
  );
  return [...args, '--core=0'];
}
