/**
 * The Sandbox contract: where drill commands and application checks run. Implementations:
 * bwrap-sandbox.ts (bubblewrap: no network, read-only host, private /tmp, cleared environment,
 * new session, die-with-parent, resource limits, wall-clock timeout) and unsandboxed.ts (the
 * policy's explicit `drill.sandbox: none`: limits, timeout and a cleared environment only).
 *
 * Commands see the drill's fresh directory: `paths.restore` (the restored tree, also the working
 * directory) and `paths.scratch` (room for throwaway servers and HOME). Nothing else is writable
 * except a private, size-capped /tmp.
 */
import type { Readable } from 'node:stream';
import type { SandboxLimits } from '../../config/resolve-policy.js';
import type { SandboxIdentity } from './sandbox-identity.js';
import { SANDBOX_USER } from './sandbox-user.js';

/** A read-only file placed in the sandbox for one run (a policy's check script). */
export interface SandboxFile {
  /** File name (no `/`); the sandbox decides the directory (`Sandbox.paths.files`). */
  name: string;
  data: string | Buffer;
}

/** One process to run in the sandbox. */
export interface SandboxRequest {
  /** Program and arguments; a bare program name is looked up on the sandbox's PATH. */
  argv: string[];
  /** Working directory as the sandbox sees it; default `paths.restore`. */
  cwd?: string;
  /** Environment on top of the sandbox's own (PATH, HOME, LANG, TMPDIR, VOUCH_*). */
  env?: Record<string, string>;
  /** Standard input: data, or a stream (a dump piped into psql). */
  stdin?: string | Buffer | Readable;
  files?: SandboxFile[];
  timeoutSeconds: number;
  signal?: AbortSignal;
  /** Sees output as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

/** How a sandboxed process ended. */
export interface SandboxResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by the wall-clock timeout. */
  timedOut: boolean;
  /** Killed because the drill was aborted. */
  aborted: boolean;
  stdout: string;
  stdoutTruncated: boolean;
  stderr: string;
  seconds: number;
}

/** A long-running sandboxed process (a throwaway database server). */
export interface SandboxProcess {
  readonly done: Promise<SandboxResult>;
  /** Kills it and everything it started. */
  stop(): void;
}

/** Where commands find things, as they see them. */
export interface SandboxPaths {
  restore: string;
  scratch: string;
  /** Directory of `SandboxRequest.files`. */
  files: string;
}

/** A place to run drill commands for one drill. */
export interface Sandbox {
  readonly kind: 'bwrap' | 'none';
  readonly paths: SandboxPaths;
  /** Runs a process to its end (or its timeout). Never throws for what the process does. */
  run(request: SandboxRequest): Promise<SandboxResult>;
  /** Starts a process that runs until stopped, its timeout, or the drill's end. */
  start(request: SandboxRequest): SandboxProcess;
}

/** Everything a sandbox needs to know about its drill. */
export interface SandboxSpec {
  /** Host path of the drill's box directory holding `restore/` and `scratch/`. */
  boxDir: string;
  /** Host path of a directory outside the box for per-run files (unsandboxed mode only). */
  filesDir: string;
  limits: SandboxLimits;
  /** VOUCH_SET, VOUCH_SNAPSHOT, … */
  env: Record<string, string>;
  /** The host user sandboxed processes run as (see sandbox-identity.ts). */
  identity: SandboxIdentity;
}

/** The base environment of every sandboxed process. */
export function sandboxEnvironment(
  paths: SandboxPaths,
  extra: Record<string, string>,
): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin',
    HOME: paths.scratch,
    USER: SANDBOX_USER.name,
    LOGNAME: SANDBOX_USER.name,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    TMPDIR: '/tmp',
    VOUCH_RESTORE: paths.restore,
    VOUCH_SCRATCH: paths.scratch,
    ...extra,
  };
}
