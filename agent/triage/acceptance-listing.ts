/**
 * A set's acceptances as `vouch accept --list`, the API, the console and the report show them:
 * each with who, when, why and what it covered when made, whether it is still in force, and what
 * it covers in the stored results now (from the marks the last judgement left). Pure, plus the
 * reader the CLI uses.
 */
import { acceptancesOf, syncAcceptanceIndex } from '../state/acceptance-index.js';
import { readSetIndex } from '../state/set-index.js';
import { type SetIndex } from '../model/snapshot-state.js';
import { coveredCount } from '../verdicts/acceptance.js';
import { type Acceptance } from '../model/acceptance.js';

/** One acceptance as listed. */
export interface AcceptanceListing extends Acceptance {
  inForce: boolean;
  /** Findings covered when it was made (one per snapshot a covered finding was seen in). */
  count: number;
  /** Findings it covers in the stored results now, and their snapshots (newest first). */
  now: { findings: number; snapshots: string[] };
}

/** The `vouch accept SET --list --json` document. */
export interface AcceptanceListDocument {
  set: string;
  acceptances: AcceptanceListing[];
}

/** Lists `acceptances` against the set's stored results, newest first. */
export function listAcceptances(index: SetIndex, acceptances: readonly Acceptance[]): AcceptanceListing[] {
  const now = new Map<number, { findings: number; snapshots: Map<string, number> }>();
  const note = (id: number, snapshot: string | null, time: number) => {
    let entry = now.get(id);
    if (!entry) now.set(id, (entry = { findings: 0, snapshots: new Map() }));
    entry.findings++;
    if (snapshot !== null) entry.snapshots.set(snapshot, time);
  };
  for (const [id, state] of Object.entries(index.snapshots)) {
    for (const finding of state.findings)
      if (finding.accepted) note(finding.accepted.id, id, Date.parse(state.time));
  }
  for (const finding of index.setFindings ?? []) if (finding.accepted) note(finding.accepted.id, null, 0);
  return [...acceptances]
    .sort((a, b) => b.id - a.id)
    .map((acceptance) => {
      const covering = now.get(acceptance.id);
      return {
        ...acceptance,
        inForce: !acceptance.revoked,
        count: coveredCount(acceptance.findings),
        now: {
          findings: covering?.findings ?? 0,
          snapshots: covering
            ? [...covering.snapshots].sort((a, b) => b[1] - a[1]).map(([snapshot]) => snapshot)
            : [],
        },
      };
    });
}

/** Reads a set's acceptances for `--list`: the ledger folded in memory (no lock, nothing written). */
export async function readAcceptanceList(stateDir: string, set: string): Promise<AcceptanceListDocument> {
  const [index, acceptances] = await Promise.all([
    readSetIndex(stateDir, set),
    syncAcceptanceIndex(stateDir, { persist: false }),
  ]);
  return { set, acceptances: listAcceptances(index, acceptancesOf(acceptances, set)) };
}
