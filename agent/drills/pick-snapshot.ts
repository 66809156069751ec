/**
 * Which snapshot a drill restores (pure): `latest`, `last-clean` (the newest snapshot whose
 * verdict is clean and whose latest drill did not fail — a failed drill demotes a snapshot, so
 * the next drill walks back to the next candidate; when every clean snapshot's latest drill
 * failed, the one that failed longest ago is tried again), `random` (uniformly among the snapshots of
 * the policy's window, as AWS Backup restore testing does), or an explicit id. `id:NAME` always
 * means the snapshot with id NAME, so a snapshot named `latest`, `random` or `last-clean` can be
 * drilled too.
 */
import type { Snapshot } from '../sources/snapshot-discovery.js';
import type { DrillResult } from '../model/drill.js';
import { drillStanding, latestDrills, type DrillFacts } from '../verdicts/last-clean.js';
import type { Verdict } from '../model/verdict.js';
import { formatDuration } from '../config/duration.js';

/** The pick rules a request may name instead of a snapshot id. */
export const PICK_RULES = ['latest', 'last-clean', 'random'] as const;

/** What to restore: a pick rule, a snapshot id, or `id:` and a snapshot id. */
export type SnapshotRequest = 'latest' | 'last-clean' | 'random' | (string & {});

/** The prefix that makes a request an id whatever it spells. */
export const ID_PREFIX = 'id:';

/** The snapshot id a request names (`id:latest` → `latest`), or null for a pick rule. */
export function requestedId(request: SnapshotRequest): string | null {
  if (request.startsWith(ID_PREFIX)) return request.slice(ID_PREFIX.length);
  return pickKind(request) === 'explicit' ? request : null;
}

/** What `pickSnapshot` decides from. */
export interface PickInput {
  /** Snapshots in the store, oldest first. */
  snapshots: readonly Snapshot[];
  /** The latest scan verdict of a snapshot, if it was scanned. */
  verdictOf: (id: string) => Verdict | undefined;
  request: SnapshotRequest;
  /** The set's recorded drills (any order): `last-clean` walks back past snapshots whose latest drill failed. */
  drills?: readonly DrillFacts[];
  /** `random`: only snapshots younger than this. */
  windowSeconds?: number;
  now: Date;
  /** A number in [0, 1). */
  random: () => number;
}

/** The decision, with a sentence saying why (or why nothing could be picked). */
export type PickOutcome =
  | { snapshot: Snapshot; pick: DrillResult['pick']; reason: string }
  | { snapshot: null; pick: DrillResult['pick']; reason: string };

/** The kind of pick a request is. */
export function pickKind(request: SnapshotRequest): DrillResult['pick'] {
  const rules: readonly string[] = PICK_RULES;
  return rules.includes(request) && !request.startsWith(ID_PREFIX)
    ? (request as (typeof PICK_RULES)[number])
    : 'explicit';
}

/** Picks the snapshot to drill. */
export function pickSnapshot(input: PickInput): PickOutcome {
  const { snapshots, request } = input;
  const pick = pickKind(request);
  if (snapshots.length === 0)
    return { snapshot: null, pick, reason: 'the store holds no snapshots of this set' };
  // A snapshot that happens to be named like a rule: say how to ask for it.
  const namesake =
    pick !== 'explicit' && snapshots.some((candidate) => candidate.id === request)
      ? ` (a snapshot is named ${request}: ask for it with ${ID_PREFIX}${request})`
      : '';
  switch (pick) {
    case 'latest': {
      const snapshot = snapshots.at(-1)!;
      return { snapshot, pick, reason: `newest of ${snapshots.length} snapshots${namesake}` };
    }
    case 'last-clean': {
      const clean = [...snapshots]
        .reverse()
        .filter((snapshot) => input.verdictOf(snapshot.id) === 'clean')
        .sort((a, b) => b.time.getTime() - a.time.getTime());
      if (clean.length === 0)
        return {
          snapshot: null,
          pick,
          reason: `none of ${snapshots.length} snapshots has a clean verdict yet (run vouch scan first)`,
        };
      const latest = latestDrills(input.drills ?? []);
      const candidate = clean.findIndex((snapshot) => drillStanding(latest, snapshot.id) !== 'drill-failed');
      if (candidate === 0)
        return { snapshot: clean[0]!, pick, reason: `newest snapshot with a clean verdict${namesake}` };
      if (candidate > 0) {
        const skipped = clean
          .slice(0, candidate)
          .map((snapshot) => snapshot.id)
          .join(', ');
        return {
          snapshot: clean[candidate]!,
          pick,
          reason: `newest clean snapshot whose latest drill did not fail (walked back past ${skipped}: latest drill failed)${namesake}`,
        };
      }
      // Every clean snapshot failed its latest drill: retry the one that failed longest ago.
      const retry = [...clean].sort(
        (a, b) => Date.parse(latest.get(a.id)!.finishedAt) - Date.parse(latest.get(b.id)!.finishedAt),
      )[0]!;
      return {
        snapshot: retry,
        pick,
        reason: `every clean snapshot's latest drill failed; trying again the one that failed longest ago${namesake}`,
      };
    }
    case 'random': {
      const since =
        input.windowSeconds === undefined ? null : input.now.getTime() - input.windowSeconds * 1000;
      const pool =
        since === null ? snapshots : snapshots.filter((snapshot) => snapshot.time.getTime() >= since);
      const window =
        input.windowSeconds === undefined ? '' : ` of the last ${formatDuration(input.windowSeconds)}`;
      if (pool.length === 0) return { snapshot: null, pick, reason: `no snapshot${window}` };
      const snapshot = pool[Math.min(pool.length - 1, Math.floor(input.random() * pool.length))]!;
      return {
        snapshot,
        pick,
        reason: `picked at random among ${pool.length} snapshots${window}${namesake}`,
      };
    }
    default: {
      const id = requestedId(request)!;
      const snapshot = snapshots.find((candidate) => candidate.id === id);
      if (!snapshot)
        return {
          snapshot: null,
          pick,
          reason: `no snapshot has the id ${id} (newest: ${snapshots.at(-1)!.id})`,
        };
      return { snapshot, pick, reason: 'asked for by id' };
    }
  }
}
