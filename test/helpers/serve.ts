/**
 * Starts `vouch serve` as a child process and talks to it: with the fake drill runner by default
 * (scheduler and API tests), or the real one (`realDrills`: bubblewrap restores).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./serve-entry.ts', import.meta.url));
const REAL_ENTRY = fileURLToPath(new URL('../../agent/cli/main.ts', import.meta.url));

/** A running `vouch serve`. */
export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
  /** Waits for a log line matching `predicate` (bounded). */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends SIGTERM (if still running) and waits for the exit. */
  stop(): Promise<number | null>;
}

/** Runs `vouch GLOBAL... serve ARGS...`; resolves once it listens, rejects if it exits first. */
export function startServe(
  globalArgs: string[],
  serveArgs: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
  options: { realDrills?: boolean } = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      options.realDrills ? REAL_ENTRY : ENTRY,
      ...globalArgs,
      'serve',
      '--jitter',
      '0',
      ...serveArgs,
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
  void exited.then(() => clearTimeout(killer));

  const waitForLog = (predicate: (line: Record<string, unknown>) => boolean, waitMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (found) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(
        () => (
          cleanup(),
          reject(
            new Error(
              `log line not seen in ${waitMs} ms; stderr: ${stderr}\nlogs: ${JSON.stringify(logs.slice(-5))}`,
            ),
          )
        ),
        waitMs,
      );
      const onExit = () => (cleanup(), reject(new Error(`vouch serve exited; stderr: ${stderr}`)));
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', onExit);
      };
      waiters.add(check);
      child.once('exit', onExit);
      check();
    });

  return waitForLog(
    (line) => typeof line.url === 'string' && String(line.msg).includes('listening'),
    timeoutMs,
  ).then((line) => ({
    url: String(line.url).replace('0.0.0.0', '127.0.0.1'),
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  }));
}

/** Fetches JSON from the daemon (bounded). */
export async function getJson<T = Record<string, unknown>>(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Triggers a job over the API and waits until it ends; returns the finished job record. */
export async function runJob(
  base: string,
  set: string,
  task: 'scan' | 'drill',
  headers: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<Record<string, unknown>> {
  const started = await getJson<{ job: { id: string } }>(`${base}/api/sets/${set}/${task}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
  });
  if (started.status !== 202)
    throw new Error(`POST ${task} answered ${started.status}: ${JSON.stringify(started.body)}`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { body } = await getJson<Record<string, unknown>>(`${base}/api/jobs/${started.body.job.id}`, {
      headers,
    });
    if (!['queued', 'running'].includes(String(body.status))) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${started.body.job.id} did not finish in ${timeoutMs} ms`);
}

/** Parses Prometheus text exposition into `name{labels}` → value (labels in exposition order). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (match) out.set(match[1]!, Number(match[2]));
  }
  return out;
}
