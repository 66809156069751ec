/** The JSON API's documents, built from the estate view (pure). Field names follow the `--json` contract: added, never renamed. */
import { now as clockNow } from '../clock.js';
import { describeSource } from '../config/resolve-policy.js';
import type { SetView } from '../estate/estate-view.js';
import type { TaskKind } from '../model/tasks.js';
import type { SnapshotState } from '../model/snapshot-state.js';
import { listAcceptances } from '../triage/acceptance-listing.js';
import { countingFindings } from '../verdicts/acceptance.js';
import { latestDrills, lastCleanReport as judgeLastClean } from '../verdicts/last-clean.js';
import { VERDICTS } from '../model/verdict.js';

const newestFirst = (a: SnapshotState, b: SnapshotState) => Date.parse(b.time) - Date.parse(a.time);
const brief = (snapshot: SnapshotState | null) =>
  snapshot ? { id: snapshot.id, time: snapshot.time, verdict: snapshot.verdict } : null;

function location(set: SetView): string {
  return describeSource(set.policy.source);
}

/** A set's summary: readiness with reasons, headline snapshot, scan, drill and immutability facts. */
export function setSummary(set: SetView, nextRuns: Partial<Record<TaskKind, string | null>>) {
  const snapshots = set.state ? Object.values(set.state.index.snapshots) : [];
  const counts = Object.fromEntries(
    VERDICTS.map((verdict) => [verdict, snapshots.filter((s) => s.verdict === verdict).length]),
  );
  const audit = set.state?.audit ?? null;
  return {
    name: set.policy.name,
    location: location(set),
    ready: set.readiness.ready,
    readiness: set.readiness.checks,
    ...(set.error ? { error: set.error } : {}),
    lastClean: brief(set.lastClean),
    newest: brief(set.newest),
    snapshots: counts,
    scan: set.state?.scan ?? null,
    lastDrill: set.lastDrill
      ? {
          id: set.lastDrill.id,
          snapshot: set.lastDrill.snapshot,
          outcome: set.lastDrill.outcome,
          finishedAt: set.lastDrill.finishedAt,
          durationSeconds: set.lastDrill.durationSeconds,
        }
      : null,
    immutability: audit
      ? {
          ok: audit.ok,
          protected: audit.protected,
          auditedAt: audit.auditedAt,
          findings: audit.findings.length,
        }
      : null,
    store: storeFindingCounts(set),
    acceptances: {
      inForce: (set.state?.acceptances ?? []).filter((acceptance) => !acceptance.revoked).length,
      acceptedFindings: snapshots.reduce(
        (sum, snapshot) =>
          sum + Object.values(snapshot.acceptedCounts ?? {}).reduce((n, count) => n + (count ?? 0), 0),
        0,
      ),
    },
    targets: {
      rpoSeconds: set.policy.rpoSeconds ?? null,
      rtoSeconds: set.policy.rtoSeconds ?? null,
      drillMaxAgeSeconds: set.drillMaxAgeSeconds,
    },
    schedule: set.policy.schedule ? { ...set.policy.schedule, next: nextRuns } : null,
  };
}

/** Snapshots newest first with verdicts and (capped) findings, optionally of one verdict. */
export function snapshotList(
  set: SetView,
  options: { verdict?: string | undefined; findingsPerSnapshot: number },
) {
  const snapshots = set.state ? Object.values(set.state.index.snapshots).sort(newestFirst) : [];
  return snapshots
    .filter((snapshot) => options.verdict === undefined || snapshot.verdict === options.verdict)
    .map((snapshot) => ({
      id: snapshot.id,
      time: snapshot.time,
      verdict: snapshot.verdict,
      ...(snapshot.verdictBeforeAcceptance
        ? { verdictBeforeAcceptance: snapshot.verdictBeforeAcceptance }
        : {}),
      complete: snapshot.complete,
      entries: snapshot.entries,
      bytes: snapshot.bytes,
      lastScan: snapshot.lastScan,
      findingCounts: snapshot.findingCounts,
      ...(snapshot.acceptedCounts ? { acceptedCounts: snapshot.acceptedCounts } : {}),
      findings: snapshot.findings.slice(0, options.findingsPerSnapshot),
    }));
}

/**
 * The recovery lead's answer, as `vouch last-clean --json` gives it: the last clean snapshot, the
 * last restorable one (newest clean snapshot whose latest drill passed), the recommendation (last
 * restorable, else the last clean one marked not drilled), clean snapshots a failed drill demoted,
 * the newest snapshot's standing, and why each newer snapshot was rejected.
 */
export function lastCleanReport(set: SetView) {
  const snapshots = set.state ? Object.values(set.state.index.snapshots).sort(newestFirst) : [];
  const drills = set.state?.drills.drills ?? [];
  const report = judgeLastClean(snapshots, drills, clockNow());
  const latest = latestDrills(drills);
  return {
    set: set.policy.name,
    snapshots: snapshots.length,
    ...report,
    lastClean: brief(set.lastClean),
    lastRestorable: report.lastRestorable
      ? {
          ...report.lastRestorable,
          verdict: 'clean' as const,
          drill: latest.get(report.lastRestorable.id)!.id,
        }
      : null,
    rejected: report.rejected.map((rejected) => {
      const snapshot = set.state!.index.snapshots[rejected.id]!;
      return {
        ...rejected,
        findingCounts: snapshot.findingCounts,
        ...(snapshot.acceptedCounts ? { acceptedCounts: snapshot.acceptedCounts } : {}),
        // `reasons` stays the API's list of lines; `reasonsByKind` is `vouch last-clean --json`'s `reasons`.
        reasonsByKind: rejected.reasons,
        reasons: countingFindings(snapshot.findings)
          .slice(0, 5)
          .map((finding) => `${finding.kind}: ${finding.path}: ${finding.detail}`),
      };
    }),
    /** Findings about the store itself (removed, replaced, foreign objects); accepted ones carry `accepted`. */
    setFindings: set.state?.index.setFindings ?? [],
    openSetFindings: countingFindings(set.state?.index.setFindings ?? []).length,
  };
}

/** Open (not accepted) findings about the store itself, per kind. */
export function storeFindingCounts(set: SetView): { removed: number; replaced: number; foreign: number } {
  const open = countingFindings(set.state?.index.setFindings ?? []);
  const count = (kind: string) => open.filter((finding) => finding.kind === kind).length;
  return {
    removed: count('snapshot-removed'),
    replaced: count('snapshot-replaced'),
    foreign: count('foreign-object'),
  };
}

/** The set's acceptances, newest first, each with what it covers in the stored results now. */
export function acceptanceList(set: SetView) {
  return {
    set: set.policy.name,
    acceptances: set.state ? listAcceptances(set.state.index, set.state.acceptances) : [],
  };
}
