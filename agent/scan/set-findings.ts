/**
 * Destroyed backups as findings about the set (pure): a snapshot vouch knew that left the store,
 * and a baselined archive replaced under its name. They are kept in the set's index and stay,
 * counted by last-clean, metrics, alerts and the report, until a person accepts them.
 */
import type { SnapshotState } from '../model/snapshot-state.js';
import type { Finding } from '../model/findings.js';

/** Why a snapshot that left the store is or is not a finding. */
export type Removal = { expected: false; finding: Finding } | { expected: true; note: string };

const day = (iso: string) => iso.slice(0, 10);

/**
 * A snapshot in the index that the listing no longer holds. Expected (the backup tool's rotation)
 * when the set declares a retention and the snapshot is older than it at `now`; otherwise a
 * critical `snapshot-removed` finding whose path is the snapshot id.
 */
export function judgeRemoval(state: SnapshotState, retentionSeconds: number | undefined, now: Date): Removal {
  const ageSeconds = (now.getTime() - Date.parse(state.time)) / 1000;
  if (retentionSeconds !== undefined && ageSeconds >= retentionSeconds) {
    return {
      expected: true,
      note: `${state.id} left the store at ${Math.floor(ageSeconds / 86_400)} days old, past the set's retention (snapshots.retention): pruned, not a finding`,
    };
  }
  const where = state.object?.key ?? state.id;
  const baseline = state.baseline
    ? `its baseline of ${state.baseline.entries} entries was taken ${day(state.baseline.createdAt)}`
    : 'it had no baseline yet';
  const retention =
    retentionSeconds !== undefined
      ? `, younger than the set's retention of ${Math.round(retentionSeconds / 86_400)} days`
      : '';
  return {
    expected: false,
    finding: {
      kind: 'snapshot-removed',
      path: state.id,
      severity: 'critical',
      detail: `snapshot ${state.id} (${where}, taken ${day(state.time)}, last verdict ${state.verdict}) is no longer in the store${retention}; ${baseline}. Deleted or renamed: if nobody meant to, the backups themselves were attacked`,
    },
  };
}

/** Whether the store still holds a baselined version: `kept`, gone (with why), or not asked (a store without versions). */
export type BaselineVersionCheck = { kept: true } | { kept: false; detail: string } | null;

/**
 * A baselined archive whose object the store now reports with other bytes (size, ETag, VersionId
 * or digest), or a directory snapshot whose member set was replaced (integrity/member-replacement.ts):
 * the snapshot's `drift-object-changed` finding, lifted to the set as `snapshot-replaced`. Its contentId is the new object's, so a later, different replacement is
 * a new finding even after this one is accepted. The detail names the baselined VersionId and,
 * when the store says it still holds that version (`check`), the commands that read it back
 * (`--snapshot ID@VERSION`). Null when the snapshot was not replaced.
 */
export function replacementFinding(
  state: SnapshotState,
  set: string,
  check: BaselineVersionCheck = null,
): Finding | null {
  const changed = state.findings.find((finding) => finding.kind === 'drift-object-changed');
  if (!changed || !state.baseline) return null;
  const version = state.baseline.versionId;
  let original: string;
  if (state.object === undefined)
    original =
      "a directory snapshot: its baseline manifest lists each member's baselined size, digest, ETag and VersionId";
  else if (version === undefined)
    original =
      'no VersionId was recorded for the baseline (the store reported none: without versioning the original is gone unless another copy exists)';
  else if (check === null)
    original = `the baselined version is ${version} (the store was not asked whether it still holds it)`;
  else if (check.kept) {
    const ref = `${state.id}@${version}`;
    original = `the baselined version ${version} is still in the store: vouch recover ${set} --snapshot ${ref} --to DIR restores it, vouch drill ${set} --snapshot ${ref} drills it`;
  } else original = `the baselined version ${version} is no longer in the store (${check.detail})`;
  return {
    kind: 'snapshot-replaced',
    path: state.id,
    severity: 'critical',
    detail: `snapshot ${state.id} was replaced in the store after its baseline of ${day(state.baseline.createdAt)}: ${changed.path}: ${changed.detail.replace(/^object rewritten after its baseline: /, '')}; ${original}`,
    ...(changed.contentId !== undefined ? { contentId: changed.contentId } : {}),
  };
}

const identity = (finding: Finding) => `${finding.kind}\u0000${finding.path}\u0000${finding.contentId ?? ''}`;

/**
 * The set's findings after a scan: every one already held stays (until accepted, and accepted
 * ones stay listed, marked), and each fresh one not already held (same kind, path and content)
 * is added after them. `no-snapshots` is not kept here (scan status reports it).
 */
export function mergeSetFindings(held: readonly Finding[], fresh: readonly Finding[]): Finding[] {
  const merged = [...held];
  const known = new Set(held.map(identity));
  for (const finding of fresh) {
    if (known.has(identity(finding))) continue;
    known.add(identity(finding));
    merged.push(finding);
  }
  return merged;
}
