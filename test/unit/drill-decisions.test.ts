import { describe, expect, it } from 'vitest';
import type { SqlAssertion } from '../../agent/config/resolve-policy.js';
import { pickSnapshot, type PickInput } from '../../agent/drills/pick-snapshot.js';
import { drillId, projectFullRestore } from '../../agent/drills/run-drill.js';
import { sampleSelector } from '../../agent/drills/sample.js';
import {
  createDumpFilter,
  filterDumpLine,
  type DumpFilterStats,
} from '../../agent/drills/verifiers/pg-dump-filter.js';
import { firstValueOfPsql } from '../../agent/drills/verifiers/postgres.js';
import { evaluateAssertion, parseDatabaseTime } from '../../agent/drills/verifiers/sql-assertion.js';
import { firstValueOfJson } from '../../agent/drills/verifiers/sqlite.js';
import type { Snapshot } from '../../agent/sources/snapshot-discovery.js';
import type { Verdict } from '../../agent/model/verdict.js';

const snapshot = (id: string, time: string): Snapshot => ({
  id,
  time: new Date(time),
  timeSource: 'name',
  layout: 'archive',
  object: { key: `${id}.tar`, size: 0, mtime: new Date(time), kind: 'file' },
  format: 'tar',
  sums: [],
});
const SNAPSHOTS = [
  snapshot('s1', '2025-10-01T00:00:00Z'),
  snapshot('s2', '2025-10-10T00:00:00Z'),
  snapshot('s3', '2025-10-19T00:00:00Z'),
];
const VERDICTS: Record<string, Verdict> = { s1: 'clean', s2: 'clean', s3: 'compromised' };
const pick = (input: Partial<PickInput>) =>
  pickSnapshot({
    snapshots: SNAPSHOTS,
    verdictOf: (id) => VERDICTS[id],
    request: 'latest',
    now: new Date('2025-10-20T00:00:00Z'),
    random: () => 0,
    ...input,
  });

describe('picking the snapshot to drill', () => {
  it('latest is the newest in the store, whatever its verdict', () => {
    expect(pick({}).snapshot?.id).toBe('s3');
  });

  it('last-clean is the newest clean one; unscanned snapshots are not clean', () => {
    expect(pick({ request: 'last-clean' })).toMatchObject({ snapshot: { id: 's2' }, pick: 'last-clean' });
    expect(pick({ request: 'last-clean', verdictOf: () => undefined })).toMatchObject({
      snapshot: null,
      reason: expect.stringMatching(/none of 3 snapshots has a clean verdict/),
    });
  });

  it('last-clean walks back past a clean snapshot whose latest drill failed, and retries the oldest failure when all failed', () => {
    const failedS2 = [{ snapshot: 's2', outcome: 'failed' as const, finishedAt: '2025-10-19T05:00:00Z' }];
    expect(pick({ request: 'last-clean', drills: failedS2 })).toMatchObject({
      snapshot: { id: 's1' },
      reason: expect.stringMatching(/walked back past s2: latest drill failed/),
    });
    // A later pass of s2 promotes it again.
    expect(
      pick({
        request: 'last-clean',
        drills: [...failedS2, { snapshot: 's2', outcome: 'passed', finishedAt: '2025-10-19T06:00:00Z' }],
      }).snapshot?.id,
    ).toBe('s2');
    // An aborted drill says nothing about the snapshot.
    expect(
      pick({
        request: 'last-clean',
        drills: [{ snapshot: 's2', outcome: 'aborted', finishedAt: '2025-10-19T06:00:00Z' }],
      }).snapshot?.id,
    ).toBe('s2');
    const bothFailed = [
      ...failedS2,
      { snapshot: 's1', outcome: 'failed' as const, finishedAt: '2025-10-19T07:00:00Z' },
    ];
    expect(pick({ request: 'last-clean', drills: bothFailed })).toMatchObject({
      snapshot: { id: 's2' },
      reason: expect.stringMatching(/every clean snapshot's latest drill failed/),
    });
  });

  it('random draws uniformly within the window, and says when the window is empty', () => {
    expect(pick({ request: 'random', random: () => 0.999 }).snapshot?.id).toBe('s3');
    expect(pick({ request: 'random', random: () => 0 }).snapshot?.id).toBe('s1');
    expect(pick({ request: 'random', windowSeconds: 15 * 86_400, random: () => 0 }).snapshot?.id).toBe('s2');
    expect(pick({ request: 'random', windowSeconds: 3600 })).toMatchObject({
      snapshot: null,
      reason: 'no snapshot of the last 1h',
    });
  });

  it('an explicit id is taken as asked, or named when unknown', () => {
    expect(pick({ request: 's1' })).toMatchObject({ snapshot: { id: 's1' }, pick: 'explicit' });
    expect(pick({ request: 'nope' })).toMatchObject({
      snapshot: null,
      reason: 'no snapshot has the id nope (newest: s3)',
    });
  });
});

describe('sampling', () => {
  it('selects about the asked share, differently per drill, always keeping pinned paths', () => {
    const paths = Array.from({ length: 10_000 }, (_, i) => `f/${i}`);
    const a = paths.filter(sampleSelector('drill-a', 0.1, new Set(['f/1'])));
    const b = paths.filter(sampleSelector('drill-b', 0.1));
    expect(a.length).toBeGreaterThan(900);
    expect(a.length).toBeLessThan(1100);
    expect(a).toContain('f/1');
    expect(a).not.toEqual(b);
    expect(paths.filter(sampleSelector('drill-a', 0.1, new Set(['f/1'])))).toEqual(a); // reproducible for one drill
    expect(paths.every(sampleSelector('drill-a', 1))).toBe(true);
  });

  it('projects the full restore from the sampled throughput', () => {
    expect(projectFullRestore({ fetch: 10, extract: 4, verify: 1, app: 3 }, 1000, 100, 0.1)).toBe(
      10 + 5 * 10 + 3,
    );
    expect(projectFullRestore({ fetch: 10, extract: 4, verify: 1, app: 3 }, 1000, 1000, 1)).toBeNull();
  });

  it('names drills by set, start time and a random suffix', () => {
    expect(drillId('orders', new Date('2026-11-24T22:30:00.123Z'))).toMatch(
      /^orders-20261124T223000Z-[0-9a-f]{4}$/,
    );
  });
});

describe('SQL assertions', () => {
  const at = new Date('2025-10-19T02:00:00Z');
  const check = (assertion: Partial<SqlAssertion>, value: string | null) =>
    evaluateAssertion({ name: 'n', sql: 'select 1', ...assertion }, value, at);

  it('compares numbers with min, max and equals, and says what came back', () => {
    expect(check({ min: 1000 }, '812')).toEqual({ ok: false, detail: 'returned 812, expected ≥ 1000' });
    expect(check({ min: 1000, max: 2000 }, '1500').ok).toBe(true);
    expect(check({ max: 5 }, '6')).toEqual({ ok: false, detail: 'returned 6, expected ≤ 5' });
    expect(check({ equals: 0 }, '0').ok).toBe(true);
    expect(check({ min: 1 }, 'many')).toEqual({ ok: false, detail: 'returned "many", not a number' });
    expect(check({ min: 1 }, null)).toEqual({ ok: false, detail: 'returned no value (NULL or no rows)' });
  });

  it('matches text exactly or by regex', () => {
    expect(check({ equals: 'ok' }, 'ok').ok).toBe(true);
    expect(check({ matches: /^v\d+$/ }, 'v12').ok).toBe(true);
    expect(check({ matches: /^v\d+$/ }, 'x').detail).toBe('returned "x", expected a match for /^v\\d+$/');
  });

  it('checks a timestamp is recent enough relative to the snapshot time', () => {
    expect(check({ withinSeconds: 86_400 }, '2025-10-18 20:15:00+00').ok).toBe(true);
    expect(check({ withinSeconds: 86_400 }, '2025-10-17 20:15:00+00')).toEqual({
      ok: false,
      detail:
        'returned 2025-10-17T20:15:00.000Z, 1d 5h before the snapshot time 2025-10-19T02:00:00.000Z (limit 1d)',
    });
    expect(check({ withinSeconds: 60 }, 'yesterday').detail).toBe('returned "yesterday", not a timestamp');
  });

  it('reads the timestamp forms databases print', () => {
    expect(parseDatabaseTime('2025-10-18 20:15:00+00')?.toISOString()).toBe('2025-10-18T20:15:00.000Z');
    expect(parseDatabaseTime('2025-10-18 22:15:00.123+02')?.toISOString()).toBe('2025-10-18T20:15:00.123Z');
    expect(parseDatabaseTime('2025-10-18 20:15:00+0530')?.toISOString()).toBe('2025-10-18T14:45:00.000Z');
    expect(parseDatabaseTime('2025-10-18T20:15:00Z')?.toISOString()).toBe('2025-10-18T20:15:00.000Z');
    expect(parseDatabaseTime('2025-10-18 20:15:00')?.toISOString()).toBe('2025-10-18T20:15:00.000Z');
    expect(parseDatabaseTime('1760818500')?.toISOString()).toBe('2025-10-18T20:15:00.000Z');
    expect(parseDatabaseTime('2025-10-18')?.toISOString()).toBe('2025-10-18T00:00:00.000Z');
  });

  it('takes the first column of the first row from psql and sqlite3 output', () => {
    expect(firstValueOfPsql('812\u001f7\u001e813\u001f1\u001e')).toBe('812');
    expect(firstValueOfPsql('\u001dNULL\u001d\u001e')).toBeNull();
    expect(firstValueOfPsql('')).toBeNull();
    expect(firstValueOfPsql('a|b\u001fc\u001e')).toBe('a|b');
    expect(firstValueOfJson('[{"count(*)":5,"x":1},\n{"count(*)":6}]')).toBe('5');
    expect(firstValueOfJson('[{"b":null}]')).toBeNull();
    expect(firstValueOfJson('')).toBeNull();
  });
});

describe('plain dump filter', () => {
  const stats = (): DumpFilterStats => ({ droppedOwnership: 0, droppedPrivileges: 0, droppedFence: 0 });

  it('drops ownership, privilege and fence lines, never COPY data', () => {
    const counts = stats();
    const lines = [
      '\\restrict abc123',
      'CREATE TABLE public.t (x text);',
      'ALTER TABLE public.t OWNER TO kanda;',
      'GRANT SELECT ON TABLE public.t TO reporting;',
      'REVOKE ALL ON SCHEMA public FROM PUBLIC;',
      'COPY public.t (x) FROM stdin;',
      'GRANT ALL ON everything TO everyone;',
      'ALTER TABLE x OWNER TO y;',
      '\\.',
      "SET SESSION AUTHORIZATION 'kanda';",
      '\\unrestrict abc123',
    ];
    let inCopy = false;
    const kept = lines.filter((line) => {
      const decided = filterDumpLine(line, inCopy, counts);
      inCopy = decided.inCopy;
      return decided.keep;
    });
    expect(kept).toEqual([
      'CREATE TABLE public.t (x text);',
      'COPY public.t (x) FROM stdin;',
      'GRANT ALL ON everything TO everyone;',
      'ALTER TABLE x OWNER TO y;',
      '\\.',
    ]);
    expect(counts).toEqual({ droppedOwnership: 2, droppedPrivileges: 2, droppedFence: 2 });
  });

  it('streams: prefix first, lines split across chunks, very long lines passed through', async () => {
    const counts = stats();
    const filter = createDumpFilter('\\restrict ours\n', counts);
    const long = `INSERT INTO t VALUES ('${'x'.repeat(3 * 2 ** 20)}');`;
    const out: Buffer[] = [];
    filter.on('data', (chunk: Buffer) => out.push(chunk));
    const text = `ALTER TABLE a OWNER TO b;\nSELECT 1;\n${long}\nGRANT x TO y;\n`;
    for (let at = 0; at < text.length; at += 7777) filter.write(text.slice(at, at + 7777));
    filter.end();
    await new Promise((resolve) => filter.on('end', resolve));
    expect(Buffer.concat(out).toString()).toBe(`\\restrict ours\nSELECT 1;\n${long}\n`);
    expect(counts).toEqual({ droppedOwnership: 1, droppedPrivileges: 1, droppedFence: 0 });
  });
});

describe('snapshots named like pick rules', () => {
  const named = [
    snapshot('latest', '2025-10-01T00:00:00Z'),
    snapshot('random', '2025-10-02T00:00:00Z'),
    snapshot('s3', '2025-10-19T00:00:00Z'),
  ];
  it('drills them by id with id:NAME, and says so when the rule was meant', () => {
    expect(
      pickSnapshot({
        snapshots: named,
        verdictOf: () => 'clean',
        request: 'id:latest',
        now: new Date('2025-10-20T00:00:00Z'),
        random: () => 0,
      }),
    ).toMatchObject({ snapshot: { id: 'latest' }, pick: 'explicit' });
    expect(
      pickSnapshot({
        snapshots: named,
        verdictOf: () => 'clean',
        request: 'id:random',
        now: new Date('2025-10-20T00:00:00Z'),
        random: () => 0,
      }),
    ).toMatchObject({ snapshot: { id: 'random' }, pick: 'explicit' });
    const rule = pickSnapshot({
      snapshots: named,
      verdictOf: () => 'clean',
      request: 'latest',
      now: new Date('2025-10-20T00:00:00Z'),
      random: () => 0,
    });
    expect(rule).toMatchObject({
      snapshot: { id: 's3' },
      pick: 'latest',
      reason: expect.stringContaining('ask for it with id:latest'),
    });
  });
});
