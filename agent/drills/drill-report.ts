/**
 * What a drill reports beyond the DrillResult kept in the per-set index: every verifier's
 * outcome, how the restore went, and notes. The ledger's `drill` record holds the whole report;
 * `vouch drill --json` prints it.
 */
import type { RequestedBy } from '../state/requested-by.js';
import type { DrillResult } from '../state/drill-index.js';
import type { VerifierOutcome } from './verifiers/verifier.js';
import { countingFindings } from '../verdicts/acceptance.js';
import type { Finding, FindingKind } from '../verdicts/findings.js';
import type { Verdict } from '../verdicts/snapshot-verdict.js';

/** A drill's full report. */
export interface DrillReport extends DrillResult {
  /** Why this snapshot (or why none). */
  pickReason: string;
  verifiers: VerifierOutcome[];
  restore: {
    complete: boolean;
    /** Entries and bytes the snapshot holds. */
    entries: number;
    bytes: number;
    /** Unsafe or unreadable entries found while restoring. */
    problems: number;
    /** Links recorded, never created; hardlinks restored as copies of their target. */
    symlinks: number;
    hardlinksCopied: number;
    /** The archive object's digest as read, when read sequentially. */
    objectDigest: string | null;
  } | null;
  sandbox: 'bwrap' | 'none' | null;
  rpoTargetSeconds: number | null;
  notes: string[];
  /** Who asked for it: the command line, the daemon's schedule, or an API caller. */
  requestedBy?: RequestedBy;
  /**
   * Present when the drilled snapshot is not clean by its scan (or was never scanned): what the
   * report and record say first, and the restored files detection judged encrypted or damaged
   * (the verify phase's list). A drill proves a restore works; it does not make the content good.
   */
  snapshotJudgement?: SnapshotJudgement;
}

/** What the scan said of a drilled snapshot that is not clean. */
export interface SnapshotJudgement {
  /** The scan's verdict, or null when the snapshot was never scanned. */
  verdict: Verdict | null;
  warning: string;
  /** Findings that count on restored files (encrypted, damaged, ransom notes, drift; a file may have several), first 200. */
  hitFiles: { path: string; kind: FindingKind; detail: string }[];
  hitFilesOmitted: number;
}

/** Kinds that say a file's content is not what was backed up. */
const CONTENT_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>(['encrypted', 'corrupted', 'structure-invalid', 'magic-mismatch', 'ransom-note', 'extension-change', 'drift-modified', 'drift-truncated', 'drift-added', 'sums-mismatch']);

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
  if (!snapshot) return { verdict: null, warning: `snapshot ${id} was never scanned: nothing says its content is intact (run vouch scan)`, hitFiles: [], hitFilesOmitted: 0 };
  const hits = countingFindings(snapshot.findings).filter((finding) => CONTENT_KINDS.has(finding.kind) && restored(finding.path));
  const files = new Set(hits.map((finding) => finding.path)).size;
  return {
    verdict: snapshot.verdict,
    warning: `snapshot ${id} is ${snapshot.verdict.toUpperCase()} by its scan: a passed drill proves it restores, not that its content is good${files ? ` — ${files} restored file${files === 1 ? ' was' : 's were'} judged encrypted or damaged` : ''}`,
    hitFiles: hits.slice(0, MAX_HIT_FILES).map(({ path, kind, detail }) => ({ path, kind, detail })),
    hitFilesOmitted: Math.max(0, hits.length - MAX_HIT_FILES),
  };
}

const RESULT_KEYS: readonly (keyof DrillResult)[] = [
  'id', 'set', 'snapshot', 'snapshotTime', 'pick', 'startedAt', 'finishedAt', 'outcome', 'phases', 'durationSeconds',
  'rtoTargetSeconds', 'withinRto', 'sample', 'projectedFullRestoreSeconds', 'failures', 'ledgerSeq', 'snapshotVersion',
];

/** The DrillResult part of a report (what the per-set index keeps). */
export function toDrillResult(report: DrillResult): DrillResult {
  const out: Partial<Record<keyof DrillResult, unknown>> = {};
  for (const key of RESULT_KEYS) if (report[key] !== undefined) out[key] = report[key];
  return out as DrillResult;
}
