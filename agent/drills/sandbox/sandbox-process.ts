/**
 * Runs one host process for a sandbox (bwrap, or the unsandboxed wrapper) and reports how it
 * ended: exit code or signal, whether the wall-clock timeout or an abort killed it, and its
 * output (the start of stdout, the end of stderr — bounded, whatever the process prints).
 * Killing is the caller's `kill` strategy: bwrap takes its whole sandbox down with it; the
 * unsandboxed wrapper is killed as a process group.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { SandboxResult } from './sandbox.js';

/** Bytes of stdout kept (from the start: what expected-output checks match against). */
export const STDOUT_KEEP_BYTES = 4 * 2 ** 20;
/** Bytes of stderr kept (from the end: where the reason for a failure is). */
export const STDERR_KEEP_BYTES = 64 * 1024;
/** After the process exits, how long to wait for its output pipes to close. */
const CLOSE_GRACE_MS = 2000;

/** How a process ended: what a sandbox reports for it. */
export type ProcessOutcome = SandboxResult;

/** What to run. */
export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Standard input: data, or a stream piped in (destroyed if the process ends first). */
  stdin?: string | Buffer | Readable;
  /** Data written to file descriptors 3, 4, … of the child (bwrap reads `--ro-bind-data FD`). */
  dataFds?: (string | Buffer)[];
  timeoutMs: number;
  signal?: AbortSignal;
  /** Start the child in a new session and process group (so `kill` can take the group). */
  detached: boolean;
  /** Kills the process (and whatever it takes down with it). */
  kill: (pid: number) => void;
  /** Sees output as it arrives (e.g. a server's readiness line). */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

/** A process that is running. */
export interface RunningProcess {
  readonly pid: number | undefined;
  readonly done: Promise<ProcessOutcome>;
  /** Kills it now (idempotent). */
  stop(): void;
}

/** Starts `spec`; `done` never rejects (a spawn failure is exit code 127 with the reason on stderr). */
export function startProcess(spec: ProcessSpec): RunningProcess {
  const started = process.hrtime.bigint();
  const child = spawn(spec.command, spec.args, {
    env: spec.env,
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
    stdio: [
      spec.stdin === undefined ? 'ignore' : 'pipe',
      'pipe',
      'pipe',
      ...(spec.dataFds ?? []).map(() => 'pipe' as const),
    ],
    detached: spec.detached,
  });
  let timedOut = false;
  let aborted = false;
  let killed = false;
  const stdout: Buffer[] = [];
  let stdoutBytes = 0;
  let stdoutTruncated = false;
  let stderr = Buffer.alloc(0);

  const kill = () => {
    if (killed || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    killed = true;
    try {
      spec.kill(child.pid);
    } catch {
      // already gone
    }
  };

  child.stdout!.on('data', (chunk: Buffer) => {
    spec.onOutput?.('stdout', chunk);
    if (stdoutBytes >= STDOUT_KEEP_BYTES) {
      stdoutTruncated = true;
      return;
    }
    const kept = chunk.subarray(0, STDOUT_KEEP_BYTES - stdoutBytes);
    stdoutTruncated ||= kept.length < chunk.length;
    stdout.push(kept);
    stdoutBytes += kept.length;
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    spec.onOutput?.('stderr', chunk);
    stderr = Buffer.concat([stderr, chunk]);
    if (stderr.length > STDERR_KEEP_BYTES) stderr = stderr.subarray(stderr.length - STDERR_KEEP_BYTES);
  });
  for (const stream of child.stdio) stream?.on('error', () => {});
  const input = spec.stdin;
  if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin!.end(input);
  else if (input) {
    input.on('error', () => child.stdin!.destroy());
    input.pipe(child.stdin!);
    child.once('exit', () => input.destroy());
  }
  (spec.dataFds ?? []).forEach((data, index) => {
    const stream = child.stdio[3 + index] as NodeJS.WritableStream | null;
    stream?.end(data);
  });

  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, spec.timeoutMs);
  const onAbort = () => {
    aborted = true;
    kill();
  };
  if (spec.signal?.aborted) onAbort();
  else spec.signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<ProcessOutcome>((resolve) => {
    let spawnError: Error | null = null;
    child.on('error', (error) => (spawnError = error));
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      const reason = spawnError ? `cannot start ${spec.command}: ${spawnError.message}\n` : '';
      resolve({
        exitCode: spawnError ? 127 : exitCode,
        signal,
        timedOut,
        aborted,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stdoutTruncated,
        stderr: reason + stderr.toString('utf8'),
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    };
    child.on('exit', (exitCode, signal) => {
      // A grandchild that escaped may hold the pipes open: do not wait for it forever.
      const grace = setTimeout(() => {
        for (const stream of child.stdio) stream?.destroy();
      }, CLOSE_GRACE_MS);
      child.once('close', () => {
        clearTimeout(grace);
        finish(exitCode, signal);
      });
    });
    child.on('close', (exitCode, signal) => {
      if (spawnError) finish(exitCode, signal);
    });
  });
  return { pid: child.pid, done, stop: kill };
}
