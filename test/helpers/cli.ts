/** Runs the real CLI (TypeScript source through tsx) as a child process. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));
/** What running the CLI from source reads: the code, its packages, and the files it loads at run time. */
const RUNTIME = ['agent', 'node_modules', 'package.json', 'tsconfig.json', 'restore-drills', 'policies'];

let readableCopy: string | undefined;

/**
 * The CLI's entry point in a copy of the checkout that every user can read. Where the checkout
 * lives is the host's business (a clone inside a 0700 directory is common); a test that runs the
 * CLI as another user gives that user its own copy instead. Hard links where the file system
 * allows (no bytes copied), a real copy otherwise; removed when the test process exits.
 */
function readableCheckout(): string {
  if (!readableCopy) {
    const root = mkdtempSync(path.join(tmpdir(), 'vouch-checkout-'));
    chmodSync(root, 0o755);
    for (const name of RUNTIME) {
      const from = path.join(CHECKOUT, name);
      try {
        execFileSync('cp', ['-al', from, root], { stdio: 'ignore' });
      } catch {
        execFileSync('cp', ['-a', from, root], { stdio: 'ignore' });
      }
    }
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    readableCopy = root;
  }
  return readableCopy;
}

/** `node` arguments that run the CLI's source from `root` (tsx resolved there too, not from the working directory). */
function cliCommand(root: string): string[] {
  const loader = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;
  return [process.execPath, '--import', loader, path.join(root, 'agent/cli/main.ts')];
}

/** What a CLI run printed and returned. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `vouch ARGS` with extra environment; bounded by `timeoutMs`. `asUid` runs it as that user
 * (the tests run as root), from a copy of the checkout that user can read.
 */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
  asUid?: number,
): Promise<CliResult> {
  const root = asUid === undefined ? CHECKOUT : readableCheckout();
  const command = [...cliCommand(root), ...args];
  const [program, ...rest] =
    asUid === undefined
      ? command
      : ['setpriv', `--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', '--', ...command];
  return new Promise((resolve, reject) => {
    const child = spawn(program!, rest, {
      env: { ...process.env, ...env },
      // The other user may not be able to enter the test's working directory either.
      ...(asUid === undefined ? {} : { cwd: root }),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `vouch ARGS` and returns the process (for tests that signal it); output is collected. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; result: Promise<CliResult> } {
  const [node, ...rest] = cliCommand(CHECKOUT);
  const child = spawn(node!, [...rest, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, result };
}
