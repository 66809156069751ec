/**
 * `vouch drill --search`: find the newest snapshot that restores. Candidates are the set's clean
 * snapshots (as the state directory judges them), newest first, less those whose latest drill
 * already failed; each is drilled in turn — every drill recorded like any other — until one passes.
 * The search stops at the first pass: that snapshot is then the last restorable one — or after
 * `max` drills (default DEFAULT_SEARCH_MAX), so a set of 200 bad snapshots does not run 200
 * drills; the result then says how many candidates were left undrilled and the command that
 * continues (drilled candidates whose drill failed are skipped by the next search).
 */
import type { SetPolicy } from '../config/resolve-policy.js';
import { DEFAULT_SEARCH_MAX } from './search-cap.js';
import type { ScanProgress } from '../scan/progress.js';
import { readDrillIndex } from '../state/drill-index.js';
import { readSetIndex } from '../state/set-index.js';
import { drillStanding, latestDrills } from '../verdicts/last-clean.js';
import type { DrillReport } from '../model/drill.js';
import { runDrillReport, type DrillOptions } from './run-drill.js';

/** What a search did. */
export interface DrillSearch {
  set: string;
  /** Clean snapshots skipped because their latest drill failed, newest first. */
  skipped: { id: string; drill: string; finishedAt: string }[];
  /** Clean snapshots to try, newest first (the search stopped at the first pass). */
  candidates: string[];
  /** Every drill the search ran, in order. */
  drills: DrillReport[];
  /** The snapshot whose drill passed, or null when none did. */
  found: string | null;
  /** Most drills this search would run. */
  max: number;
  /** Set when the search stopped at `max` drills with candidates left: how many, and the command that continues. */
  capped?: { undrilled: number; next: string[]; continueWith: string };
}

/** The candidates (pure): clean snapshots newest first, split by whether their latest drill failed. */
export function searchCandidates(
  snapshots: readonly { id: string; time: string; verdict: string }[],
  drills: Parameters<typeof latestDrills>[0],
): { candidates: string[]; skipped: DrillSearch['skipped'] } {
  const latest = latestDrills(drills);
  const clean = snapshots
    .filter((snapshot) => snapshot.verdict === 'clean')
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const candidates: string[] = [];
  const skipped: DrillSearch['skipped'] = [];
  for (const snapshot of clean) {
    if (drillStanding(latest, snapshot.id) === 'drill-failed') {
      const drill = latest.get(snapshot.id)!;
      skipped.push({ id: snapshot.id, drill: drill.id ?? '', finishedAt: drill.finishedAt });
    } else {
      candidates.push(snapshot.id);
    }
  }
  return { candidates, skipped };
}

export { DEFAULT_SEARCH_MAX, parseSearchMax } from './search-cap.js';

/** Drills candidates newest first until one passes (see the module comment). */
export async function runDrillSearch(
  set: SetPolicy,
  options: Omit<DrillOptions, 'snapshot' | 'pickAs' | 'progress'> & {
    /** A fresh progress display per drill (each drill stops its own). */
    newProgress?: () => ScanProgress;
    /** Most drills to run (default DEFAULT_SEARCH_MAX). */
    max?: number;
  },
): Promise<DrillSearch> {
  const { newProgress, max = DEFAULT_SEARCH_MAX, ...drillOptions } = options;
  const [index, drillIndex] = await Promise.all([
    readSetIndex(options.stateDir, set.name),
    readDrillIndex(options.stateDir, set.name),
  ]);
  const { candidates, skipped } = searchCandidates(Object.values(index.snapshots), drillIndex.drills);
  const search: DrillSearch = { set: set.name, skipped, candidates, drills: [], found: null, max };
  for (const [position, id] of candidates.entries()) {
    if (options.signal?.aborted) break;
    if (search.drills.length >= max) {
      const next = candidates.slice(position);
      search.capped = {
        undrilled: next.length,
        next,
        continueWith: `vouch drill ${set.name} --search${max !== DEFAULT_SEARCH_MAX ? ` --max ${max}` : ''}`,
      };
      break;
    }
    const skippedNote = skipped.length ? `; skipped ${skipped.length} whose latest drill failed` : '';
    const report = await runDrillReport(set, {
      ...drillOptions,
      ...(newProgress ? { progress: newProgress() } : {}),
      snapshot: `id:${id}`,
      pickAs: {
        pick: 'last-clean',
        reason: `--search: clean candidate ${position + 1} of ${candidates.length}, newest first${skippedNote}`,
      },
    });
    search.drills.push(report);
    if (report.outcome === 'passed') {
      search.found = id;
      break;
    }
    if (report.outcome === 'aborted') break;
  }
  return search;
}
