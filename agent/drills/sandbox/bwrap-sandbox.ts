/**
 * The bubblewrap sandbox. Every process gets fresh namespaces (user, pid, network, ipc, uts,
 * cgroup): no network at all — not even the host's loopback — and a pid namespace whose death
 * takes every child with it. The filesystem is built from nothing:
 *
 *   /usr (and the /bin, /lib… links or dirs)   host, read-only
 *   /etc                                       a short allow-list of host files (dynamic linker
 *                                              cache, alternatives, time zone), read-only, plus
 *                                              generated passwd/group/hosts naming the sandbox user
 *   /proc, /dev                                fresh; /tmp and /dev/shm private and size-capped;
 *                                              the root and /dev themselves read-only
 *   /drill                                     the drill's fresh directory: restore/ (the
 *                                              restored tree) and scratch/ — the only writable place
 *   /vouch                                     the run's check scripts, read-only
 *
 * Nothing of the state directory (signing key included), /home, /root or the rest of /etc is
 * reachable. No path inside the restored tree is ever a bind source or target: restored names are
 * attacker-controlled, so only the box directory vouch created is mounted. The environment is
 * cleared and rebuilt; the process runs in a new session (no terminal to inject keystrokes into),
 * as an unprivileged user with no capabilities and no further user namespaces, under
 * `prlimit` limits (CPU, address space, processes, file size, open files, no core dumps).
 * bwrap dies with vouch (`--die-with-parent`) and the timeout kills bwrap, which takes the pid
 * namespace and so the whole process tree down.
 *
 * Run by root, vouch starts bwrap through `setpriv` as an unprivileged user (sandbox-identity.ts):
 * the kernel exempts host root from the process limit, so only that contains a fork bomb.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import type { SandboxLimits } from '../../config/resolve-policy.js';
import { startProcess } from './sandbox-process.js';
import { findExecutable, INSTALL_HINTS, prlimitArguments } from './host-tools.js';
import {
  sandboxEnvironment,
  type Sandbox,
  type SandboxPaths,
  type SandboxRequest,
  type SandboxResult,
  type SandboxSpec,
} from './sandbox.js';
import { SANDBOX_USER, SandboxUnavailableError } from './sandbox-user.js';

/** Paths as sandboxed commands see them. */
export const BWRAP_PATHS: SandboxPaths = {
  restore: '/drill/restore',
  scratch: '/drill/scratch',
  files: '/vouch',
};

/** Top-level host paths that hold programs and libraries: bound read-only, or re-created as links. */
const SYSTEM_ROOTS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** Host /etc files programs need to start and nothing that holds secrets. */
const ETC_ALLOW_LIST = [
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/localtime',
  '/etc/timezone',
  '/etc/nsswitch.conf',
  '/etc/os-release',
  '/etc/protocols',
  '/etc/services',
  '/etc/ssl/openssl.cnf',
];

function systemRootArguments(): string[] {
  const args: string[] = [];
  for (const root of SYSTEM_ROOTS) {
    try {
      const stats = lstatSync(root);
      if (stats.isSymbolicLink()) args.push('--symlink', readlinkSync(root), root);
      else if (stats.isDirectory()) args.push('--ro-bind', root, root);
    } catch {
      // not on this system
    }
  }
  return args;
}

/** The generated /etc files, in the order their data goes to fds 3, 4, 5. */
function identityFiles(): { path: string; data: string }[] {
  const { name, uid, gid } = SANDBOX_USER;
  return [
    {
      path: '/etc/passwd',
      data: `${name}:x:${uid}:${gid}:vouch restore drill:${BWRAP_PATHS.scratch}:/bin/sh\n`,
    },
    { path: '/etc/group', data: `${name}:x:${gid}:\n` },
    { path: '/etc/hosts', data: '127.0.0.1\tlocalhost\n::1\tlocalhost\n' },
  ];
}

/** Everything `bwrapArguments` needs. */
export interface BwrapInvocation {
  boxDir: string;
  limits: SandboxLimits;
  env: Record<string, string>;
  cwd: string;
  argv: string[];
  /** Names of per-run files, placed read-only in /vouch from fds after the identity files. */
  fileNames: string[];
  prlimit: string;
}

/** The full bwrap command line for one process (pure apart from looking at /bin, /lib…). */
export function bwrapArguments(invocation: BwrapInvocation): string[] {
  const { uid, gid } = SANDBOX_USER;
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--uid',
    String(uid),
    '--gid',
    String(gid),
    '--hostname',
    'vouch-drill',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
    '--ro-bind',
    '/usr',
    '/usr',
    ...systemRootArguments(),
    ...ETC_ALLOW_LIST.flatMap((file) => ['--ro-bind-try', file, file]),
  ];
  let fd = 3;
  for (const file of identityFiles()) args.push('--perms', '0444', '--ro-bind-data', String(fd++), file.path);
  for (const name of invocation.fileNames)
    args.push('--perms', '0555', '--ro-bind-data', String(fd++), `${BWRAP_PATHS.files}/${name}`);
  args.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(invocation.limits.tmpBytes),
    '--tmpfs',
    '/tmp',
    '--size',
    String(invocation.limits.tmpBytes),
    '--tmpfs',
    '/dev/shm',
    '--bind',
    invocation.boxDir,
    '/drill',
    // The root and /dev are bwrap's own tmpfs: read-only, so nothing but /drill, /tmp and /dev/shm takes writes.
    '--remount-ro',
    '/dev',
    '--remount-ro',
    '/',
    '--chdir',
    invocation.cwd,
  );
  for (const [name, value] of Object.entries(invocation.env)) args.push('--setenv', name, value);
  args.push('--', invocation.prlimit, ...prlimitArguments(invocation.limits), '--', ...invocation.argv);
  return args;
}

/** `setpriv …` arguments that run the rest as the identity's unprivileged user (vouch is root). */
export function dropPrivileges(identity: { uid: number; gid: number }): string[] {
  const setpriv = findExecutable('setpriv');
  if (!setpriv) throw new SandboxUnavailableError(`setpriv is not installed: ${INSTALL_HINTS.setpriv}`);
  return [setpriv, `--reuid=${identity.uid}`, `--regid=${identity.gid}`, '--clear-groups', '--'];
}

/** A bubblewrap sandbox for one drill; throws SandboxUnavailableError (with how to install) when tools are missing. */
export function createBwrapSandbox(spec: SandboxSpec): Sandbox {
  const bwrap = findExecutable('bwrap');
  if (!bwrap)
    throw new SandboxUnavailableError(
      `bwrap is not installed: ${INSTALL_HINTS.bwrap}; or set drill.sandbox: none in the policy to run drill commands unsandboxed`,
    );
  const prlimit = findExecutable('prlimit');
  if (!prlimit) throw new SandboxUnavailableError(`prlimit is not installed: ${INSTALL_HINTS.prlimit}`);
  const drop = spec.identity.dropFromRoot ? dropPrivileges(spec.identity) : [];

  const launch = (request: SandboxRequest) => {
    const files = request.files ?? [];
    for (const file of files)
      if (!/^[\w.-]+$/.test(file.name))
        throw new Error(`sandbox file name '${file.name}' is not a plain name`);
    const env = sandboxEnvironment(BWRAP_PATHS, { ...spec.env, ...request.env });
    const args = bwrapArguments({
      boxDir: spec.boxDir,
      limits: spec.limits,
      env,
      cwd: request.cwd ?? BWRAP_PATHS.restore,
      argv: request.argv,
      fileNames: files.map((file) => file.name),
      prlimit,
    });
    return startProcess({
      command: drop[0] ?? bwrap,
      args: drop.length ? [...drop.slice(1), bwrap, ...args] : args,
      env: {},
      dataFds: [...identityFiles().map((file) => file.data), ...files.map((file) => file.data)],
      ...(request.stdin !== undefined ? { stdin: request.stdin } : {}),
      timeoutMs: request.timeoutSeconds * 1000,
      ...(request.signal ? { signal: request.signal } : {}),
      detached: false,
      // bwrap's pid namespace dies with it: every process the command started goes too.
      kill: (pid) => process.kill(pid, 'SIGKILL'),
      ...(request.onOutput ? { onOutput: request.onOutput } : {}),
    });
  };

  return {
    kind: 'bwrap',
    paths: BWRAP_PATHS,
    run: (request): Promise<SandboxResult> => launch(request).done,
    start(request) {
      const running = launch(request);
      return { done: running.done, stop: running.stop };
    },
  };
}
