/**
 * Writing results: one JSON document on stdout with --json, human text otherwise. Logs go to stderr.
 * Every human line goes through `terminalSafe`, so names from backups (entry names, object keys)
 * can never clear the screen or forge a line; JSON escapes them by itself.
 */
import { escapeUnprintable } from '../archives/safe-path.js';

/** `text` made safe for a terminal: unprintable characters (ESC, CR, LF, bidi overrides…) as `\uXXXX`. */
export function terminalSafe(text: string): string {
  return escapeUnprintable(text);
}

let quiet = false;

/** `--quiet`: human reports and progress are not printed (JSON, errors and exit codes are unchanged). */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** Whether `--quiet` is in force. */
export function isQuiet(): boolean {
  return quiet;
}

/** Prints one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints lines of human-readable text on stdout, each made terminal-safe. */
export function printLines(lines: readonly string[]): void {
  if (quiet) return;
  process.stdout.write(lines.length ? `${lines.map(terminalSafe).join('\n')}\n` : '');
}

/** Prints lines of human-readable text on stderr, each made terminal-safe. */
export function printErrorLines(lines: readonly string[]): void {
  process.stderr.write(lines.length ? `${lines.map(terminalSafe).join('\n')}\n` : '');
}

/** Pads cells into aligned columns. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** Writes to a stream as results arrive, waiting while its buffer is full (flat memory for long outputs). */
export function createStreamWriter(stream: NodeJS.WritableStream): { write(text: string): Promise<void> } {
  return {
    write(text) {
      if (stream.write(text)) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      });
    },
  };
}

/**
 * A reader that stopped reading (`vouch --help | head -1`, a closed pager) is not an error:
 * exit quietly with the code so far instead of a stack trace.
 */
export function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw error;
    });
  }
}
