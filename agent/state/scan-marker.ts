/**
 * Markers of running scans, `scans/runs/ID.json`: which run is going, by which process, which
 * sets it covers (and the run id each set's results are recorded under), and which snapshot it
 * is reading. Written atomically when a run starts and before each deep read; removed when the
 * run finishes; kept with status `interrupted` when a stop request ended it. A marker whose
 * process is gone while it still says `running` is the trace of a crash (scan-run.ts records it
 * as `scan-aborted` and continues the run).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';

/** What a marker records. */
export interface ScanMarker {
  /** This run's id (also the file name). */
  id: string;
  pid: number;
  host: string;
  startedAt: string;
  /** Set name → run id its snapshots are recorded under (a continued run keeps the id of the run it continues). */
  sets: Record<string, string>;
  status: 'running' | 'interrupted';
  /** The snapshot being read in full, when one was. */
  current?: { set: string; snapshot: string; since: string };
}

function runsDir(stateDir: string): string {
  return path.join(stateDir, 'scans', 'runs');
}

/** Every marker on disk (unreadable ones — a crash while creating them — are skipped). */
export async function listScanMarkers(stateDir: string): Promise<ScanMarker[]> {
  const markers: ScanMarker[] = [];
  for (const name of (await readdir(runsDir(stateDir)).catch(() => [] as string[])).sort()) {
    if (!name.endsWith('.json')) continue;
    try {
      markers.push(JSON.parse(await readFile(path.join(runsDir(stateDir), name), 'utf8')) as ScanMarker);
    } catch {
      await rm(path.join(runsDir(stateDir), name), { force: true });
    }
  }
  return markers;
}

/** Writes a run's marker atomically. */
export async function writeScanMarker(stateDir: string, marker: ScanMarker): Promise<void> {
  await writeFileAtomic(path.join(runsDir(stateDir), `${marker.id}.json`), `${JSON.stringify(marker)}\n`);
}

/** Removes a run's marker. */
export async function clearScanMarker(stateDir: string, id: string): Promise<void> {
  await rm(path.join(runsDir(stateDir), `${id}.json`), { force: true });
}
