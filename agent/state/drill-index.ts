/**
 * Per-set index of recent drills: `STATE/drills/SET.json`, rewritten atomically after every drill.
 * A cache of the ledger's `drill` records, so metrics, the API and the report answer without
 * replaying the ledger. (Contract with the daemon/metrics work: see the drill contract.)
 */
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { jsonFileNames, readJsonFile } from '../fs/json-file.js';
import { now as clockNow } from '../clock.js';
import type { DrillResult, DrillIndex } from '../model/drill.js';

/** Drills kept per set in the index (the ledger keeps them all). */
export const MAX_INDEXED_DRILLS = 200;

function indexPath(stateDir: string, set: string): string {
  return path.join(stateDir, 'drills', `${set}.json`);
}

/** The sets that have a drill index in the state directory (sorted). */
export function drilledSetNames(stateDir: string): Promise<string[]> {
  return jsonFileNames(path.join(stateDir, 'drills'));
}

/** Reads a set's drill index; an empty index when the set never had a drill. */
export async function readDrillIndex(stateDir: string, set: string): Promise<DrillIndex> {
  return readJsonFile<DrillIndex>(
    indexPath(stateDir, set),
    () => ({ set, updatedAt: new Date(0).toISOString(), drills: [] }),
    `drill index for set ${set}`,
    (value) => (Array.isArray(value.drills) ? null : 'it has no "drills" list'),
  );
}

/** Adds a drill to its set's index (dropping the oldest past MAX_INDEXED_DRILLS) and writes it atomically. */
export async function addToDrillIndex(
  stateDir: string,
  result: DrillResult,
  now = clockNow(),
): Promise<DrillIndex> {
  const index = await readDrillIndex(stateDir, result.set);
  const drills = [...index.drills.filter((drill) => drill.id !== result.id), result].slice(
    -MAX_INDEXED_DRILLS,
  );
  const updated: DrillIndex = { set: result.set, updatedAt: now.toISOString(), drills };
  await writeFileAtomic(indexPath(stateDir, result.set), `${JSON.stringify(updated, null, 1)}\n`);
  return updated;
}
