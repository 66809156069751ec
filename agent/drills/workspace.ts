/**
 * A drill's fresh, empty directory under the state directory, and the marker that lets the next
 * start find and account for a drill that was killed:
 *
 *   STATE/drills/work/SET/ID/
 *     drill.json        marker: id, set, pick, start time, pid, last phase (rewritten atomically)
 *     box/restore/      the restored tree
 *     box/scratch/      HOME and room for throwaway servers; box/ is the sandbox's /drill
 *     fetch/            a remote archive downloaded before extraction
 *     files/            per-run files of unsandboxed commands
 *
 * The whole directory is removed when the drill ends, passed or not.
 */
import { chmod, mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { DrillPhaseSeconds, DrillResult } from '../model/drill.js';
import { removeTree } from './remove-tree.js';

/** What the marker records, so an interrupted drill can be recorded as aborted. */
export interface WorkspaceMarker {
  id: string;
  set: string;
  pick: DrillResult['pick'];
  startedAt: string;
  pid: number;
  host: string;
  snapshot?: string | null;
  snapshotTime?: string | null;
  /** The phase running when the marker was last written. */
  phase?: keyof DrillPhaseSeconds | 'pick';
  phases?: DrillPhaseSeconds;
  rtoTargetSeconds?: number | null;
}

/** A drill's directories (host paths). */
export interface DrillWorkspace {
  dir: string;
  boxDir: string;
  restoreDir: string;
  scratchDir: string;
  fetchDir: string;
  filesDir: string;
  marker: WorkspaceMarker;
}

/** `STATE/drills/work`. */
export function workRoot(stateDir: string): string {
  return path.join(stateDir, 'drills', 'work');
}

const markerPath = (dir: string) => path.join(dir, 'drill.json');

/** Creates a drill's directory (it must not exist yet) and its marker. */
export async function createWorkspace(stateDir: string, marker: WorkspaceMarker): Promise<DrillWorkspace> {
  const setDir = path.join(workRoot(stateDir), marker.set);
  // Search-only for others: a sandbox user other than vouch's must reach box/, never list or read the rest.
  await mkdir(setDir, { recursive: true, mode: 0o711 });
  await chmod(setDir, 0o711);
  const dir = path.join(setDir, marker.id);
  await mkdir(dir, { mode: 0o711 }); // fails if it exists: a drill never reuses a directory
  await chmod(dir, 0o711);
  await writeFileAtomic(markerPath(dir), `${JSON.stringify(marker)}\n`);
  const workspace: DrillWorkspace = {
    dir,
    boxDir: path.join(dir, 'box'),
    restoreDir: path.join(dir, 'box', 'restore'),
    scratchDir: path.join(dir, 'box', 'scratch'),
    fetchDir: path.join(dir, 'fetch'),
    filesDir: path.join(dir, 'files'),
    marker,
  };
  // The box is the sandbox's only writable mount: world-traversable like any /home, owned by vouch.
  await mkdir(workspace.boxDir, { mode: 0o755 });
  await mkdir(workspace.restoreDir, { mode: 0o755 });
  await mkdir(workspace.scratchDir, { mode: 0o755 });
  await mkdir(workspace.fetchDir, { mode: 0o700 });
  return workspace;
}

/** Records progress in the marker (what an aborted drill's record will say). */
export async function updateMarker(
  workspace: DrillWorkspace,
  update: Partial<WorkspaceMarker>,
): Promise<void> {
  Object.assign(workspace.marker, update);
  await writeFileAtomic(markerPath(workspace.dir), `${JSON.stringify(workspace.marker)}\n`);
}

/** A drill directory left on disk. */
export interface LeftoverWorkspace {
  set: string;
  dir: string;
  /** Null when the marker is missing or unreadable (killed while the directory was being made). */
  marker: WorkspaceMarker | null;
}

/** Every drill directory on disk, by set. */
export async function listWorkspaces(stateDir: string): Promise<LeftoverWorkspace[]> {
  const out: LeftoverWorkspace[] = [];
  const sets = await readdir(workRoot(stateDir)).catch(() => [] as string[]);
  for (const set of sets.sort()) {
    const ids = await readdir(path.join(workRoot(stateDir), set)).catch(() => [] as string[]);
    for (const id of ids.sort()) {
      const dir = path.join(workRoot(stateDir), set, id);
      let marker: WorkspaceMarker | null = null;
      try {
        marker = JSON.parse(await readFile(markerPath(dir), 'utf8')) as WorkspaceMarker;
      } catch {
        marker = null;
      }
      out.push({ set, dir, marker });
    }
  }
  return out;
}

/** Removes a drill's directory (links never followed), and its set's folder once empty. */
export async function removeWorkspace(dir: string): Promise<void> {
  await removeTree(dir);
  await rmdir(path.dirname(dir)).catch(() => undefined);
}
