/**
 * The recovery plan (pure): for every path, the newest version of it that detection and drift
 * judged intact, across the set's snapshots — what `vouch recover` restores.
 *
 * Rules, so a recovery lead can predict the plan:
 * - the paths considered are those of every snapshot from the newest clean one onwards (all
 *   snapshots when none is clean; a clean snapshot that cannot supply files, e.g. demoted by a
 *   failed drill, does not end the range): a file ransomware renamed or deleted in the newest snapshot is
 *   still recovered from the last snapshot that held it intact;
 * - a version (a path in one snapshot) is usable when the snapshot has a baseline manifest (its
 *   digests are what the restore is verified against), the snapshot's last scan read it
 *   completely, every finding of the snapshot is listed (a snapshot with more findings than the
 *   state keeps cannot say which files are hit), the snapshot's latest drill did not fail (the
 *   same demotion as last-clean's), and no finding that counts names the path — accepted
 *   findings do not count, so an accepted file is intact;
 * - a path is taken from its newest usable version; each newer version is listed with why it
 *   was rejected, and the changes made after the chosen version are the file's data-loss window;
 * - a path with no usable version is lost (the loss report), unless it is a ransomware artifact:
 *   a ransom note, or the renamed encrypted copy (`extension-change`) of a file that is recovered.
 * - a path that is a symbolic link in newer snapshots is taken from its newest regular version
 *   (the link is named as the rejection); a path that is only ever a link is listed in `skipped`,
 *   recorded, not created (as in drills), as are entries of the newest snapshot whose names no
 *   restore writes (`unsafe-entry`).
 * Only regular files are restored: directories follow from them, links are never created.
 */
import { ConfigError } from '../errors.js';
import { SnapshotVersionError } from '../drills/snapshot-version.js';
import { countingFindings } from '../verdicts/acceptance.js';
import type { Finding, FindingKind } from '../model/findings.js';
import type { Verdict } from '../model/verdict.js';

/** What the plan needs of one snapshot. */
export interface PlanSnapshot {
  id: string;
  time: string;
  verdict: Verdict;
  complete: boolean;
  findings: readonly Finding[];
  /** Findings counted but not listed in the state (over its per-snapshot cap). */
  unlisted: number;
  /** The baseline's regular files by path (size and digest), or null when the snapshot has no baseline. */
  baseline: ReadonlyMap<string, { size: number; digest: string }> | null;
  /**
   * Why a drill demoted the snapshot (`drillDemotion` in verdicts/last-clean.ts: its latest drill
   * failed), or absent: no file is taken from a demoted snapshot.
   */
  demotedBy?: string | null;
  /** The baseline's symbolic links by path (their targets): never created, but a file that became one is recovered from its last regular version. */
  links?: ReadonlyMap<string, string>;
  /** The VersionId of the archive object the baseline was taken from, when the store reported one. */
  baselineVersion?: string;
}

/** An entry of the newest snapshot that is not restored, and why. */
export interface SkippedEntry {
  path: string;
  snapshot: string;
  /** `symlink`: recorded, not created (as drills); `unsafe-name`: a name no restore writes (control characters, too long, escaping the target). */
  kind: 'symlink' | 'unsafe-name';
  reason: string;
}

/** Why a version of a path was not used. */
export interface Rejection {
  snapshot: string;
  time: string;
  /** One phrase: the findings' kinds and the first detail, or why the whole snapshot is unusable. */
  reason: string;
}

/** One path in the plan. */
export interface PlannedFile {
  path: string;
  snapshot: string;
  snapshotTime: string;
  size: number;
  digest: string;
  /** Newer versions not used, newest first. */
  rejected: Rejection[];
  /** The newest snapshot holds this path. */
  inNewest: boolean;
  /** Changes made to the file after `from` (the chosen version) up to the newest snapshot are lost; null when it comes from the newest snapshot. */
  lossWindow: { from: string; to: string } | null;
}

/** A path whose every version is compromised or unusable. */
export interface LostFile {
  path: string;
  /** Every version, newest first, with why it cannot be used. */
  versions: Rejection[];
  /** All of the file's content since it first appeared is lost. */
  lossWindow: { from: string; to: string };
}

/** A path that is ransomware's own: a ransom note, or the encrypted renamed copy of a recovered file. */
export interface Artifact {
  path: string;
  kind: 'ransom-note' | 'renamed-copy';
  detail: string;
}

/** The whole plan. */
export interface RecoveryPlan {
  set: string;
  /** `newest-intact`: each path's newest intact version; `snapshot`: one snapshot as it is (`--snapshot ID`). */
  mode: 'newest-intact' | 'snapshot';
  /** `snapshot` mode: files restored although a finding that counts names them. */
  flagged?: { path: string; reason: string }[];
  /** `snapshot` mode with `ID@VERSION`: the stored archive version restored (the one the baseline describes). */
  version?: string;
  /** The snapshot the plan recovers to (the newest), or null when the set has none with a baseline. */
  newest: { id: string; time: string; verdict: Verdict } | null;
  /** Snapshots considered, newest first, and whether each can supply files at all. */
  snapshots: { id: string; time: string; verdict: Verdict; usable: boolean; note?: string }[];
  files: PlannedFile[];
  lost: LostFile[];
  artifacts: Artifact[];
  /** Entries not restored although not lost to ransomware: symbolic links (recorded, not created) and unsafe names. */
  skipped: SkippedEntry[];
  counts: {
    files: number;
    fromNewest: number;
    fromOlder: number;
    lost: number;
    artifacts: number;
    bytes: number;
    skipped: number;
  };
}

/** A ransom note: the file is ransomware's own. */
const NOTE: FindingKind = 'ransom-note';

/** Findings about a file's content (others may name an archive object or a whole snapshot). */
const FILE_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'encrypted',
  'corrupted',
  'structure-invalid',
  'magic-mismatch',
  'ransom-note',
  'extension-change',
  'drift-added',
  'drift-modified',
  'drift-truncated',
]);

/** Why a whole snapshot cannot supply files, or null. */
function snapshotProblem(snapshot: PlanSnapshot): string | null {
  if (!snapshot.baseline) return 'no baseline (never read completely): nothing to verify a restore against';
  if (!snapshot.complete) return 'its last scan did not read it completely';
  if (snapshot.unlisted > 0)
    return `${snapshot.unlisted} findings beyond those the state lists: which files are hit is not known`;
  if (snapshot.demotedBy) return snapshot.demotedBy;
  return null;
}

/** Findings that count, by path. */
function findingsByPath(findings: readonly Finding[]): Map<string, Finding[]> {
  const byPath = new Map<string, Finding[]>();
  for (const finding of countingFindings(findings)) {
    if (!finding.path) continue;
    const list = byPath.get(finding.path);
    if (list) list.push(finding);
    else byPath.set(finding.path, [finding]);
  }
  return byPath;
}

function describe(findings: readonly Finding[]): string {
  const kinds = [...new Set(findings.map((finding) => finding.kind))].join(', ');
  return `${kinds}: ${findings[0]!.detail}`;
}

/**
 * Plans the recovery of a set from its snapshots (any order). `set` names it in the plan.
 */
export function planRecovery(set: string, input: readonly PlanSnapshot[]): RecoveryPlan {
  const snapshots = [...input].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const newest = snapshots[0];
  const empty = { files: 0, fromNewest: 0, fromOlder: 0, lost: 0, artifacts: 0, bytes: 0, skipped: 0 };
  if (!newest)
    return {
      set,
      mode: 'newest-intact',
      newest: null,
      snapshots: [],
      files: [],
      lost: [],
      artifacts: [],
      skipped: [],
      counts: empty,
    };
  const problems = new Map(snapshots.map((snapshot) => [snapshot.id, snapshotProblem(snapshot)]));
  // The newest clean snapshot that can supply files (a demoted one's content is not trusted).
  const lastClean = snapshots.findIndex(
    (snapshot) => snapshot.verdict === 'clean' && !problems.get(snapshot.id),
  );
  const considered = lastClean === -1 ? snapshots : snapshots.slice(0, lastClean + 1);
  const hits = new Map(snapshots.map((snapshot) => [snapshot.id, findingsByPath(snapshot.findings)]));

  // Every path of the snapshots considered: their baselines, and paths findings name there.
  const paths = new Set<string>();
  for (const snapshot of considered) {
    for (const path of snapshot.baseline?.keys() ?? []) paths.add(path);
    for (const path of snapshot.links?.keys() ?? []) paths.add(path);
  }
  for (const [path, found] of hits.get(newest.id)!)
    if (found.some((finding) => FILE_KINDS.has(finding.kind))) paths.add(path);

  const files: PlannedFile[] = [];
  const lost: LostFile[] = [];
  const unrecovered: { path: string; versions: Rejection[]; findings: Finding[]; firstSeen: string }[] = [];
  const skipped: SkippedEntry[] = [];
  for (const path of [...paths].sort()) {
    const rejected: Rejection[] = [];
    const seen: Finding[] = [];
    let chosen: PlannedFile | null = null;
    let firstSeen = newest.time;
    let newestLink: { snapshot: string; target: string } | null = null;
    let linkVersions = 0;
    for (const snapshot of snapshots) {
      const entry = snapshot.baseline?.get(path);
      const link = snapshot.links?.get(path);
      const found = hits.get(snapshot.id)!.get(path) ?? [];
      if (!entry && link === undefined && found.length === 0) continue;
      firstSeen = snapshot.time;
      const problem = problems.get(snapshot.id);
      const reject = (reason: string) =>
        rejected.push({ snapshot: snapshot.id, time: snapshot.time, reason });
      if (found.length) {
        seen.push(...found);
        reject(describe(found));
      } else if (!entry && link !== undefined) {
        newestLink ??= { snapshot: snapshot.id, target: link };
        linkVersions++;
        reject(`a symbolic link here (→ ${link}): links are recorded, not created`);
      } else if (problem) {
        reject(problem);
      } else if (!entry) {
        reject('not a regular file in its baseline');
      } else {
        chosen = {
          path,
          snapshot: snapshot.id,
          snapshotTime: snapshot.time,
          size: entry.size,
          digest: entry.digest,
          rejected: [...rejected],
          inNewest: newest.baseline?.has(path) ?? false,
          lossWindow: snapshot.id === newest.id ? null : { from: snapshot.time, to: newest.time },
        };
        break;
      }
    }
    if (chosen) files.push(chosen);
    else if (newestLink && linkVersions === rejected.length) {
      skipped.push({
        path,
        snapshot: newestLink.snapshot,
        kind: 'symlink',
        reason: `symbolic link → ${newestLink.target}: recorded, not created (as drills)`,
      });
    } else if (rejected.length) unrecovered.push({ path, versions: rejected, findings: seen, firstSeen });
  }
  skipped.push(...unsafeNames(newest));

  // Ransomware's own files are not data lost.
  const recovered = new Set(files.map((file) => file.path));
  const artifacts: Artifact[] = [];
  for (const candidate of unrecovered) {
    if (candidate.findings.some((finding) => finding.kind === NOTE)) {
      artifacts.push({
        path: candidate.path,
        kind: 'ransom-note',
        detail: candidate.findings.find((finding) => finding.kind === NOTE)!.detail,
      });
      continue;
    }
    const rename = candidate.findings.find(
      (finding) => finding.kind === 'extension-change' && /^renamed from /.test(finding.detail),
    );
    const original = rename?.detail.replace(/^renamed from /, '');
    if (original && recovered.has(original)) {
      artifacts.push({
        path: candidate.path,
        kind: 'renamed-copy',
        detail: `the encrypted, renamed copy of ${original}, which is recovered`,
      });
      continue;
    }
    lost.push({
      path: candidate.path,
      versions: candidate.versions,
      lossWindow: { from: candidate.firstSeen, to: newest.time },
    });
  }

  const fromNewest = files.filter((file) => file.snapshot === newest.id).length;
  return {
    set,
    mode: 'newest-intact',
    newest: { id: newest.id, time: newest.time, verdict: newest.verdict },
    snapshots: snapshots.map((snapshot) => {
      const problem = problems.get(snapshot.id);
      return {
        id: snapshot.id,
        time: snapshot.time,
        verdict: snapshot.verdict,
        usable: !problem,
        ...(problem ? { note: problem } : {}),
      };
    }),
    files,
    lost,
    artifacts,
    skipped,
    counts: {
      files: files.length,
      fromNewest,
      fromOlder: files.length - fromNewest,
      lost: lost.length,
      artifacts: artifacts.length,
      bytes: files.reduce((sum, file) => sum + file.size, 0),
      skipped: skipped.length,
    },
  };
}

/** Entries of `snapshot` no restore writes (`unsafe-entry` findings that count: control characters, over-long or escaping names). */
function unsafeNames(snapshot: PlanSnapshot): SkippedEntry[] {
  return countingFindings(snapshot.findings)
    .filter((finding) => finding.kind === 'unsafe-entry' && finding.path)
    .map((finding) => ({
      path: finding.path,
      snapshot: snapshot.id,
      kind: 'unsafe-name' as const,
      reason: finding.detail,
    }));
}

/** The symbolic links of `snapshot`, recorded, not created. */
function links(snapshot: PlanSnapshot): SkippedEntry[] {
  return [...(snapshot.links ?? [])].map(([path, target]) => ({
    path,
    snapshot: snapshot.id,
    kind: 'symlink' as const,
    reason: `symbolic link → ${target}: recorded, not created (as drills)`,
  }));
}

/** The next usable version of `path` older than `snapshot` (for a restore whose verification failed), or null. Pure. */
export function nextVersion(
  input: readonly PlanSnapshot[],
  path: string,
  olderThan: string,
): Omit<PlannedFile, 'rejected' | 'inNewest' | 'lossWindow'> | null {
  const snapshots = [...input].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const start = snapshots.findIndex((snapshot) => snapshot.id === olderThan);
  for (const snapshot of snapshots.slice(start + 1)) {
    const entry = snapshot.baseline?.get(path);
    if (!entry || snapshotProblem(snapshot)) continue;
    if (countingFindings(snapshot.findings).some((finding) => finding.path === path)) continue;
    return {
      path,
      snapshot: snapshot.id,
      snapshotTime: snapshot.time,
      size: entry.size,
      digest: entry.digest,
    };
  }
  return null;
}

/**
 * `--snapshot ID`: one snapshot as it is — every regular file of its baseline, whatever detection
 * said of it; files a finding that counts names are listed in `flagged`. Throws when the snapshot
 * is unknown or has no baseline to verify against.
 */
export function snapshotPlan(
  set: string,
  input: readonly PlanSnapshot[],
  id: string,
  version: string | null = null,
): RecoveryPlan {
  const snapshot = input.find((candidate) => candidate.id === id);
  if (!snapshot)
    throw new ConfigError(
      `set ${set} has no snapshot ${id} in its state (run vouch scan, or see vouch last-clean ${set})`,
    );
  if (!snapshot.baseline)
    throw new ConfigError(
      `snapshot ${id} has no baseline yet (never read completely): a restore could not be verified`,
    );
  if (version !== null && snapshot.baselineVersion !== version) {
    const of = snapshot.baselineVersion
      ? `its baseline is of version ${snapshot.baselineVersion}`
      : 'its baseline names no version (the store reported none when it was taken)';
    throw new SnapshotVersionError(
      `set ${set}: snapshot ${id}@${version}: no baseline was recorded for that version (${of}): a restore of it could not be verified`,
    );
  }
  // The findings that count describe the object the last scan read; a version read back is the baselined original, not that object.
  const hits = version === null ? findingsByPath(snapshot.findings) : new Map<string, Finding[]>();
  const files: PlannedFile[] = [...snapshot.baseline]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, entry]) => ({
      path,
      snapshot: id,
      snapshotTime: snapshot.time,
      size: entry.size,
      digest: entry.digest,
      rejected: [],
      inNewest: true,
      lossWindow: null,
    }));
  const flagged = files
    .filter((file) => hits.has(file.path))
    .map((file) => ({ path: file.path, reason: describe(hits.get(file.path)!) }));
  return {
    set,
    mode: 'snapshot',
    flagged,
    ...(version !== null ? { version } : {}),
    newest: { id, time: snapshot.time, verdict: snapshot.verdict },
    snapshots: [
      {
        id,
        time: snapshot.time,
        verdict: snapshot.verdict,
        usable: !snapshot.demotedBy,
        ...(snapshot.demotedBy ? { note: snapshot.demotedBy } : {}),
      },
    ],
    files,
    lost: [],
    artifacts: [],
    skipped: [...links(snapshot), ...unsafeNames(snapshot)],
    counts: {
      files: files.length,
      fromNewest: files.length,
      fromOlder: 0,
      lost: 0,
      artifacts: 0,
      bytes: files.reduce((sum, file) => sum + file.size, 0),
      skipped: (snapshot.links?.size ?? 0) + unsafeNames(snapshot).length,
    },
  };
}
