/**
 * SQLite check: a restored database must pass `PRAGMA integrity_check` (or `quick_check`) and the
 * policy's SQL assertions. The sqlite3 command-line tool runs in the sandbox, read-only, one
 * process per statement, with results read as JSON (so values holding separators cannot confuse
 * the first-column-of-first-row rule).
 */
import { findExecutable } from '../sandbox/host-tools.js';
import { processFailure } from './process-detail.js';
import { restoredFile } from './restored-file.js';
import { evaluateAssertion } from './sql-assertion.js';
import { assertionOutcome, reportFrom, type Verifier } from './verifier.js';
import { type AssertionOutcome, type VerifierFailure } from '../../model/drill.js';

const SQLITE_HINT = 'the sqlite3 command-line tool is not installed (Debian/Ubuntu: apt-get install sqlite3)';

/** The first column of the first row of `sqlite3 -json` output, as text; null for NULL or no rows. */
export function firstValueOfJson(output: string): string | null {
  const text = output.trim();
  if (text === '') return null;
  const rows = JSON.parse(text) as Record<string, unknown>[];
  const first = rows[0];
  if (!first) return null;
  const value = Object.values(first)[0];
  return value === null || value === undefined
    ? null
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);
}

export const sqliteVerifier: Verifier = {
  name: 'sqlite',
  phase: 'app',
  sandboxed: true,
  enabled: (drill) => drill.sqlite.length > 0,
  async run({ drill, sandbox, restore, snapshot, signal }) {
    const failures: VerifierFailure[] = [];
    const assertions: AssertionOutcome[] = [];
    if (!findExecutable('sqlite3'))
      return reportFrom([{ detail: SQLITE_HINT }], '', 'SQLite checks could not run');
    let checks = 0;
    for (const check of drill.sqlite) {
      const file = restoredFile(restore, check.path);
      if (!file.ok) {
        failures.push({ path: check.path, detail: file.reason });
        continue;
      }
      const database = `${sandbox!.paths.restore}/${file.path}`;
      const run = (sql: string) =>
        sandbox!.run({
          argv: ['sqlite3', '-bail', '-batch', '-readonly', '-json', database, sql],
          timeoutSeconds: check.timeoutSeconds,
          ...(signal ? { signal } : {}),
        });

      const pragma = check.integrity === 'quick' ? 'PRAGMA quick_check' : 'PRAGMA integrity_check';
      const integrity = await run(pragma);
      signal?.throwIfAborted();
      const integrityFailure = processFailure(integrity, 0, check.timeoutSeconds);
      let verdict: string | null = null;
      if (!integrityFailure) {
        try {
          const rows = JSON.parse(integrity.stdout.trim() || '[]') as Record<string, unknown>[];
          const messages = rows.map((row) => String(Object.values(row)[0]));
          verdict = messages.length === 1 && messages[0] === 'ok' ? null : messages.slice(0, 5).join('; ');
        } catch {
          verdict = `unreadable ${pragma} output`;
        }
      }
      checks++;
      if (integrityFailure || verdict) {
        failures.push({ path: file.path, detail: `${pragma}: ${integrityFailure ?? verdict}` });
        continue; // assertions on a broken database say nothing more
      }
      for (const assertion of check.assertions) {
        signal?.throwIfAborted();
        checks++;
        const result = await run(assertion.sql);
        signal?.throwIfAborted();
        const failure = processFailure(result, 0, check.timeoutSeconds);
        if (failure) {
          failures.push({ path: `${file.path}: ${assertion.name}`, detail: `query failed: ${failure}` });
          assertions.push(assertionOutcome(file.path, assertion, null, false, `query failed: ${failure}`));
          continue;
        }
        let value: string | null;
        try {
          value = firstValueOfJson(result.stdout);
        } catch {
          failures.push({ path: `${file.path}: ${assertion.name}`, detail: 'query output is not JSON' });
          assertions.push(assertionOutcome(file.path, assertion, null, false, 'query output is not JSON'));
          continue;
        }
        const judged = evaluateAssertion(assertion, value, snapshot.time);
        if (!judged.ok) failures.push({ path: `${file.path}: ${assertion.name}`, detail: judged.detail });
        assertions.push(
          assertionOutcome(file.path, assertion, value, judged.ok, judged.ok ? undefined : judged.detail),
        );
      }
    }
    const report = reportFrom(
      failures,
      `${checks} SQLite checks passed`,
      `${failures.length} SQLite check${failures.length === 1 ? '' : 's'} failed`,
    );
    return assertions.length ? { ...report, assertions } : report;
  },
};
