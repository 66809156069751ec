/**
 * PostgreSQL check: restores a `pg_dump` from the restored snapshot into a throwaway server in the
 * sandbox and runs the policy's SQL assertions against it (`select count(*) from orders` ≥ N,
 * newest order within the RPO…). This is what a recovery lead needs to know: not that the dump
 * file exists, but that it loads and holds the business data.
 *
 * Custom-format dumps (`PGDMP…`; tar format too) go through `pg_restore --no-owner
 * --no-privileges --exit-on-error`; plain SQL dumps through psql in restricted mode
 * (pg-dump-filter.ts), with ON_ERROR_STOP, in one transaction. Both run as a non-superuser that
 * owns the database, so a hostile dump cannot reach the server's shell (`COPY … TO PROGRAM`,
 * `lo_export` need a superuser), and whatever it does is confined to the sandbox. Assertions run
 * as that same role.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DrillPolicy } from '../../config/resolve-policy.js';
import { describeError } from '../../errors.js';
import { createDumpFilter, type DumpFilterStats } from './pg-dump-filter.js';
import {
  findPostgres,
  RESTORE_ROLE,
  ServerStartError,
  startThrowawayServer,
  type PostgresBinaries,
  type ThrowawayServer,
} from './postgres-server.js';
import { processFailure } from './process-detail.js';
import { restoredFile } from './restored-file.js';
import { evaluateAssertion } from './sql-assertion.js';
import { assertionOutcome, reportFrom, type Verifier, type VerifierContext } from './verifier.js';
import { type AssertionOutcome, type VerifierFailure } from '../../model/drill.js';

type PostgresCheck = DrillPolicy['postgres'][number];

const POSTGRES_HINT =
  'PostgreSQL server programs (initdb, postgres, psql, pg_restore) were not found under /usr/lib/postgresql (Debian/Ubuntu: apt-get install postgresql)';
/** Marks SQL NULL in psql output (a value cannot contain these control characters by accident). */
const NULL_MARK = '\u001dNULL\u001d';
const FIELD = '\u001f';
const RECORD = '\u001e';

/** The dump's format: custom/tar (pg_restore) or plain SQL (psql). */
async function dumpFormat(file: string, declared: PostgresCheck['format']): Promise<'archive' | 'plain'> {
  if (declared === 'custom') return 'archive';
  if (declared === 'plain') return 'plain';
  const handle = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'archive';
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'archive';
    return 'plain';
  } finally {
    await handle.close();
  }
}

/** The first field of the first record of `psql -A -t` output with our separators; null for NULL or no rows. */
export function firstValueOfPsql(output: string): string | null {
  if (output === '') return null;
  const record = output.split(RECORD)[0]!.replace(/\n$/, '');
  const value = record.split(FIELD)[0]!;
  return value === NULL_MARK ? null : value;
}

/** True when this psql knows `\restrict` (PostgreSQL 13.22, 14.19, 15.14, 16.10, 17.6 and later). */
async function psqlRestricts(server: ThrowawayServer, context: VerifierContext): Promise<boolean> {
  const probe = await server.client('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], {
    stdin: `\\restrict ${randomBytes(8).toString('hex')}\nselect 1;\n`,
    timeoutSeconds: 60,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  return probe.exitCode === 0;
}

async function restoreDump(
  server: ThrowawayServer,
  check: PostgresCheck,
  hostFile: string,
  sandboxFile: string,
  context: VerifierContext,
  timeoutSeconds: number,
): Promise<string | null> {
  const signal = context.signal ? { signal: context.signal } : {};
  const format = await dumpFormat(hostFile, check.format);
  if (format === 'archive') {
    const result = await server.client(
      'pg_restore',
      [
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        '--single-transaction',
        '--dbname',
        check.database,
        sandboxFile,
      ],
      { role: RESTORE_ROLE, database: check.database, timeoutSeconds, ...signal },
    );
    const failure = processFailure(result, 0, timeoutSeconds);
    return failure ? `pg_restore failed: ${failure}` : null;
  }
  const restricted = await psqlRestricts(server, context);
  const stats: DumpFilterStats = { droppedOwnership: 0, droppedPrivileges: 0, droppedFence: 0 };
  const handle = await open(hostFile, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  const dump = createReadStream('', { fd: handle, autoClose: true, highWaterMark: 1 << 20 });
  const filtered = dump.pipe(
    createDumpFilter(restricted ? `\\restrict ${randomBytes(16).toString('hex')}\n` : '', stats),
  );
  dump.on('error', (error) => filtered.destroy(error));
  const result = await server.client('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction'], {
    role: RESTORE_ROLE,
    database: check.database,
    stdin: filtered,
    timeoutSeconds,
    ...signal,
  });
  const failure = processFailure(result, 0, timeoutSeconds);
  return failure ? `psql failed while loading the dump: ${failure}` : null;
}

async function runCheck(
  check: PostgresCheck,
  binaries: PostgresBinaries,
  context: VerifierContext,
  index: number,
  failures: VerifierFailure[],
  assertions: AssertionOutcome[],
): Promise<number> {
  const sandbox = context.sandbox!;
  const signal = context.signal ? { signal: context.signal } : {};
  const file = restoredFile(context.restore, check.dump);
  if (!file.ok) {
    failures.push({ path: check.dump, detail: file.reason });
    return 0;
  }
  const deadline = Date.now() + check.timeoutSeconds * 1000;
  const left = () => Math.max(1, Math.round((deadline - Date.now()) / 1000));
  let server: ThrowawayServer;
  try {
    server = await startThrowawayServer(sandbox, binaries, {
      timeoutSeconds: check.timeoutSeconds,
      name: `pg${index}`,
      ...signal,
    });
  } catch (error) {
    failures.push({
      path: file.path,
      detail:
        error instanceof ServerStartError
          ? error.message
          : `cannot start PostgreSQL: ${describeError(error)}`,
    });
    return 0;
  }
  let checks = 0;
  try {
    const setup = await server.client('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], {
      stdin: `CREATE ROLE ${RESTORE_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;\nCREATE DATABASE ${check.database} OWNER ${RESTORE_ROLE};\n`,
      timeoutSeconds: left(),
      ...signal,
    });
    const setupFailure = processFailure(setup);
    if (setupFailure) {
      failures.push({ path: file.path, detail: `preparing the throwaway database failed: ${setupFailure}` });
      return 0;
    }
    const restoreFailure = await restoreDump(
      server,
      check,
      path.join(context.workspace.restoreDir, file.path),
      `${sandbox.paths.restore}/${file.path}`,
      context,
      left(),
    );
    context.signal?.throwIfAborted();
    checks++;
    if (restoreFailure) {
      failures.push({ path: file.path, detail: restoreFailure });
      return checks;
    }
    for (const assertion of check.assertions) {
      context.signal?.throwIfAborted();
      checks++;
      const result = await server.client(
        'psql',
        [
          '-X',
          '-q',
          '-A',
          '-t',
          '-v',
          'ON_ERROR_STOP=1',
          '-F',
          FIELD,
          '-R',
          RECORD,
          '-P',
          `null=${NULL_MARK}`,
          '-c',
          assertion.sql,
        ],
        { role: RESTORE_ROLE, database: check.database, timeoutSeconds: left(), ...signal },
      );
      context.signal?.throwIfAborted();
      const failure = processFailure(result, 0);
      const label = `${file.path}: ${assertion.name}`;
      if (failure) {
        failures.push({ path: label, detail: `query failed: ${failure}` });
        assertions.push(assertionOutcome(file.path, assertion, null, false, `query failed: ${failure}`));
        continue;
      }
      const value = firstValueOfPsql(result.stdout);
      const judged = evaluateAssertion(assertion, value, context.snapshot.time);
      if (!judged.ok) failures.push({ path: label, detail: judged.detail });
      assertions.push(
        assertionOutcome(file.path, assertion, value, judged.ok, judged.ok ? undefined : judged.detail),
      );
    }
  } finally {
    await server.stop();
  }
  return checks;
}

export const postgresVerifier: Verifier = {
  name: 'postgres',
  phase: 'app',
  sandboxed: true,
  enabled: (drill) => drill.postgres.length > 0,
  async run(context) {
    const binaries = findPostgres();
    if (!binaries) return reportFrom([{ detail: POSTGRES_HINT }], '', 'PostgreSQL checks could not run');
    const failures: VerifierFailure[] = [];
    const assertions: AssertionOutcome[] = [];
    let checks = 0;
    for (const [index, check] of context.drill.postgres.entries())
      checks += await runCheck(check, binaries, context, index, failures, assertions);
    const report = reportFrom(
      failures,
      `${context.drill.postgres.length} dump${context.drill.postgres.length === 1 ? '' : 's'} restored into PostgreSQL ${binaries.major}; ${checks} checks passed`,
      `${failures.length} PostgreSQL check${failures.length === 1 ? '' : 's'} failed`,
    );
    return assertions.length ? { ...report, assertions } : report;
  },
};
