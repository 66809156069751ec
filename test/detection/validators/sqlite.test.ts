import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteValidator } from '../../../agent/detection/validators/sqlite.js';
import { findMachineFiles } from '../../helpers/machine-files.js';
import { applyRansomware } from '../../helpers/ransomware-modes.js';
import {
  chunkingDisagreements,
  DAMAGE_CASES,
  damagedCopy,
  damageResults,
  describeResult,
  intactProblems,
  missedTruncations,
  truncationPoints,
  validate,
  type LoadedFile,
} from '../../helpers/validator-harness.js';

type Fixture = LoadedFile;

let dir: string;
const fixtures: Fixture[] = [];

/** CSV of the machine's installed packages, from dpkg's status file. */
function packagesCsv(): string {
  const quote = (value: string): string => `"${value.replaceAll('"', '""')}"`;
  const rows = readFileSync('/var/lib/dpkg/status', 'utf8')
    .split('\n\n')
    .map((stanza) => {
      const field = (name: string): string => stanza.match(new RegExp(`^${name}: (.*)$`, 'm'))?.[1] ?? '';
      const description = stanza.slice(stanza.indexOf('Description:') + 13);
      return [field('Package'), field('Version'), field('Installed-Size'), field('Maintainer'), description]
        .map(quote)
        .join(',');
    });
  return `package,version,size,maintainer,description\n${rows.join('\n')}\n`;
}

/** Builds a database with the sqlite3 CLI from real data: packages, file listings and file contents as blobs. */
function buildDatabase(name: string, pragmas: string, extra = ''): void {
  const file = path.join(dir, `${name}.db`);
  const script = `${pragmas}
.import --csv ${path.join(dir, 'packages.csv')} packages
CREATE INDEX packages_by_maintainer ON packages(maintainer, package);
CREATE TABLE files(path TEXT PRIMARY KEY, size INTEGER, mode INTEGER, mtime INTEGER) WITHOUT ROWID;
INSERT INTO files SELECT name, length(data), mode, mtime FROM fsdir('/usr/share/doc') WHERE data IS NOT NULL LIMIT 3000;
CREATE TABLE blobs(id INTEGER PRIMARY KEY, name TEXT, data BLOB);
INSERT INTO blobs(name, data) SELECT name, data FROM fsdir('/usr/share/common-licenses') WHERE data IS NOT NULL;
INSERT INTO blobs(name, data) SELECT name, data FROM fsdir('/usr/share/doc/git') WHERE data IS NOT NULL LIMIT 40;
${extra}
`;
  execFileSync('sqlite3', [file], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
  fixtures.push({ path: name, bytes: readFileSync(file) });
}

const DELETES = `DELETE FROM packages WHERE rowid % 3 = 0;
DELETE FROM blobs WHERE id % 2 = 0;
UPDATE packages SET description = substr(description, 1, 40) WHERE rowid % 5 = 1;
UPDATE files SET path = path || '.renamed-with-a-longer-name' WHERE size % 7 = 0;`;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-sqlite-validator-'));
  writeFileSync(path.join(dir, 'packages.csv'), packagesCsv());
  for (const size of [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]) {
    buildDatabase(`page-${size}`, `PRAGMA page_size=${size};`);
    buildDatabase(`page-${size}-deletes`, `PRAGMA page_size=${size};`, DELETES);
  }
  buildDatabase('auto-vacuum-full', 'PRAGMA page_size=1024; PRAGMA auto_vacuum=FULL;', DELETES);
  buildDatabase('auto-vacuum-incremental', 'PRAGMA page_size=4096; PRAGMA auto_vacuum=INCREMENTAL;', DELETES);
  buildDatabase(
    'auto-vacuum-incremental-512',
    'PRAGMA page_size=512; PRAGMA auto_vacuum=INCREMENTAL;',
    `${DELETES}\nPRAGMA incremental_vacuum(10);`,
  );
  buildDatabase('vacuumed', 'PRAGMA page_size=4096;', `${DELETES}\nVACUUM;`);
  buildDatabase('wal', 'PRAGMA page_size=4096; PRAGMA journal_mode=WAL;', DELETES);
  buildDatabase('secure-delete', 'PRAGMA page_size=2048; PRAGMA secure_delete=ON;', DELETES);
  buildDatabase('reserved-bytes', '.filectrl reserve_bytes 32\nPRAGMA page_size=4096;', DELETES);
  buildDatabase('utf16', "PRAGMA encoding='UTF-16le'; PRAGMA page_size=4096;", DELETES);
  const empty = path.join(dir, 'empty.db');
  execFileSync('sqlite3', [empty, 'PRAGMA user_version=7;']);
  fixtures.push({ path: 'empty', bytes: readFileSync(empty) });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite validator', () => {
  it('has at least 20 real databases to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it('judges every intact database valid, every page classified', () => {
    expect(intactProblems(sqliteValidator, fixtures)).toEqual([]);
  });

  it('gives the same verdict for 1-byte, random and whole-file chunks', () => {
    const files = fixtures.filter((f) =>
      ['page-512-deletes', 'auto-vacuum-full', 'page-4096-deletes'].includes(f.path),
    );
    expect(chunkingDisagreements(sqliteValidator, files)).toEqual([]);
    expect(
      chunkingDisagreements(
        sqliteValidator,
        files.map((file) => damagedCopy(file, 'intermittent-64-192', 100)),
        [1],
      ),
    ).toEqual([]);
  });

  it.each([
    ...DAMAGE_CASES,
    ['intermittent-16-16', 100],
    ['intermittent-64-192', 100],
    ['chunks-3x10', 100],
  ] as const)('judges every database damaged by %s (first %i bytes kept) invalid', (mode, keepHead) => {
    // A one-page database is all header and unallocated space (which may hold anything): with the
    // header kept, 64 on / 192 off only lands in that space. Every larger database must break.
    const result = damageResults(sqliteValidator, fixtures, mode, keepHead);
    console.info(describeResult('sqlite', result));
    expect(result.missed.filter((path) => path !== 'empty')).toEqual([]);
  });

  it('judges truncated databases invalid, also when cut at a page boundary', () => {
    const cuts = (bytes: Buffer): number[] => {
      const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
      return [
        ...truncationPoints(bytes.length),
        99,
        ...(bytes.length > pageSize ? [bytes.length - pageSize] : []),
      ];
    };
    expect(missedTruncations(sqliteValidator, fixtures, cuts)).toEqual([]);
  });

  it('finds one page of random bytes among intact ones', () => {
    // Without deletes: a free page may hold anything, random bytes included.
    const { bytes } = fixtures.find((f) => f.path === 'page-4096')!;
    for (const page of [2, Math.floor(bytes.length / 4096 / 2), bytes.length / 4096 - 1]) {
      const damaged = Buffer.from(bytes);
      applyRansomware(Buffer.alloc(4096), 'whole', `page-${page}`).copy(damaged, page * 4096);
      const verdict = validate(sqliteValidator, damaged);
      expect(verdict.status, `page ${page + 1}`).toBe('invalid');
    }
  });

  it('names a damaged b-tree page', () => {
    const { bytes } = fixtures.find((f) => f.path === 'page-1024')!;
    const damaged = Buffer.from(bytes);
    damaged.writeUInt16BE(1023, 1024 + 3); // page 2: far more cells than fit
    expect(validate(sqliteValidator, damaged).detail).toMatch(/^page 2 is a damaged b-tree page/);
  });

  it('does not claim other formats', () => {
    expect(sqliteValidator.matches(readFileSync('/usr/share/common-licenses/GPL-3'))).toBe(false);
    const gdbm = findMachineFiles({
      name: (name) => name === 'index.db',
      roots: ['/var/cache/man'],
      limit: 1,
    });
    for (const file of gdbm) expect(sqliteValidator.matches(readFileSync(file.path))).toBe(false);
  });
});
