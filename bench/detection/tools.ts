/**
 * Running the real command-line tools the detection corpus is made with (xz, zstd, bzip2, tar,
 * sqlite3, pdfseparate, jpegtran, gpg, age, openssl, brotli…), with errors that name the command.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';

/** A tool that could not be run or exited with an error. */
export class ToolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToolError';
  }
}

/** How to run a tool. */
export interface ToolOptions {
  /** Bytes written to the tool's standard input. */
  input?: Uint8Array | string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Largest output a tool may write to standard output (corpus files are capped well below it). */
const MAX_OUTPUT = 256 * 2 ** 20;

/** Runs `command args…` to completion and returns its standard output; throws ToolError when it fails. */
export function runTool(command: string, args: readonly string[], options: ToolOptions = {}): Buffer {
  const result = spawnSync(command, args, {
    input: options.input,
    cwd: options.cwd,
    env: options.env ?? process.env,
    maxBuffer: MAX_OUTPUT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const line = [command, ...args].join(' ');
  if (result.error) throw new ToolError(`${line}: ${result.error.message}`, { cause: result.error });
  if (result.status !== 0) {
    const stderr = result.stderr.toString('utf8').trim().split('\n').slice(-3).join(' | ');
    throw new ToolError(
      `${line}: exited with ${result.status ?? result.signal}${stderr ? `: ${stderr}` : ''}`,
    );
  }
  return result.stdout;
}

/** Hex SHA-256 of bytes or a string: content identity and deterministic ordering. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `items` in a deterministic but well-mixed order: by the hash of `salt` and each item's key. */
export function mixedOrder<T>(items: readonly T[], key: (item: T) => string, salt: string): T[] {
  return items
    .map((item) => ({ item, rank: sha256(`${salt}\0${key(item)}`) }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0))
    .map(({ item }) => item);
}
