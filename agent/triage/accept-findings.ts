/**
 * `vouch accept SET --path GLOB …`: records that a person examined findings and judged them known
 * and harmless. The signed `finding-acceptance` record lists exactly the findings covered (path,
 * kind, content identity, the snapshots they were seen in); the set is then judged again, so
 * verdicts, last clean, readiness, metrics and alerts stop counting them while every view still
 * lists them, marked. What an acceptance covers later is the rule in verdicts/acceptance.ts.
 *
 * A selection that covers nothing new is a usage error (exit 2) that says what is there instead:
 * a typo in a glob must never look like a successful triage.
 */
import type { SetPolicy } from '../config/resolve-policy.js';
import type { AcceptanceRecordData, VerdictEffect } from '../ledger/acceptance-records.js';
import { ConfigError } from '../errors.js';
import { unlistedFindings } from '../state/set-index.js';
import { type SetIndex } from '../model/snapshot-state.js';
import {
  acceptanceMatcher,
  coveredCount,
  coverFindings,
  MAX_COVERED_FINDINGS,
  selectFindings,
  UNACCEPTABLE_KINDS,
  type SelectionResult,
} from '../verdicts/acceptance.js';
import { type Acceptance, type AcceptanceSelection } from '../model/acceptance.js';
import { FINDING_KINDS, type FindingKind } from '../model/findings.js';
import { locatedFindings } from './rejudge-set.js';
import { withTriageSession } from './triage-session.js';

/** What to accept. */
export interface AcceptRequest {
  stateDir: string;
  set: SetPolicy;
  /** `--path` glob. */
  path: string;
  kind?: string;
  snapshot?: string;
  reason: string;
  by: string;
}

/** What an acceptance did. */
export interface AcceptResult {
  set: string;
  acceptance: Acceptance;
  /** Findings covered (one per snapshot a covered finding was seen in). */
  count: number;
  /** Snapshots with covered findings, oldest first. */
  snapshots: string[];
  /** Verdicts it changed. */
  verdicts: VerdictEffect[];
  /** What it did not cover, and why. */
  notes: string[];
}

/** The trimmed text of a required option, or a usage error naming it. */
export function requiredText(value: string | undefined, option: string, why: string): string {
  const text = value?.trim() ?? '';
  if (!text) throw new ConfigError(`${option} must not be empty: ${why}`);
  return cappedText(text, option);
}

/** The longest `--reason`, `--by` or `--path` kept in a signed record: a paragraph, not a document (every listing and report repeats it). */
export const MAX_TRIAGE_TEXT = 4000;

/** `text` when it is at most MAX_TRIAGE_TEXT characters; ConfigError (exit 2) naming the option otherwise. Pure. */
export function cappedText(text: string, option: string): string {
  if (text.length > MAX_TRIAGE_TEXT)
    throw new ConfigError(
      `${option} is ${text.length} characters long; at most ${MAX_TRIAGE_TEXT} are kept in the evidence (point to a ticket or document for more)`,
    );
  return text;
}

function parseKind(kind: string | undefined): FindingKind | undefined {
  if (kind === undefined) return undefined;
  if (!(FINDING_KINDS as readonly string[]).includes(kind))
    throw new ConfigError(
      `unknown finding kind ${JSON.stringify(kind)} (kinds: ${FINDING_KINDS.join(', ')})`,
    );
  return kind as FindingKind;
}

/** The selection as the flags that make it. */
export function describeSelection(selection: AcceptanceSelection): string {
  return [
    `--path '${selection.path}'`,
    selection.kind ? `--kind ${selection.kind}` : '',
    selection.snapshot ? `--snapshot ${selection.snapshot}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

const EXAMPLES = 5;

/** Why nothing was accepted, with what the set holds instead. */
function nothingToAccept(
  set: string,
  selection: AcceptanceSelection,
  result: SelectionResult,
  index: SetIndex,
): ConfigError {
  const problems: string[] = [];
  if (result.alreadyAccepted.length) {
    const by = [
      ...new Map(result.alreadyAccepted.map(({ acceptance }) => [acceptance.id, acceptance])).values(),
    ];
    problems.push(
      `${result.alreadyAccepted.length} matching finding(s) are already accepted: ${by.map((acceptance) => `acceptance ${acceptance.id} by ${acceptance.by}`).join(', ')}`,
    );
  }
  if (result.unacceptable.length) {
    const kinds = [...new Set(result.unacceptable.map(({ finding }) => finding.kind))];
    problems.push(
      `${result.unacceptable.length} matching finding(s) are ${kinds.join(', ')}, which is never accepted: ${kinds.map((kind) => UNACCEPTABLE_KINDS.get(kind)).join('; ')}`,
    );
  }
  if (selection.kind === 'immutability') {
    problems.push(
      'immutability findings come from the audit of the bucket or volume, not from a snapshot: answer them in the policy (`immutability:`), not by accepting',
    );
  } else if (problems.length === 0) {
    const open = locatedFindings(index).filter(
      ({ snapshot, finding }) =>
        !finding.accepted && (selection.snapshot === undefined || snapshot === selection.snapshot),
    );
    problems.push(
      open.length
        ? `findings there that are not accepted (${open.length}) include: ${open
            .slice(0, EXAMPLES)
            .map(
              ({ snapshot, finding }) =>
                `${finding.kind} ${finding.path || '(the whole snapshot)'}${snapshot ? ` in ${snapshot}` : ''}`,
            )
            .join('; ')}`
        : `set ${set} has no findings that are not accepted${selection.snapshot ? ` in snapshot ${selection.snapshot}` : ''}`,
    );
  }
  return new ConfigError(`no findings of set ${set} to accept for ${describeSelection(selection)}`, problems);
}

/** Notes on what the acceptance could not look at. */
function coverageNotes(index: SetIndex, selection: AcceptanceSelection, result: SelectionResult): string[] {
  const notes: string[] = [];
  const unlisted = Object.entries(index.snapshots)
    .filter(([id]) => selection.snapshot === undefined || id === selection.snapshot)
    .map(([id, state]) => `${id} (${unlistedFindings(state)})`)
    .filter((entry) => !entry.endsWith(' (0)'));
  if (unlisted.length) {
    const named =
      unlisted.length > EXAMPLES
        ? `${unlisted.slice(0, EXAMPLES).join(', ')} and ${unlisted.length - EXAMPLES} more`
        : unlisted.join(', ');
    notes.push(
      `findings counted but not kept in the index (it keeps the first ones of a snapshot) could not be examined and still count: ${named}`,
    );
  }
  if (result.alreadyAccepted.length)
    notes.push(
      `${result.alreadyAccepted.length} matching finding(s) were already accepted and are left with their acceptance`,
    );
  if (result.unacceptable.length)
    notes.push(
      `${result.unacceptable.length} matching read error(s) are never accepted: a snapshot that was not read completely is never clean`,
    );
  return notes;
}

/** Accepts the findings `request` selects; throws ConfigError (exit 2) when it selects nothing to accept. */
export async function acceptFindings(request: AcceptRequest): Promise<AcceptResult> {
  const reason = requiredText(
    request.reason,
    '--reason',
    'say why these findings are harmless, for whoever reads the evidence later',
  );
  const by = requiredText(request.by, '--by', 'name who accepts these findings');
  const path = requiredText(
    request.path,
    '--path',
    'give a glob of the finding paths to accept (`**` for all)',
  );
  const kind = parseKind(request.kind);
  const selection: AcceptanceSelection = {
    path,
    ...(kind ? { kind } : {}),
    ...(request.snapshot !== undefined ? { snapshot: request.snapshot } : {}),
  };
  const set = request.set.name;
  return withTriageSession({ stateDir: request.stateDir, set: request.set }, async (session) => {
    const index = await session.index();
    const snapshots = Object.values(index.snapshots);
    if (snapshots.length === 0 && !index.setFindings?.length)
      throw new ConfigError(`set ${set} has no scan results yet: run \`vouch scan ${set}\` first`);
    if (selection.snapshot !== undefined && !index.snapshots[selection.snapshot]) {
      const newest = [...snapshots]
        .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
        .slice(0, EXAMPLES)
        .map((snapshot) => snapshot.id);
      throw new ConfigError(
        `set ${set} has no snapshot ${selection.snapshot} (${snapshots.length} in state; newest: ${newest.join(', ')})`,
      );
    }
    const current = await session.acceptances();
    const result = selectFindings(locatedFindings(index), selection, acceptanceMatcher(current));
    if (result.matched.length === 0) throw nothingToAccept(set, selection, result, index);
    const covered = coverFindings(result.matched);
    const count = coveredCount(covered);
    if (count > MAX_COVERED_FINDINGS) {
      throw new ConfigError(
        `${describeSelection(selection)} selects ${count} findings of set ${set}; one acceptance covers at most ${MAX_COVERED_FINDINGS}: narrow it with a tighter --path, --kind or --snapshot`,
      );
    }
    const draft: Acceptance = {
      id: Number.MAX_SAFE_INTEGER,
      set,
      at: '',
      by,
      reason,
      selection,
      findings: covered,
      revoked: null,
    };
    const data: AcceptanceRecordData = {
      set,
      by,
      reason,
      selection,
      findings: covered,
      count,
      verdicts: await session.preview([...current, draft]),
    };
    const record = await session.ledger.append('finding-acceptance', data);
    const verdicts = await session.commit(record, 'acceptance');
    const acceptance = (await session.acceptances()).find((candidate) => candidate.id === record.seq)!;
    const seen = new Set(
      result.matched.map(({ snapshot }) => snapshot).filter((id): id is string => id !== null),
    );
    return {
      set,
      acceptance,
      count,
      snapshots: snapshots
        .filter((snapshot) => seen.has(snapshot.id))
        .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
        .map((snapshot) => snapshot.id),
      verdicts,
      notes: coverageNotes(index, selection, result),
    };
  });
}
