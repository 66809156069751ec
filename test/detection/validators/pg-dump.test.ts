/**
 * pg_dump's custom format, made by the real pg_dump from a throwaway server (as the `postgres`
 * user when the tests run as root, since the server refuses to run as root): intact dumps —
 * compressed and not — validate; a dump whose first 4 KiB were encrypted, or hit in its data
 * blocks, is encrypted; one cut short by a failed job is corrupted.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgres } from '../../../agent/drills/verifiers/postgres-server.js';
import { pgDumpValidator } from '../../../agent/detection/validators/pg-dump.js';
import { classifyBytes } from '../../helpers/detect.js';
import { applyRansomware } from '../../helpers/ransomware-modes.js';
import { validate } from '../../helpers/validator-harness.js';

let dir: string;
const dumps: Record<string, Buffer> = {};

/** Runs a shell script as the postgres user when root (PostgreSQL refuses root), else as ourselves. */
function asServerUser(script: string): void {
  if (process.getuid?.() === 0)
    execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', script], { stdio: 'pipe' });
  else execFileSync('sh', ['-c', script], { stdio: 'pipe' });
}

beforeAll(() => {
  const binaries = findPostgres();
  if (!binaries)
    throw new Error('test set-up: no PostgreSQL installation (scripts/system-deps.sh installs it)');
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-pgdump-'));
  chmodSync(dir, 0o777);
  const bin = (program: string) => path.join(binaries.dir, program);
  asServerUser(
    [
      `${bin('initdb')} -D ${dir}/data -U vouch --auth=trust --no-sync >/dev/null`,
      `${bin('pg_ctl')} -D ${dir}/data -o "-k ${dir} -c listen_addresses=" -w start >/dev/null`,
      `${bin('psql')} -h ${dir} -U vouch -d postgres -q -c "create table orders(id int primary key, customer text, total numeric); insert into orders select g, md5(g::text), g * 1.5 from generate_series(1, 20000) g; create table notes(body text); insert into notes values (repeat('invoice ', 2000));"`,
      `${bin('pg_dump')} -h ${dir} -U vouch -Fc postgres > ${dir}/compressed.dump`,
      `${bin('pg_dump')} -h ${dir} -U vouch -Fc -Z0 postgres > ${dir}/plain.dump`,
      `${bin('pg_ctl')} -D ${dir}/data -m immediate stop >/dev/null`,
    ].join(' && '),
  );
  for (const name of ['compressed', 'plain']) dumps[name] = readFileSync(path.join(dir, `${name}.dump`));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pg_dump custom format', () => {
  it('validates real dumps, compressed and not, in any chunking', () => {
    for (const [name, dump] of Object.entries(dumps)) {
      expect(validate(pgDumpValidator, dump), name).toMatchObject({
        status: 'valid',
        checkedBytes: dump.length,
      });
      expect(validate(pgDumpValidator, dump, 7), name).toMatchObject({ status: 'valid' });
    }
  });

  it('calls a dump whose first 4 KiB, or whose data blocks, were encrypted encrypted, and one cut short corrupted', () => {
    for (const [name, dump] of Object.entries(dumps)) {
      for (const mode of ['first-4k', 'header-kept', 'intermittent-64-192', 'chunks-3x10'] as const) {
        expect(
          classifyBytes('backups/shop.dump', applyRansomware(dump, mode, name)),
          `${name} ${mode}`,
        ).toMatchObject({ encrypted: true, strength: 'strong' });
      }
      const cut = classifyBytes('backups/shop.dump', dump.subarray(0, Math.floor(dump.length * 0.7)));
      expect(cut, name).toMatchObject({ encrypted: false, judgement: 'damaged' });
      expect(cut.reasons).toEqual(expect.arrayContaining(['structure-invalid', 'truncated']));
    }
  });
});
