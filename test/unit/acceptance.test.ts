import { describe, expect, it } from 'vitest';
import { createTriageChecker, foldAcceptance } from '../../agent/ledger/acceptance-records.js';
import { nextRecord, type LedgerRecord } from '../../agent/ledger/ledger-record.js';
import { rejudgeSet } from '../../agent/triage/rejudge-set.js';
import type { SetIndex, SnapshotState } from '../../agent/model/snapshot-state.js';
import {
  acceptanceMatcher,
  countingCounts,
  coverFindings,
  selectFindings,
  withAcceptances,
  type LocatedFinding,
} from '../../agent/verdicts/acceptance.js';
import { type Acceptance, type AcceptanceSelection } from '../../agent/model/acceptance.js';
import type { Finding } from '../../agent/model/findings.js';
import { DEFAULT_THRESHOLDS } from '../../agent/verdicts/snapshot-verdict.js';

const encrypted = (
  path: string,
  contentId?: string,
  severity: Finding['severity'] = 'critical',
): Finding => ({
  kind: 'encrypted',
  path,
  severity,
  detail: 'expected pdf (by extension), found random bytes',
  ...(contentId ? { contentId } : {}),
});

/** An acceptance made from `findings` (as `vouch accept` would), with id `id`. */
function accept(
  id: number,
  located: LocatedFinding[],
  selection: AcceptanceSelection = { path: '**' },
): Acceptance {
  return {
    id,
    set: 'docs',
    at: '2026-01-05T00:00:00.000Z',
    by: 'alice',
    reason: 'known',
    selection,
    findings: coverFindings(located),
    revoked: null,
  };
}

function snapshot(id: string, findings: Finding[], extra: Partial<SnapshotState> = {}): SnapshotState {
  const findingCounts: SnapshotState['findingCounts'] = {};
  for (const finding of findings) findingCounts[finding.kind] = (findingCounts[finding.kind] ?? 0) + 1;
  const strong = findings.filter(
    (finding) => finding.kind === 'encrypted' && finding.severity === 'critical',
  ).length;
  return {
    id,
    time: `2026-01-0${id.slice(-1)}T00:00:00.000Z`,
    verdict: 'compromised',
    complete: true,
    entries: 100,
    bytes: 1000,
    findings,
    findingCounts,
    detection: {
      files: 100,
      encryptedStrong: strong,
      encryptedWeak: 0,
      ransomNotes: 0,
      renamed: 0,
      changed: 0,
      changeRate: null,
    },
    lastScan: '2026-01-05T00:00:00.000Z',
    ...extra,
  };
}

describe('what an acceptance covers', () => {
  const a = encrypted('vault/a.pdf', 'sha256:aa');
  const accepted = accept(7, [{ snapshot: 's2', finding: a }]);
  const matcher = acceptanceMatcher([accepted]);

  it('covers the same bytes at the same path in any snapshot, earlier or later', () => {
    expect(matcher.match(a, 's2')?.id).toBe(7);
    expect(matcher.match(a, 's9')?.id).toBe(7);
    expect(matcher.match(a, 's1')?.id).toBe(7);
  });

  it('does not cover the path once its content changed, another path with the same bytes, or another kind', () => {
    expect(matcher.match(encrypted('vault/a.pdf', 'sha256:bb'), 's3')).toBeNull();
    expect(matcher.match(encrypted('vault/b.pdf', 'sha256:aa'), 's2')).toBeNull();
    expect(
      matcher.match({ kind: 'magic-mismatch', path: 'vault/a.pdf', contentId: 'sha256:aa' }, 's2'),
    ).toBeNull();
  });

  it('with --snapshot covers that snapshot only', () => {
    const limited = acceptanceMatcher([
      accept(8, [{ snapshot: 's2', finding: a }], { path: 'vault/**', snapshot: 's2' }),
    ]);
    expect(limited.match(a, 's2')?.id).toBe(8);
    expect(limited.match(a, 's3')).toBeNull();
  });

  it('covers a finding without content (a missing file, a whole-snapshot finding) only in the snapshots it was seen in', () => {
    const mass: Finding = {
      kind: 'mass-change',
      path: '',
      severity: 'warning',
      detail: '30 files renamed to *.locked',
    };
    const missing: Finding = {
      kind: 'drift-missing',
      path: 'db/orders.sql',
      severity: 'critical',
      detail: 'file of 10 bytes in the baseline is missing',
    };
    const both = acceptanceMatcher([
      accept(9, [
        { snapshot: 's2', finding: mass },
        { snapshot: 's2', finding: missing },
      ]),
    ]);
    expect(both.match(mass, 's2')?.id).toBe(9);
    expect(both.match(mass, 's3')).toBeNull();
    expect(both.match(missing, 's2')?.id).toBe(9);
    expect(both.match(missing, 's3')).toBeNull();
  });

  it('covers a finding about the set itself until revoked, and never a snapshot finding of the same path', () => {
    const removed: Finding = {
      kind: 'drift-missing',
      path: 'docs-20260102',
      severity: 'critical',
      detail: 'snapshot removed from the store',
    };
    const acceptance = accept(10, [{ snapshot: null, finding: removed }]);
    expect(acceptance.findings[0]!.snapshots).toEqual([]);
    expect(acceptanceMatcher([acceptance]).match(removed, null)?.id).toBe(10);
    expect(acceptanceMatcher([acceptance]).match(removed, 'docs-20260102')).toBeNull();
    expect(
      acceptanceMatcher([
        { ...acceptance, revoked: { id: 11, at: '2026-01-06T00:00:00.000Z', by: 'bob' } },
      ]).match(removed, null),
    ).toBeNull();
  });

  it('never covers a read error: a snapshot not read completely is never clean', () => {
    const readError: Finding = {
      kind: 'read-error',
      path: 'x.tar.gz',
      severity: 'critical',
      detail: 'unexpected end of archive',
    };
    expect(
      acceptanceMatcher([accept(12, [{ snapshot: 's2', finding: readError }])]).match(readError, 's2'),
    ).toBeNull();
    const selected = selectFindings(
      [{ snapshot: 's2', finding: readError }],
      { path: '**' },
      acceptanceMatcher([]),
    );
    expect(selected.matched).toEqual([]);
    expect(selected.unacceptable).toHaveLength(1);
  });

  it('uses the oldest acceptance in force when several cover a finding', () => {
    const two = acceptanceMatcher([
      accept(20, [{ snapshot: 's2', finding: a }]),
      accept(15, [{ snapshot: 's2', finding: a }]),
    ]);
    expect(two.match(a, 's2')?.id).toBe(15);
  });
});

describe('selecting findings to accept', () => {
  const findings: LocatedFinding[] = [
    { snapshot: 's2', finding: encrypted('vault/a.pdf', 'sha256:aa') },
    { snapshot: 's3', finding: encrypted('vault/a.pdf', 'sha256:aa') },
    { snapshot: 's3', finding: encrypted('docs/.hidden.pdf', 'sha256:cc') },
    {
      snapshot: 's3',
      finding: { kind: 'mass-change', path: '', severity: 'warning', detail: 'many renames' },
    },
    {
      snapshot: 's3',
      finding: {
        kind: 'ransom-note',
        path: 'README.txt',
        severity: 'critical',
        detail: 'ransom note',
        contentId: 'sha256:dd',
      },
    },
  ];

  it('matches paths with the glob (dot files included); only `**` selects findings without a path', () => {
    const select = (selection: AcceptanceSelection) =>
      selectFindings(findings, selection, acceptanceMatcher([])).matched.map(
        ({ snapshot, finding }) => `${snapshot} ${finding.path}`,
      );
    expect(select({ path: 'docs/*' })).toEqual(['s3 docs/.hidden.pdf']);
    expect(select({ path: '*' })).toEqual(['s3 README.txt']);
    expect(select({ path: '**' })).toHaveLength(5);
    expect(select({ path: '**', kind: 'encrypted', snapshot: 's3' })).toEqual([
      's3 vault/a.pdf',
      's3 docs/.hidden.pdf',
    ]);
  });

  it('leaves out findings already accepted, naming the acceptance', () => {
    const matcher = acceptanceMatcher([accept(7, [findings[0]!])]);
    const result = selectFindings(findings, { path: 'vault/**' }, matcher);
    expect(result.matched).toEqual([]);
    expect(
      result.alreadyAccepted.map(({ located, acceptance }) => [located.snapshot, acceptance.id]),
    ).toEqual([
      ['s2', 7],
      ['s3', 7],
    ]);
  });

  it('records one covered finding per path, kind and content, with every snapshot it was seen in', () => {
    expect(coverFindings(findings.slice(0, 2))).toEqual([
      {
        path: 'vault/a.pdf',
        kind: 'encrypted',
        severity: 'critical',
        detail: findings[0]!.finding.detail,
        contentId: 'sha256:aa',
        snapshots: ['s2', 's3'],
      },
    ]);
  });
});

describe('a snapshot judged with its acceptances', () => {
  const strong = ['a', 'b', 'c'].map((name) => encrypted(`vault/${name}.pdf`, `sha256:${name}`));

  it('turns compromised into clean when every finding that made it so is accepted, and keeps the scan verdict beside it', () => {
    const state = snapshot('s2', strong);
    const judged = withAcceptances(
      state,
      's2',
      acceptanceMatcher([
        accept(
          7,
          strong.map((finding) => ({ snapshot: 's2', finding })),
        ),
      ]),
      DEFAULT_THRESHOLDS,
    );
    expect(judged.verdict).toBe('clean');
    expect(judged.verdictBeforeAcceptance).toBe('compromised');
    expect(judged.acceptedCounts).toEqual({ encrypted: 3 });
    expect(
      judged.findings.every((finding) => finding.accepted?.id === 7 && finding.accepted.by === 'alice'),
    ).toBe(true);
    expect(countingCounts(judged)).toEqual({});
  });

  it('counts the strongly encrypted files left against the thresholds: 2 of 100 left is compromised (2 %), 2 of 1000 suspicious', () => {
    const matcher = acceptanceMatcher([accept(7, [{ snapshot: 's2', finding: strong[0]! }])]);
    expect(withAcceptances(snapshot('s2', strong), 's2', matcher, DEFAULT_THRESHOLDS).verdict).toBe(
      'compromised',
    );
    const large = snapshot('s2', strong, {
      detection: {
        files: 1000,
        encryptedStrong: 3,
        encryptedWeak: 0,
        ransomNotes: 0,
        renamed: 0,
        changed: 0,
        changeRate: null,
      },
    });
    expect(withAcceptances(large, 's2', matcher, DEFAULT_THRESHOLDS).verdict).toBe('suspicious');
  });

  it('is idempotent, and a revocation takes the marks and the verdict back', () => {
    const acceptance = accept(
      7,
      strong.map((finding) => ({ snapshot: 's2', finding })),
    );
    const once = withAcceptances(
      snapshot('s2', strong),
      's2',
      acceptanceMatcher([acceptance]),
      DEFAULT_THRESHOLDS,
    );
    expect(withAcceptances(once, 's2', acceptanceMatcher([acceptance]), DEFAULT_THRESHOLDS)).toEqual(once);
    const revoked = withAcceptances(
      once,
      's2',
      acceptanceMatcher([{ ...acceptance, revoked: { id: 9, at: '2026-01-06T00:00:00.000Z', by: 'bob' } }]),
      DEFAULT_THRESHOLDS,
    );
    expect(revoked.verdict).toBe('compromised');
    expect(revoked.verdictBeforeAcceptance).toBeUndefined();
    expect(revoked.acceptedCounts).toBeUndefined();
    expect(revoked.findings.some((finding) => finding.accepted)).toBe(false);
  });

  it('never lets accepted findings hide a snapshot that was not read completely', () => {
    const state = snapshot(
      's2',
      [strong[0]!, { kind: 'read-error', path: 'big.bin', severity: 'critical', detail: 'store gave up' }],
      { complete: false, verdict: 'unverified' },
    );
    const judged = withAcceptances(
      state,
      's2',
      acceptanceMatcher([accept(7, [{ snapshot: 's2', finding: strong[0]! }])]),
      DEFAULT_THRESHOLDS,
    );
    expect(judged.verdict).toBe('unverified');
  });

  it('judges a whole set again and reports the verdicts that moved, oldest first', () => {
    const index: SetIndex = {
      set: 'docs',
      updatedAt: '2026-01-05T00:00:00.000Z',
      snapshots: {
        s3: snapshot('s3', strong),
        s2: snapshot('s2', strong),
        s1: snapshot('s1', [], { verdict: 'clean' }),
      },
    };
    const { index: judged, changes } = rejudgeSet(
      index,
      [
        accept(
          7,
          strong.map((finding) => ({ snapshot: 's2', finding })),
        ),
      ],
      DEFAULT_THRESHOLDS,
    );
    expect(changes).toEqual([
      { snapshot: 's2', from: 'compromised', to: 'clean' },
      { snapshot: 's3', from: 'compromised', to: 'clean' },
    ]);
    expect(judged.snapshots.s1!.verdict).toBe('clean');
  });
});

describe('triage records in the ledger', () => {
  const chain = (entries: [LedgerRecord['type'], unknown][]) => {
    const records: LedgerRecord[] = [];
    for (const [type, data] of entries) records.push(nextRecord(records.at(-1) ?? null, type, data));
    return records;
  };
  const acceptanceData = {
    set: 'docs',
    by: 'alice',
    reason: 'known',
    selection: { path: '**' },
    findings: coverFindings([{ snapshot: 's2', finding: encrypted('a.pdf', 'sha256:aa') }]),
    count: 1,
    verdicts: [],
  };

  it('folds acceptances and revocations per set', () => {
    const records = chain([
      ['finding-acceptance', acceptanceData],
      ['finding-acceptance', { ...acceptanceData, set: 'other' }],
      [
        'acceptance-revocation',
        { set: 'docs', acceptance: 1, by: 'bob', reason: 'no longer true', verdicts: [] },
      ],
    ]);
    let docs: Acceptance[] = [];
    for (const record of records) docs = foldAcceptance(docs, record, 'docs');
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({
      id: 1,
      by: 'alice',
      revoked: { id: 3, by: 'bob', reason: 'no longer true' },
    });
  });

  it('verification names a malformed acceptance and a revocation of nothing, of another set, or twice', () => {
    const problems = (entries: [LedgerRecord['type'], unknown][]) => {
      const checker = createTriageChecker();
      return chain(entries).map((record) => checker.check(record));
    };
    expect(problems([['finding-acceptance', { ...acceptanceData, reason: ' ' }]])).toEqual([
      'acceptance gives no reason',
    ]);
    expect(problems([['finding-acceptance', { ...acceptanceData, findings: [] }]])).toEqual([
      'acceptance covers no findings',
    ]);
    expect(problems([['acceptance-revocation', { set: 'docs', acceptance: 5, by: 'bob' }]])).toEqual([
      'revocation of acceptance 5, which is not an earlier finding-acceptance record',
    ]);
    expect(
      problems([
        ['finding-acceptance', acceptanceData],
        ['acceptance-revocation', { set: 'other', acceptance: 1, by: 'bob' }],
      ]),
    ).toEqual([null, 'revocation for set other of acceptance 1, which belongs to set docs']);
    expect(
      problems([
        ['finding-acceptance', acceptanceData],
        ['acceptance-revocation', { set: 'docs', acceptance: 1, by: 'bob' }],
        ['acceptance-revocation', { set: 'docs', acceptance: 1, by: 'bob' }],
      ]),
    ).toEqual([null, null, 'acceptance 1 was already revoked by record 2']);
  });
});

describe('triage text limits', () => {
  it('keeps a reason up to MAX_TRIAGE_TEXT characters and refuses a longer one, naming the option (exit 2)', async () => {
    const { requiredText, MAX_TRIAGE_TEXT } = await import('../../agent/triage/accept-findings.js');
    const { ConfigError } = await import('../../agent/errors.js');
    expect(requiredText(`  ${'r'.repeat(MAX_TRIAGE_TEXT)}  `, '--reason', 'why')).toHaveLength(
      MAX_TRIAGE_TEXT,
    );
    expect(() => requiredText('r'.repeat(MAX_TRIAGE_TEXT + 1), '--reason', 'why')).toThrow(ConfigError);
    expect(() => requiredText('r'.repeat(130_000), '--reason', 'why')).toThrow(
      /--reason is 130000 characters long; at most 4000/,
    );
  });
});
