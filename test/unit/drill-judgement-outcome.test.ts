/** A drill of a snapshot that is not clean says what its outcome proves: a failed one proves neither the content nor the restore. */
import { describe, expect, it } from 'vitest';
import { judgementForOutcome, snapshotJudgement } from '../../agent/drills/drill-report.js';

describe('the warning of a drill of a non-clean snapshot follows the outcome', () => {
  const judgement = snapshotJudgement(
    {
      id: 'web-3',
      verdict: 'compromised',
      findings: [{ kind: 'encrypted', path: 'a.pdf', severity: 'critical', detail: 'became encrypted' }],
    },
    'web-3',
    () => true,
  )!;

  it('a passed drill proves the restore, not the content', () => {
    expect(judgementForOutcome(judgement, 'passed').warning).toBe(
      'snapshot web-3 is COMPROMISED by its scan: a passed drill proves it restores, not that its content is good — 1 restored file was judged encrypted or damaged',
    );
  });

  it('a failed drill does not say "a passed drill proves it restores"', () => {
    const failed = judgementForOutcome(judgement, 'failed');
    expect(failed.warning).toBe(
      'snapshot web-3 is COMPROMISED by its scan, and this drill failed: neither its content nor its restore is proven — 1 restored file was judged encrypted or damaged',
    );
    expect(failed.hitFiles).toEqual(judgement.hitFiles);
  });
});
