/**
 * Triage (pure): which findings a person accepted as known and harmless, and what a snapshot's
 * verdict is once they stop counting. The ledger's `finding-acceptance` and
 * `acceptance-revocation` records are the source of truth (ledger/acceptance-records.ts folds
 * them into `Acceptance`s); everything here is a function of those and of a snapshot's findings.
 *
 * What an acceptance covers — one rule, so a user can predict it:
 * - it lists findings by path, kind and the content the scan read there (`contentId`, the
 *   entry's digest), exactly as they were when it was made;
 * - without a snapshot in its selection it covers that content at that path in every snapshot,
 *   earlier or later: a later snapshot that still holds the same bytes is covered, one in which
 *   the file changed again (another digest) is judged again;
 * - with a snapshot in its selection it covers that snapshot only;
 * - a finding without a content identity (a missing file, a finding about a whole snapshot such
 *   as mass-change, a refused name) is covered only in the snapshots it was seen in;
 * - a finding about the set itself (`snapshot: null`, e.g. a snapshot removed from the store)
 *   stays covered until the acceptance is revoked;
 * - `read-error` findings are never accepted: a snapshot that was not read completely is never
 *   clean;
 * - a revoked acceptance covers nothing.
 */
import picomatch from 'picomatch';
import type { AcceptanceMark, Finding, FindingKind } from '../model/findings.js';
import { snapshotVerdict, type EncryptionThresholds } from './snapshot-verdict.js';
import type { Verdict } from '../model/verdict.js';
import type { AcceptanceSelection, CoveredFinding, Acceptance } from '../model/acceptance.js';

/** Kinds that can never be accepted, and why. */
export const UNACCEPTABLE_KINDS: ReadonlyMap<FindingKind, string> = new Map([
  ['read-error', 'a snapshot that was not read completely is never clean: fix the read and scan again'],
]);

/** Covered findings of one acceptance listed at most this many (the record would grow without bound otherwise). */
export const MAX_COVERED_FINDINGS = 50_000;

/** How many findings a covered list stands for: one per snapshot each was seen in (one for a finding about the set). */
export function coveredCount(covered: readonly CoveredFinding[]): number {
  return covered.reduce((sum, item) => sum + Math.max(1, item.snapshots.length), 0);
}

/** The mark a covered finding carries. */
export function markOf(acceptance: Acceptance): AcceptanceMark {
  return { id: acceptance.id, by: acceptance.by, at: acceptance.at, reason: acceptance.reason };
}

/** Finds the acceptance that covers a finding. */
export interface AcceptanceMatcher {
  /** The oldest acceptance in force covering `finding` where it was found (`snapshot`, or null for the set itself), or null. */
  match(finding: Pick<Finding, 'kind' | 'path' | 'contentId'>, snapshot: string | null): Acceptance | null;
  /** Acceptances in force (not revoked), oldest first. */
  readonly active: readonly Acceptance[];
}

const keyOf = (kind: string, path: string) => `${kind}\u0000${path}`;

/** A matcher over `acceptances` (any order; revoked ones are ignored). */
export function acceptanceMatcher(acceptances: readonly Acceptance[]): AcceptanceMatcher {
  const active = acceptances.filter((acceptance) => !acceptance.revoked).sort((a, b) => a.id - b.id);
  const byKey = new Map<string, { acceptance: Acceptance; covered: CoveredFinding }[]>();
  for (const acceptance of active) {
    for (const covered of acceptance.findings) {
      const key = keyOf(covered.kind, covered.path);
      const list = byKey.get(key);
      if (list) list.push({ acceptance, covered });
      else byKey.set(key, [{ acceptance, covered }]);
    }
  }
  return {
    active,
    match(finding, snapshot) {
      if (UNACCEPTABLE_KINDS.has(finding.kind)) return null;
      for (const { acceptance, covered } of byKey.get(keyOf(finding.kind, finding.path)) ?? []) {
        if (acceptance.selection.snapshot !== undefined && acceptance.selection.snapshot !== snapshot)
          continue;
        // A finding about the set is covered by one accepted as such, a snapshot's by a snapshot's.
        if ((snapshot === null) !== (covered.snapshots.length === 0)) continue;
        // The same bytes; without an identity, the same snapshot (or the set itself).
        const same =
          covered.contentId !== undefined
            ? finding.contentId === covered.contentId
            : snapshot === null || covered.snapshots.includes(snapshot);
        if (same) return acceptance;
      }
      return null;
    },
  };
}

/** What acceptances need of a snapshot's stored result. */
export interface JudgedSnapshot {
  /** The verdict as it stands (after acceptances, when any applied). */
  verdict: Verdict;
  /** The scan's own verdict, when acceptances changed what counts. */
  verdictBeforeAcceptance?: Verdict;
  complete: boolean;
  findings: Finding[];
  /** Every finding of the snapshot, accepted or not. */
  findingCounts: Partial<Record<FindingKind, number>>;
  /** Of those, accepted ones. */
  acceptedCounts?: Partial<Record<FindingKind, number>>;
  detection?: { files: number; encryptedStrong: number };
}

type Counts = Partial<Record<FindingKind, number>>;

/** `findingCounts` without the accepted findings: what counts toward verdicts, metrics and alerts. */
export function countingCounts(snapshot: Pick<JudgedSnapshot, 'findingCounts' | 'acceptedCounts'>): Counts {
  if (!snapshot.acceptedCounts) return snapshot.findingCounts;
  const counts: Counts = {};
  for (const [kind, count] of Object.entries(snapshot.findingCounts) as [FindingKind, number][]) {
    const left = count - (snapshot.acceptedCounts[kind] ?? 0);
    if (left > 0) counts[kind] = left;
  }
  return counts;
}

/** The acceptances behind a list's accepted findings, each with how many it covers there, oldest first. */
export function acceptedBy(
  findings: readonly Pick<Finding, 'accepted'>[],
): { acceptance: AcceptanceMark; findings: number }[] {
  const by = new Map<number, { acceptance: AcceptanceMark; findings: number }>();
  for (const { accepted } of findings) {
    if (!accepted) continue;
    const entry = by.get(accepted.id);
    if (entry) entry.findings++;
    else by.set(accepted.id, { acceptance: accepted, findings: 1 });
  }
  return [...by.values()].sort((a, b) => a.acceptance.id - b.acceptance.id);
}

/** Findings that count: those nobody accepted. */
export function countingFindings<T extends Pick<Finding, 'accepted'>>(findings: readonly T[]): T[] {
  return findings.filter((finding) => !finding.accepted);
}

/**
 * The snapshot with `matcher`'s acceptances applied: accepted findings marked (marks of revoked
 * acceptances removed), `acceptedCounts` and the verdict from the findings that still count.
 * Idempotent: the scan's own verdict is kept in `verdictBeforeAcceptance` while anything is
 * accepted. Only listed findings can be accepted; findings counted but not kept still count.
 */
export function withAcceptances<T extends JudgedSnapshot>(
  snapshot: T,
  id: string,
  matcher: AcceptanceMatcher,
  thresholds: EncryptionThresholds,
): T {
  const scanVerdict = snapshot.verdictBeforeAcceptance ?? snapshot.verdict;
  const accepted: Counts = {};
  let strongEncrypted = 0;
  const findings = snapshot.findings.map((finding) => {
    const { accepted: _old, ...plain } = finding;
    const acceptance = matcher.match(plain, id);
    if (!acceptance) return plain;
    accepted[plain.kind] = (accepted[plain.kind] ?? 0) + 1;
    if (plain.kind === 'encrypted' && plain.severity === 'critical') strongEncrypted++;
    return { ...plain, accepted: markOf(acceptance) };
  });
  const { verdictBeforeAcceptance: _before, acceptedCounts: _counts, ...rest } = snapshot;
  if (Object.keys(accepted).length === 0) return { ...rest, verdict: scanVerdict, findings } as T;
  const verdict = snapshotVerdict({
    findingCounts: countingCounts({ findingCounts: snapshot.findingCounts, acceptedCounts: accepted }),
    complete: snapshot.complete,
    ...(snapshot.detection
      ? {
          detection: {
            files: snapshot.detection.files,
            encryptedStrong: Math.max(0, snapshot.detection.encryptedStrong - strongEncrypted),
          },
        }
      : {}),
    thresholds,
  });
  return { ...rest, verdict, verdictBeforeAcceptance: scanVerdict, acceptedCounts: accepted, findings } as T;
}

/** Set-level findings with `matcher`'s marks applied (marks of revoked acceptances removed). */
export function markSetFindings(findings: readonly Finding[], matcher: AcceptanceMatcher): Finding[] {
  return findings.map((finding) => {
    const { accepted: _old, ...plain } = finding;
    const acceptance = matcher.match(plain, null);
    return acceptance ? { ...plain, accepted: markOf(acceptance) } : plain;
  });
}

/** A finding where it was found: in a snapshot, or on the set itself (null). */
export interface LocatedFinding {
  snapshot: string | null;
  finding: Finding;
}

/** How a selection fell out over the findings it was tried on. */
export interface SelectionResult {
  /** Findings to cover: matched and not yet accepted. */
  matched: LocatedFinding[];
  /** Matched, but an acceptance in force already covers them. */
  alreadyAccepted: { located: LocatedFinding; acceptance: Acceptance }[];
  /** Matched, but of a kind that is never accepted. */
  unacceptable: LocatedFinding[];
}

/** A predicate for a `--path` glob; `**` also matches findings without a path (about a whole snapshot). */
export function pathMatcher(glob: string): (path: string) => boolean {
  const matches = picomatch(glob, { dot: true });
  return (path) => (path === '' ? glob === '**' : matches(path));
}

/** Applies a selection to findings (any order). */
export function selectFindings(
  findings: Iterable<LocatedFinding>,
  selection: AcceptanceSelection,
  matcher: AcceptanceMatcher,
): SelectionResult {
  const matchesPath = pathMatcher(selection.path);
  const result: SelectionResult = { matched: [], alreadyAccepted: [], unacceptable: [] };
  for (const located of findings) {
    const { snapshot, finding } = located;
    if (selection.snapshot !== undefined && snapshot !== selection.snapshot) continue;
    if (selection.kind !== undefined && finding.kind !== selection.kind) continue;
    if (!matchesPath(finding.path)) continue;
    if (UNACCEPTABLE_KINDS.has(finding.kind)) {
      result.unacceptable.push(located);
      continue;
    }
    const acceptance = matcher.match(finding, snapshot);
    if (acceptance) result.alreadyAccepted.push({ located, acceptance });
    else result.matched.push(located);
  }
  return result;
}

/** The covered-findings list of a new acceptance: one item per path, kind and content, with the snapshots each was seen in. */
export function coverFindings(matched: readonly LocatedFinding[]): CoveredFinding[] {
  const items = new Map<string, CoveredFinding>();
  for (const { snapshot, finding } of matched) {
    const key = `${keyOf(finding.kind, finding.path)}\u0000${finding.contentId ?? ''}\u0000${snapshot === null ? 'set' : 'snapshot'}`;
    let item = items.get(key);
    if (!item) {
      item = {
        path: finding.path,
        kind: finding.kind,
        severity: finding.severity,
        detail: finding.detail,
        ...(finding.contentId !== undefined ? { contentId: finding.contentId } : {}),
        snapshots: [],
      };
      items.set(key, item);
    }
    if (finding.severity === 'critical') item.severity = 'critical';
    if (snapshot !== null && !item.snapshots.includes(snapshot)) item.snapshots.push(snapshot);
  }
  return [...items.values()];
}
