/**
 * What a drill reports beyond the DrillResult kept in the per-set index: every verifier's
 * outcome, how the restore went, and notes. The ledger's `drill` record holds the whole report;
 * `vouch drill --json` prints it.
 */
import type { DrillResult } from '../model/drill.js';
import { countingFindings } from '../verdicts/acceptance.js';
import type { Finding, FindingKind } from '../model/findings.js';
import type { Verdict } from '../model/verdict.js';
import type { SnapshotJudgement } from '../model/drill.js';

/** Kinds that say a file's content is not what was backed up. */
const CONTENT_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'encrypted',
  'corrupted',
  'structure-invalid',
  'magic-mismatch',
  'ransom-note',
  'extension-change',
  'drift-modified',
  'drift-truncated',
  'drift-added',
  'sums-mismatch',
]);

/** Files listed in a judgement. */
const MAX_HIT_FILES = 200;

/**
 * The judgement of a drilled snapshot (pure): null when it is clean; otherwise the warning and the
 * restored paths (`restored`) that findings which count name.
 */
export function snapshotJudgement(
  snapshot: { id: string; verdict: Verdict; findings: readonly Finding[] } | undefined,
  id: string,
  restored: (path: string) => boolean,
): SnapshotJudgement | null {
  if (snapshot?.verdict === 'clean') return null;
  if (!snapshot)
    return {
      verdict: null,
      warning: `snapshot ${id} was never scanned: nothing says its content is intact (run vouch scan)`,
      hitFiles: [],
      hitFilesOmitted: 0,
    };
  const hits = countingFindings(snapshot.findings).filter(
    (finding) => CONTENT_KINDS.has(finding.kind) && restored(finding.path),
  );
  const files = new Set(hits.map((finding) => finding.path)).size;
  return {
    verdict: snapshot.verdict,
    warning: `snapshot ${id} is ${snapshot.verdict.toUpperCase()} by its scan: a passed drill proves it restores, not that its content is good${files ? ` — ${files} restored file${files === 1 ? ' was' : 's were'} judged encrypted or damaged` : ''}`,
    hitFiles: hits.slice(0, MAX_HIT_FILES).map(({ path, kind, detail }) => ({ path, kind, detail })),
    hitFilesOmitted: Math.max(0, hits.length - MAX_HIT_FILES),
  };
}

/**
 * The judgement as the drill's outcome reads it (pure): a drill that did not pass proves nothing,
 * so its warning does not say "a passed drill proves it restores".
 */
export function judgementForOutcome(
  judgement: SnapshotJudgement,
  outcome: DrillResult['outcome'],
): SnapshotJudgement {
  if (outcome === 'passed') return judgement;
  const warning = judgement.warning.replace(
    ': a passed drill proves it restores, not that its content is good',
    `, and this drill ${outcome}: neither its content nor its restore is proven`,
  );
  return { ...judgement, warning };
}

const RESULT_KEYS: readonly (keyof DrillResult)[] = [
  'id',
  'set',
  'snapshot',
  'snapshotTime',
  'pick',
  'startedAt',
  'finishedAt',
  'outcome',
  'phases',
  'durationSeconds',
  'rtoTargetSeconds',
  'withinRto',
  'sample',
  'projectedFullRestoreSeconds',
  'failures',
  'ledgerSeq',
  'snapshotVersion',
];

/** The DrillResult part of a report (what the per-set index keeps). */
export function toDrillResult(report: DrillResult): DrillResult {
  const out: Partial<Record<keyof DrillResult, unknown>> = {};
  for (const key of RESULT_KEYS) if (report[key] !== undefined) out[key] = report[key];
  return out as DrillResult;
}
