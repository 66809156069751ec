/**
 * `drill.sandbox: none`: the policy's explicit opt-out, for trusted backups on hosts without
 * bubblewrap. Commands run as vouch's own user (or uid 65534 when vouch is root, as in the
 * sandbox) on the real filesystem and network — only the
 * cleared environment, the working directory, `prlimit` limits, the wall-clock timeout (which
 * kills the command's process group) and `setpriv --pdeathsig` (the command dies with vouch)
 * remain. A command that starts its own session escapes the group kill: that is what the sandbox
 * is for.
 */
import { chown, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startProcess } from './sandbox-process.js';
import { dropPrivileges } from './bwrap-sandbox.js';
import { findExecutable, INSTALL_HINTS, prlimitArguments } from './host-tools.js';
import {
  sandboxEnvironment,
  type Sandbox,
  type SandboxPaths,
  type SandboxRequest,
  type SandboxSpec,
} from './sandbox.js';
import { SandboxUnavailableError } from './sandbox-user.js';

/** An unsandboxed runner for one drill. */
export function createUnsandboxed(spec: SandboxSpec): Sandbox {
  const prlimit = findExecutable('prlimit');
  if (!prlimit) throw new SandboxUnavailableError(`prlimit is not installed: ${INSTALL_HINTS.prlimit}`);
  const setpriv = findExecutable('setpriv');
  if (!setpriv) throw new SandboxUnavailableError(`setpriv is not installed: ${INSTALL_HINTS.setpriv}`);
  const paths: SandboxPaths = {
    restore: path.join(spec.boxDir, 'restore'),
    scratch: path.join(spec.boxDir, 'scratch'),
    files: spec.filesDir,
  };

  const launch = async (request: SandboxRequest) => {
    if (request.files?.length) {
      await mkdir(paths.files, { recursive: true });
      for (const file of request.files) {
        if (!/^[\w.-]+$/.test(file.name))
          throw new Error(`sandbox file name '${file.name}' is not a plain name`);
        await writeFile(path.join(paths.files, file.name), file.data, { mode: 0o555 });
      }
    }
    await mkdir(path.join(paths.scratch, 'tmp'), { recursive: true });
    if (spec.identity.dropFromRoot)
      await chown(path.join(paths.scratch, 'tmp'), spec.identity.uid, spec.identity.gid);
    const env = {
      ...sandboxEnvironment(paths, { ...spec.env, ...request.env }),
      TMPDIR: path.join(paths.scratch, 'tmp'),
    };
    return startProcess({
      command: setpriv,
      args: [
        ...(spec.identity.dropFromRoot ? dropPrivileges(spec.identity).slice(1, -1) : []),
        '--pdeathsig',
        'KILL',
        '--',
        prlimit,
        ...prlimitArguments(spec.limits),
        '--',
        ...request.argv,
      ],
      env,
      cwd: request.cwd ?? paths.restore,
      ...(request.stdin !== undefined ? { stdin: request.stdin } : {}),
      timeoutMs: request.timeoutSeconds * 1000,
      ...(request.signal ? { signal: request.signal } : {}),
      detached: true,
      kill: (pid) => process.kill(-pid, 'SIGKILL'),
      ...(request.onOutput ? { onOutput: request.onOutput } : {}),
    });
  };

  return {
    kind: 'none',
    paths,
    run: async (request) => (await launch(request)).done,
    start(request) {
      const running = launch(request);
      return {
        done: running.then((process) => process.done),
        stop: () => void running.then((process) => process.stop()),
      };
    },
  };
}
