/** How a sandboxed process's ending reads in a failure: one line, with the end of its stderr. */
import { constants } from 'node:os';
import type { SandboxResult } from '../sandbox/sandbox.js';

const SHOWN_STDERR_CHARS = 400;

/** The last lines of stderr, on one line, shortened. */
export function stderrTail(result: Pick<SandboxResult, 'stderr'>): string {
  const text = result.stderr.trim().split('\n').slice(-4).join(' | ');
  return text.length > SHOWN_STDERR_CHARS ? `…${text.slice(-SHOWN_STDERR_CHARS)}` : text;
}

/** ` (killed by SIGKILL …)` for a shell's 128+N exit status, else ''. */
function signalled(exitCode: number | null): string {
  if (exitCode === null || exitCode <= 128 || exitCode > 128 + 64) return '';
  const name = Object.entries(constants.signals).find(([, number]) => number === exitCode - 128)?.[0];
  if (!name) return '';
  const limit =
    name === 'SIGKILL'
      ? ': a CPU, memory or process limit, or the OOM killer'
      : name === 'SIGXFSZ'
        ? ': the file size limit'
        : name === 'SIGXCPU'
          ? ': the CPU time limit'
          : '';
  return ` (a child was killed by ${name}${limit})`;
}

/** Why a process did not succeed, or null when it exited with `expectExit`. */
export function processFailure(
  result: SandboxResult,
  expectExit = 0,
  timeoutSeconds?: number,
): string | null {
  const tail = stderrTail(result);
  const withTail = (text: string) => (tail ? `${text}: ${tail}` : text);
  if (result.aborted) return 'stopped: the drill was interrupted';
  if (result.timedOut)
    return withTail(
      `killed with its children after ${timeoutSeconds ?? Math.round(result.seconds)} s (timeout)`,
    );
  if (result.signal)
    return withTail(`killed by ${result.signal}${result.signal === 'SIGXCPU' ? ' (CPU time limit)' : ''}`);
  if (result.exitCode === 127 && /not found|No such file/i.test(result.stderr))
    return withTail('command not found (exit 127)');
  if (result.exitCode !== expectExit)
    return withTail(`exited with ${result.exitCode}${signalled(result.exitCode)}, expected ${expectExit}`);
  return null;
}
