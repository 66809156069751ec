/**
 * The estate read model, shared by metrics, the API and the console: per set its stored state, readiness and headline facts;
 * per data set the 3-2-1-1-0 rule; the evidence status. Read from the state directory on demand
 * (metrics collection, API requests); nothing is kept in memory between reads.
 */
import { drillMaxAgeSeconds } from '../config/schedule-gap.js';
import type { Policy, SetPolicy } from '../config/resolve-policy.js';
import { describeError } from '../errors.js';
import { datasetReports } from '../immutability/dataset-report.js';
import type { DatasetRuleReport } from '../immutability/rule-3-2-1-1-0.js';
import type { DrillResult } from '../model/drill.js';
import type { SnapshotState } from '../model/snapshot-state.js';
import { readAcceptanceIndex } from '../state/acceptance-index.js';
import { loadSetState, type SetState } from '../state/set-state.js';
import { drillStanding, lastCleanSnapshot, latestDrills } from '../verdicts/last-clean.js';
import { isFutureDated } from '../verdicts/future-time.js';
import { countingFindings } from '../verdicts/acceptance.js';
import { assessReadiness, type Readiness } from '../verdicts/readiness.js';
import { evidenceStatus, type EvidenceStatus } from './evidence-status.js';
import { now as clockNow } from '../clock.js';

/** One set as reported. */
export interface SetView {
  policy: SetPolicy;
  /** Null when the set's state could not be read (`error` says why). */
  state: SetState | null;
  error?: string;
  readiness: Readiness;
  lastClean: SnapshotState | null;
  /** The newest clean snapshot whose latest drill passed (last-clean's "last restorable"), or null. */
  lastRestorable: SnapshotState | null;
  newest: SnapshotState | null;
  lastDrill: DrillResult | null;
  lastPassedDrill: DrillResult | null;
  drillMaxAgeSeconds: number | null;
}

/** The whole estate as reported. */
export interface EstateView {
  at: Date;
  sets: SetView[];
  datasets: DatasetRuleReport[];
  evidence: EvidenceStatus;
}

function newestSnapshot(snapshots: readonly SnapshotState[]): SnapshotState | null {
  let newest: SnapshotState | null = null;
  for (const snapshot of snapshots)
    if (!newest || Date.parse(snapshot.time) >= Date.parse(newest.time)) newest = snapshot;
  return newest;
}

/** The newest clean snapshot whose latest drill passed, or null (the same standing as last-clean's). */
function lastRestorableSnapshot(
  snapshots: readonly SnapshotState[],
  drills: readonly DrillResult[],
): SnapshotState | null {
  const latest = latestDrills(drills);
  let best: SnapshotState | null = null;
  for (const snapshot of snapshots) {
    if (snapshot.verdict !== 'clean' || drillStanding(latest, snapshot.id) !== 'restorable') continue;
    if (!best || Date.parse(snapshot.time) >= Date.parse(best.time)) best = snapshot;
  }
  return best;
}

function setView(
  set: SetPolicy,
  state: SetState | null,
  error: string | undefined,
  evidence: EvidenceStatus,
  now: Date,
): SetView {
  // Snapshots dated in the future are never fresh: no last clean, no RPO from them.
  const all = state ? Object.values(state.index.snapshots) : [];
  const snapshots = all.filter((snapshot) => !isFutureDated(snapshot.time, now));
  const drills = state?.drills.drills ?? [];
  const lastClean = lastCleanSnapshot(snapshots);
  const lastRestorable = lastRestorableSnapshot(snapshots, drills);
  const lastDrill = drills.at(-1) ?? null;
  const maxAge = drillMaxAgeSeconds(set);
  const readiness = assessReadiness({
    now,
    ...(set.rpoSeconds !== undefined ? { rpoSeconds: set.rpoSeconds } : {}),
    ...(set.rtoSeconds !== undefined ? { rtoSeconds: set.rtoSeconds } : {}),
    newestCleanSnapshotTime: lastClean?.time ?? null,
    lastRestorableSnapshotTime: lastRestorable?.time ?? null,
    drillMaxAgeSeconds: maxAge,
    drillsDeclared: set.drill.declared === true,
    lastDrill,
    immutabilityRequired: set.immutability !== undefined,
    immutability: state?.audit ? { ok: state.audit.ok, auditedAt: state.audit.auditedAt } : null,
    evidenceChainOk: evidence.ok,
    openStoreFindings: countingFindings(state?.index.setFindings ?? []),
  });
  if (error) readiness.ready = false;
  return {
    policy: set,
    state,
    ...(error ? { error } : {}),
    readiness,
    lastClean,
    lastRestorable,
    newest: newestSnapshot(all),
    lastDrill,
    lastPassedDrill: [...drills].reverse().find((drill) => drill.outcome === 'passed') ?? null,
    drillMaxAgeSeconds: maxAge,
  };
}

/**
 * Reads the estate's state for `policy`. A set whose state is unreadable is reported not ready
 * with the error. `known` is the evidence status when the caller already has it.
 */
export async function loadEstateView(
  policy: Policy,
  stateDir: string,
  now = clockNow(),
  known?: EvidenceStatus,
): Promise<EstateView> {
  const evidence =
    known ??
    (await evidenceStatus(stateDir).catch((error): EvidenceStatus => ({
      ok: false,
      records: 0,
      firstBad: { seq: -1, problem: describeError(error) },
      keyFingerprints: [],
    })));
  const acceptances = readAcceptanceIndex(stateDir);
  acceptances.catch(() => undefined); // each set reports it when it cannot be read
  const loaded = await Promise.all(
    policy.sets.map(async (set) => {
      try {
        return { set, state: await loadSetState(stateDir, set.name, acceptances), error: undefined };
      } catch (error) {
        return { set, state: null, error: describeError(error) };
      }
    }),
  );
  const states = new Map(loaded.flatMap(({ set, state }) => (state ? [[set.name, state] as const] : [])));
  return {
    at: now,
    sets: loaded.map(({ set, state, error }) => setView(set, state, error, evidence, now)),
    datasets: datasetReports(policy, states),
    evidence,
  };
}
