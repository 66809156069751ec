/**
 * Runs the host programs vouch reads backups through — decompressors (xz, bzip2, lz4), 7-Zip,
 * restic and borg — rather than re-implementing their formats and cryptography.
 *
 * Contract: a program that is not installed is a `ToolMissingError` saying which Debian package
 * brings it; a program that exits non-zero is a `ToolFailedError` quoting what it printed on
 * stderr (reduced to the lines a person needs: Python tracebacks and environment dumps are
 * dropped). Output streams deliver everything the program wrote and then fail if it failed, so a
 * reader keeps what came before the damage. Destroying an output stream kills the program.
 * stdin is never a terminal: a program that would prompt (for a password, a confirmation) reads
 * end-of-file, or what the caller feeds it, and never hangs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { VouchError } from '../errors.js';
import { findExecutable } from './find-executable.js';

/** Programs vouch runs, with the executables that provide each (first found wins) and its Debian package. */
export const TOOLS = {
  xz: { programs: ['xz'], debian: 'xz-utils' },
  bzip2: { programs: ['bzip2'], debian: 'bzip2' },
  lz4: { programs: ['lz4'], debian: 'lz4' },
  '7z': { programs: ['7zz', '7z'], debian: '7zip' },
  restic: { programs: ['restic'], debian: 'restic' },
  borg: { programs: ['borg'], debian: 'borgbackup' },
} as const;

/** A program vouch runs. */
export type ToolName = keyof typeof TOOLS;

/** The program is not installed (or `VOUCH_<NAME>` points nowhere). */
export class ToolMissingError extends VouchError {
  override name = 'ToolMissingError';
  constructor(readonly tool: ToolName) {
    const { programs, debian } = TOOLS[tool];
    super(
      `${programs.join(' or ')} is not installed: install it (Debian/Ubuntu: apt-get install ${debian}), or set VOUCH_${programs[0].toUpperCase()} to its path`,
    );
  }
}

/** The program exited non-zero (or was killed by a signal it did not ask for). */
export class ToolFailedError extends VouchError {
  override name = 'ToolFailedError';
  constructor(
    readonly tool: ToolName,
    readonly exitCode: number | null,
    /** What the program printed on stderr, reduced to the lines that explain (see `explainStderr`). */
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(
      `${TOOLS[tool].programs[0]} failed (${exitCode === null ? 'killed' : `exit ${exitCode}`})${stderr ? `: ${stderr}` : ''}`,
      options,
    );
  }
}

/** The absolute path of the program, or ToolMissingError. */
export function toolPath(tool: ToolName): string {
  for (const program of TOOLS[tool].programs) {
    const found = findExecutable(program);
    if (found) return found;
  }
  throw new ToolMissingError(tool);
}

/** Lines of stderr kept for messages (the start is what explains; the rest is usually repetition). */
const STDERR_KEEP = 64 * 1024;
const MESSAGE_CHARS = 600;

/**
 * The part of a program's stderr that explains a failure, on one line: a Python traceback (borg)
 * is replaced by its final exception line when nothing before it said anything, and the
 * environment dump borg appends (Platform:, PID:, sys.argv…) is dropped.
 */
export function explainStderr(text: string): string {
  const lines = text.split(/\r?\n/);
  const kept: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.startsWith('Traceback (most recent call last):')) {
      let end = index + 1;
      while (end < lines.length && (lines[end]!.startsWith(' ') || lines[end]!.trim() === '')) end++;
      const exception = lines[end]?.trim();
      if (kept.length === 0 && exception) kept.push(exception.replace(/^[\w.]+(Error|Exception): /, ''));
      index = end;
      continue;
    }
    if (/^(Platform|Linux|Borg|PID|sys\.argv|SSH_ORIGINAL_COMMAND): /.test(line)) continue;
    const trimmed = line.trim();
    if (trimmed) kept.push(trimmed);
  }
  const joined = kept.join(' / ');
  return joined.length > MESSAGE_CHARS ? `${joined.slice(0, MESSAGE_CHARS)}…` : joined;
}

/** How to run a program. */
export interface ToolOptions {
  /** Environment (default: vouch's own, which carries credentials and passwords the policy must not). */
  env?: NodeJS.ProcessEnv;
  /** Bytes fed to stdin (a password), or `pipe` to write stdin yourself; default: none (end-of-file). */
  stdin?: string | Buffer | 'pipe';
  cwd?: string;
}

/** A running program. */
export interface ToolRun {
  child: ChildProcess;
  /** Settles once the program has exited and its output is closed; rejects with ToolFailedError. */
  done: Promise<void>;
  /** stderr so far, explained (see `explainStderr`). */
  stderr(): string;
  /** Ends the program (SIGKILL: it holds nothing vouch needs). */
  kill(): void;
}

/** Starts `tool` with `args`. Throws ToolMissingError when it is not installed. */
export function startTool(tool: ToolName, args: readonly string[], options: ToolOptions = {}): ToolRun {
  const file = toolPath(tool);
  const child = spawn(file, args, {
    env: options.env ?? process.env,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    if (stderr.length < STDERR_KEEP) stderr += text;
  });
  if (child.stdin) {
    child.stdin.on('error', () => {}); // EPIPE when the program exits before reading everything
    if (options.stdin !== 'pipe' && options.stdin !== undefined) child.stdin.end(options.stdin);
  }
  let killedByUs = false;
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new ToolFailedError(tool, null, error.message, { cause: error })));
    child.once('close', (code, signal) => {
      if (code === 0 || (signal !== null && killedByUs)) resolve();
      else
        reject(
          new ToolFailedError(tool, code, explainStderr(stderr) || (signal ? `killed by ${signal}` : '')),
        );
    });
  });
  done.catch(() => {}); // callers that stop early may never look
  return {
    child,
    done,
    stderr: () => explainStderr(stderr),
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killedByUs = true;
      child.kill('SIGKILL');
    },
  };
}

/** Output over this size is refused by `runTool` (listings are small; bulk data is streamed). */
const MAX_CAPTURED = 256 * 1024 * 1024;

/** Runs `tool` to its end and returns its stdout; ToolFailedError when it fails. */
export async function runTool(
  tool: ToolName,
  args: readonly string[],
  options: ToolOptions = {},
): Promise<Buffer> {
  const run = startTool(tool, args, options);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of run.child.stdout! as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_CAPTURED)
        throw new ToolFailedError(tool, null, `printed more than ${MAX_CAPTURED} bytes`);
      chunks.push(chunk);
    }
    await run.done;
  } finally {
    run.kill();
  }
  return Buffer.concat(chunks);
}

/**
 * The stdout of `tool` as a stream that ends when the program succeeded and errors with
 * ToolFailedError (after delivering everything it wrote) when it failed. Destroying it kills the
 * program.
 */
export function toolOutput(tool: ToolName, args: readonly string[], options: ToolOptions = {}): Readable {
  const run = startTool(tool, args, options);
  async function* output(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of run.child.stdout! as AsyncIterable<Buffer>) yield chunk;
      await run.done;
    } finally {
      run.kill();
    }
  }
  return Readable.from(output(), { objectMode: false, highWaterMark: 256 * 1024 });
}
