/**
 * `vouch recover`'s exit code and text say every file it does not restore: unsafe names are not
 * "nothing lost" (exit 3), links are recorded, not created (exit 0), a fallback to an older
 * version than planned is exit 3, an error that stopped the restore is exit 1, nothing to restore
 * is exit 3; a reason shared by many files is said once.
 */
import { describe, expect, it } from 'vitest';
import { recoverExitCode, recoveryText } from '../../agent/cli/recover.js';
import { planRecovery, type PlanSnapshot } from '../../agent/recover/recovery-plan.js';
import type { RecoveryOutcome, RecoveryResult } from '../../agent/recover/run-recovery.js';
import { missingReason } from '../../agent/recover/run-recovery.js';

const NOW = new Date('2026-11-04T12:00:00Z');
const snap = (
  day: number,
  files: Record<string, string>,
  extra: Partial<PlanSnapshot> = {},
): PlanSnapshot => ({
  id: `s${day}`,
  time: `2026-11-0${day}T02:00:00.000Z`,
  verdict: 'clean',
  complete: true,
  findings: [],
  unlisted: 0,
  baseline: new Map(Object.entries(files).map(([path, digest]) => [path, { size: 1, digest }])),
  ...extra,
});
const outcome = (extra: Partial<RecoveryOutcome> = {}): RecoveryOutcome => ({
  to: '/r',
  verified: 1,
  bytes: 1,
  fellBack: [],
  unrestored: [],
  problems: [],
  complete: true,
  error: null,
  ...extra,
});
const result = (plan: RecoveryResult['plan'], out: RecoveryOutcome | null = null): RecoveryResult => ({
  plan,
  planSha256: 'a'.repeat(64),
  dryRun: out === null,
  outcome: out,
  ledgerSeq: 7,
});

describe('recover exit code and text', () => {
  const links = planRecovery('docs', [
    snap(1, { 'a.txt': 'a' }, { links: new Map([['bin/awk', '/etc/alternatives/awk']]) }),
  ]);
  const unsafe = planRecovery('docs', [
    snap(
      1,
      { 'a.txt': 'a' },
      {
        verdict: 'suspicious',
        findings: [
          {
            kind: 'unsafe-entry',
            path: 'bad\u001bname',
            severity: 'warning',
            detail: 'name has control characters',
          },
        ],
      },
    ),
  ]);

  it('links recorded, not created: exit 0, said; unsafe names: exit 3, NOT RESTORED, never "nothing lost"', () => {
    expect(recoverExitCode(result(links))).toBe(0);
    expect(recoveryText(result(links), NOW)).toContain(
      '  1 symbolic link recorded, not created (as drills):',
    );
    expect(recoverExitCode(result(unsafe))).toBe(3);
    const text = recoveryText(result(unsafe), NOW);
    expect(
      text.some((line) => line.startsWith('  NOT RESTORED — 1 entry whose name no restore writes')),
    ).toBe(true);
    expect(text).not.toContain('  nothing lost: every file has an intact version');
    expect(text[1]).toBe(
      '  1 file, 1 B: 1 from the newest snapshot, 0 from older snapshots; 0 lost; 0 ransomware artifacts left out',
    );
  });

  it('a fallback is exit 3, an error that stopped the restore exit 1, nothing to restore exit 3', () => {
    expect(recoverExitCode(result(links, outcome()))).toBe(0);
    expect(
      recoverExitCode(
        result(
          links,
          outcome({
            fellBack: [
              {
                path: 'a.txt',
                from: 's2',
                to: 's1',
                toTime: '2026-11-01T02:00:00.000Z',
                reason: 'restored bytes differ',
              },
            ],
          }),
        ),
      ),
    ).toBe(3);
    expect(
      recoverExitCode(
        result(links, outcome({ complete: false, error: 'connect ECONNREFUSED 127.0.0.1:9000' })),
      ),
    ).toBe(1);
    expect(recoverExitCode(result(planRecovery('empty', [])))).toBe(3);
  });

  it('the real reason a file did not come out of its archive, said once for many files', () => {
    expect(
      missingReason(
        {
          complete: false,
          problems: [{ kind: 'read-error', path: '', detail: 'zip: encrypted entries need a password' }],
        },
        'a.txt',
      ),
    ).toBe('the snapshot could not be read completely: zip: encrypted entries need a password');
    expect(
      missingReason(
        {
          complete: true,
          problems: [{ kind: 'unsafe-entry', path: 'a.txt', detail: 'name too long (300 bytes)' }],
        },
        'a.txt',
      ),
    ).toBe('name too long (300 bytes)');
    expect(missingReason({ complete: true, problems: [] }, 'a.txt')).toBe(
      'the archive no longer holds the file',
    );
    const unrestored = Array.from({ length: 48 }, (_, index) => ({
      path: `f${index}.txt`,
      reason: 's1: the snapshot could not be read completely: bad; no older intact version',
    }));
    const text = recoveryText(result(links, outcome({ complete: false, unrestored })), NOW);
    expect(text.filter((line) => line.includes('NOT RESTORED'))).toEqual([
      '    NOT RESTORED 48 files: s1: the snapshot could not be read completely: bad; no older intact version',
    ]);
  });
});
