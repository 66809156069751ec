/**
 * The ledger records of triage: `finding-acceptance` (a person accepted findings as known and
 * harmless) and `acceptance-revocation` (they took it back). Their shapes, the check
 * `vouch evidence verify` runs on them, and the fold that turns them into the acceptances every
 * verdict is judged with (verdicts/acceptance.ts). Pure.
 */
import { FINDING_KINDS } from '../model/findings.js';
import type { Acceptance, AcceptanceSelection, CoveredFinding } from '../model/acceptance.js';
import type { Verdict } from '../model/verdict.js';
import type { LedgerRecord } from './ledger-record.js';

/** A snapshot whose verdict a triage record changed. */
export interface VerdictEffect {
  snapshot: string;
  from: Verdict;
  to: Verdict;
}

/** `data` of a `finding-acceptance` record. */
export interface AcceptanceRecordData {
  set: string;
  /** Who accepted (`--by`, else the OS user). */
  by: string;
  reason: string;
  selection: AcceptanceSelection;
  /** Every finding covered, as it was when accepted. */
  findings: CoveredFinding[];
  /** Number of findings covered (a covered item seen in several snapshots counts once per snapshot). */
  count: number;
  /** Verdicts this acceptance changed when it was made. */
  verdicts: VerdictEffect[];
}

/** `data` of an `acceptance-revocation` record. */
export interface RevocationRecordData {
  set: string;
  /** The acceptance revoked: the seq of its `finding-acceptance` record. */
  acceptance: number;
  by: string;
  reason?: string;
  verdicts: VerdictEffect[];
}

const KINDS = new Set<string>(FINDING_KINDS);
const SEVERITIES = new Set(['info', 'warning', 'critical']);

const isText = (value: unknown): value is string => typeof value === 'string' && value.trim().length > 0;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function coveredProblem(item: unknown, position: number): string | null {
  const at = `covered finding ${position + 1}`;
  if (!isObject(item)) return `${at} is not an object`;
  if (typeof item.path !== 'string') return `${at} has no path`;
  if (!KINDS.has(String(item.kind))) return `${at} has an unknown kind ${JSON.stringify(item.kind)}`;
  if (!SEVERITIES.has(String(item.severity))) return `${at} has an unknown severity`;
  if (item.contentId !== undefined && !isText(item.contentId)) return `${at} has an empty content identity`;
  if (!Array.isArray(item.snapshots) || !item.snapshots.every(isText))
    return `${at} does not list its snapshots`;
  return null;
}

/** Why a `finding-acceptance` record's data is not one, or null when it is well formed. */
export function acceptanceDataProblem(data: unknown): string | null {
  if (!isObject(data)) return 'acceptance without data';
  if (!isText(data.set)) return 'acceptance names no set';
  if (!isText(data.by)) return 'acceptance names nobody who accepted';
  if (!isText(data.reason)) return 'acceptance gives no reason';
  const selection = data.selection;
  if (!isObject(selection) || !isText(selection.path)) return 'acceptance has no path selection';
  if (selection.kind !== undefined && !KINDS.has(String(selection.kind)))
    return `acceptance selects an unknown kind ${JSON.stringify(selection.kind)}`;
  if (!Array.isArray(data.findings) || data.findings.length === 0) return 'acceptance covers no findings';
  for (const [position, item] of data.findings.entries()) {
    const problem = coveredProblem(item, position);
    if (problem) return `acceptance: ${problem}`;
  }
  return null;
}

/** Why a `acceptance-revocation` record's data is not one, or null when it is well formed. */
export function revocationDataProblem(data: unknown): string | null {
  if (!isObject(data)) return 'revocation without data';
  if (!isText(data.set)) return 'revocation names no set';
  if (!isText(data.by)) return 'revocation names nobody who revoked';
  if (typeof data.acceptance !== 'number' || !Number.isInteger(data.acceptance))
    return 'revocation names no acceptance';
  return null;
}

/**
 * Checks triage records in chain order for `vouch evidence verify`: each is well formed, and a
 * revocation revokes an earlier acceptance of the same set that was not revoked before.
 */
export function createTriageChecker(): { check(record: LedgerRecord): string | null } {
  const acceptances = new Map<number, { set: string; revokedBy: number | null }>();
  return {
    check(record) {
      if (record.type === 'finding-acceptance') {
        const problem = acceptanceDataProblem(record.data);
        if (!problem)
          acceptances.set(record.seq, { set: (record.data as AcceptanceRecordData).set, revokedBy: null });
        return problem;
      }
      if (record.type !== 'acceptance-revocation') return null;
      const problem = revocationDataProblem(record.data);
      if (problem) return problem;
      const data = record.data as RevocationRecordData;
      const target = acceptances.get(data.acceptance);
      if (!target)
        return `revocation of acceptance ${data.acceptance}, which is not an earlier finding-acceptance record`;
      if (target.set !== data.set)
        return `revocation for set ${data.set} of acceptance ${data.acceptance}, which belongs to set ${target.set}`;
      if (target.revokedBy !== null)
        return `acceptance ${data.acceptance} was already revoked by record ${target.revokedBy}`;
      target.revokedBy = record.seq;
      return null;
    },
  };
}

/** Record types the fold reads. */
export const TRIAGE_RECORD_TYPES: ReadonlySet<string> = new Set([
  'finding-acceptance',
  'acceptance-revocation',
]);

/**
 * Folds one ledger record into a set's acceptances (records of other sets and types, and
 * malformed ones, are skipped; verification reports those). Returns the new list.
 */
export function foldAcceptance(
  acceptances: readonly Acceptance[],
  record: LedgerRecord,
  set: string,
): Acceptance[] {
  if (!TRIAGE_RECORD_TYPES.has(record.type) || !isObject(record.data) || record.data.set !== set)
    return [...acceptances];
  if (acceptances.some((acceptance) => acceptance.id === record.seq)) return [...acceptances];
  if (record.type === 'finding-acceptance') {
    if (acceptanceDataProblem(record.data)) return [...acceptances];
    const data = record.data as unknown as AcceptanceRecordData;
    return [
      ...acceptances,
      {
        id: record.seq,
        set: data.set,
        at: record.time,
        by: data.by,
        reason: data.reason,
        selection: data.selection,
        findings: data.findings,
        revoked: null,
      },
    ];
  }
  if (revocationDataProblem(record.data)) return [...acceptances];
  const data = record.data as unknown as RevocationRecordData;
  return acceptances.map((acceptance) =>
    acceptance.id === data.acceptance && !acceptance.revoked
      ? {
          ...acceptance,
          revoked: {
            id: record.seq,
            at: record.time,
            by: data.by,
            ...(data.reason ? { reason: data.reason } : {}),
          },
        }
      : acceptance,
  );
}
