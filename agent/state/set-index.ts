/**
 * Per-set index of the latest result for each snapshot: `sets/SET.json`. A cache of what the
 * ledger records, rewritten atomically after each snapshot so `last-clean`, metrics and the API
 * answer without replaying the ledger.
 */
import path from 'node:path';
import type { Finding, FindingKind } from '../model/findings.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { jsonFileNames, readJsonFile } from '../fs/json-file.js';
import type { SetIndex } from '../model/snapshot-state.js';

/** Findings kept per snapshot in the index and ledger; the rest are counted. */
export const MAX_STORED_FINDINGS = 1000;

/** Findings counted but not listed: the index keeps only the first MAX_STORED_FINDINGS of a snapshot. */
export function unlistedFindings(snapshot: {
  findings: readonly Finding[];
  findingCounts: Partial<Record<FindingKind, number>>;
}): number {
  const total = Object.values(snapshot.findingCounts).reduce((sum, count) => sum + (count ?? 0), 0);
  return Math.max(0, total - snapshot.findings.length);
}

function indexPath(stateDir: string, set: string): string {
  return path.join(stateDir, 'sets', `${set}.json`);
}

/** The sets that have a set index in the state directory (sorted). */
export function indexedSetNames(stateDir: string): Promise<string[]> {
  return jsonFileNames(path.join(stateDir, 'sets'));
}

/**
 * Reads a set's index (empty when the set was never scanned). Its `snapshots` has no prototype:
 * snapshot ids are names found in the store, and a folder called `constructor` or `__proto__`
 * must be a snapshot like any other — not Object's constructor when looked up before its first
 * scan, nor the record's prototype when its state is stored (it was then never written).
 */
export async function readSetIndex(stateDir: string, set: string): Promise<SetIndex> {
  const index = await readJsonFile<SetIndex>(
    indexPath(stateDir, set),
    () => ({ set, updatedAt: new Date(0).toISOString(), snapshots: {} }),
    `state index for set ${set}`,
    (value) =>
      value.snapshots && typeof value.snapshots === 'object' && !Array.isArray(value.snapshots)
        ? null
        : 'it has no "snapshots" object',
  );
  return {
    ...index,
    snapshots: Object.assign(Object.create(null) as SetIndex['snapshots'], index.snapshots),
  };
}

/** The object key each archive snapshot was last read from, by id (discovery keeps these ids when names collide). */
export function snapshotOwners(index: SetIndex): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [id, state] of Object.entries(index.snapshots))
    if (state.object?.key) owners.set(id, state.object.key);
  return owners;
}

/** Atomically writes a set's index. */
export async function writeSetIndex(stateDir: string, index: SetIndex): Promise<void> {
  await writeFileAtomic(indexPath(stateDir, index.set), `${JSON.stringify(index, null, 1)}\n`);
}
