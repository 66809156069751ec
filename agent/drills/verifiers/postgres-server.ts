/**
 * A throwaway PostgreSQL server inside a drill's sandbox: `initdb` into the scratch directory,
 * `postgres` listening only on a Unix socket there (no TCP at all), durability off (the data dies
 * with the drill). Clients are separate sandboxed processes reaching the same socket through the
 * shared box directory. The sandbox user is not root, which initdb insists on; stopping kills the
 * server's sandbox, and with it every backend.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processFailure } from './process-detail.js';
import type { Sandbox, SandboxProcess, SandboxRequest, SandboxResult } from '../sandbox/sandbox.js';

/** Where PostgreSQL's server programs live (Debian: /usr/lib/postgresql/N/bin). */
export interface PostgresBinaries {
  dir: string;
  major: number;
}

const PROGRAMS = ['initdb', 'postgres', 'psql', 'pg_restore'];
/** The administrative role initdb creates; the dump is restored by RESTORE_ROLE, a non-superuser. */
export const ADMIN_ROLE = 'vouch_admin';
export const RESTORE_ROLE = 'vouch_restore';
const READY = 'database system is ready to accept connections';
/** How long a fresh server may take to accept connections. */
const START_SECONDS = 120;

/** The newest PostgreSQL installation with every program a drill needs, or null. */
export function findPostgres(root = '/usr/lib/postgresql'): PostgresBinaries | null {
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return null;
  }
  const candidates = versions
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => b - a);
  for (const major of candidates) {
    const dir = path.join(root, String(major), 'bin');
    try {
      const present = new Set(readdirSync(dir));
      if (PROGRAMS.every((program) => present.has(program))) return { dir, major };
    } catch {
      // not a complete installation
    }
  }
  return null;
}

/** A running throwaway server. */
export interface ThrowawayServer {
  /** Runs a client program (psql, pg_restore, pg_dump) of this installation against the server. */
  client(
    program: 'psql' | 'pg_restore' | 'pg_dump',
    args: string[],
    options: Omit<SandboxRequest, 'argv' | 'env'> & { role?: string; database?: string },
  ): Promise<SandboxResult>;
  /** Kills the server. */
  stop(): Promise<void>;
}

/** Why the server could not start. */
export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

/** Starts a server in `sandbox`'s scratch directory; throws ServerStartError with initdb's or postgres's words. */
export async function startThrowawayServer(
  sandbox: Sandbox,
  binaries: PostgresBinaries,
  options: { timeoutSeconds: number; signal?: AbortSignal; name: string },
): Promise<ThrowawayServer> {
  const base = `${sandbox.paths.scratch}/${options.name}`;
  const data = `${base}/data`;
  // Socket paths are limited to ~107 bytes: unsandboxed, the scratch path may be longer.
  const socketDir = sandbox.kind === 'bwrap' ? base : await mkdtemp(path.join(tmpdir(), 'vouch-pg-'));
  const removeSocketDir = () =>
    socketDir === base ? Promise.resolve() : rm(socketDir, { recursive: true, force: true });
  const bin = (program: string) => `${binaries.dir}/${program}`;
  const signal = options.signal ? { signal: options.signal } : {};

  const initdb = await sandbox.run({
    argv: [
      bin('initdb'),
      '-D',
      data,
      '-U',
      ADMIN_ROLE,
      '--auth=trust',
      '--no-sync',
      '--encoding=UTF8',
      '--locale=C',
      '--no-instructions',
    ],
    timeoutSeconds: Math.min(options.timeoutSeconds, 300),
    ...signal,
  });
  const initFailure = processFailure(initdb);
  if (initFailure) {
    await removeSocketDir();
    throw new ServerStartError(`initdb failed: ${initFailure}`);
  }

  let log = '';
  let readyNow: () => void = () => {};
  const ready = new Promise<void>((resolve) => (readyNow = resolve));
  const server: SandboxProcess = sandbox.start({
    argv: [
      bin('postgres'),
      '-D',
      data,
      '-k',
      socketDir,
      '-c',
      'listen_addresses=',
      '-c',
      'unix_socket_permissions=0700',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'wal_level=minimal',
      '-c',
      'max_wal_senders=0',
      '-c',
      'max_connections=20',
      '-c',
      'logging_collector=off',
    ],
    timeoutSeconds: options.timeoutSeconds,
    ...signal,
    onOutput: (_stream, chunk) => {
      log = (log + chunk.toString('utf8')).slice(-20_000);
      if (log.includes(READY)) readyNow();
    },
  });
  const ended = server.done.then((result) => result);
  let timer: NodeJS.Timeout | undefined;
  const startLimit = new Promise<'slow'>(
    (resolve) =>
      (timer = setTimeout(() => resolve('slow'), Math.min(options.timeoutSeconds, START_SECONDS) * 1000)),
  );
  const outcome = await Promise.race([ready.then(() => null), ended, startLimit]);
  clearTimeout(timer);
  if (outcome === 'slow') {
    server.stop();
    await ended;
    await removeSocketDir();
    throw new ServerStartError(
      `postgres did not accept connections within ${Math.min(options.timeoutSeconds, START_SECONDS)} s`,
    );
  }
  if (outcome) {
    await removeSocketDir();
    const why = processFailure(outcome) ?? 'exited before accepting connections';
    throw new ServerStartError(
      `postgres did not start: ${why}${log ? ` (${log.trim().split('\n').slice(-2).join(' | ')})` : ''}`,
    );
  }

  return {
    client(program, args, request) {
      return sandbox.run({
        ...request,
        argv: [bin(program), ...args],
        env: {
          PGHOST: socketDir,
          PGPORT: '5432',
          PGUSER: request.role ?? ADMIN_ROLE,
          PGDATABASE: request.database ?? 'postgres',
          PGCONNECT_TIMEOUT: '30',
          PGAPPNAME: 'vouch-drill',
        },
      });
    },
    async stop() {
      server.stop();
      await ended;
      await removeSocketDir();
    },
  };
}
