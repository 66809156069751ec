/**
 * What the recovery plan is decided from, read from the state directory: each snapshot's stored
 * result (verdict, findings with acceptance marks), its baseline manifest's regular files, and
 * whether its latest drill failed (the drill index).
 * No store access.
 */
import type { DigestAlgorithm } from '../model/manifest.js';
import { readDrillIndex } from '../state/drill-index.js';
import { loadManifest } from '../state/manifest-store.js';
import { drillDemotion, latestDrills } from '../verdicts/last-clean.js';
import { readSetIndex, unlistedFindings } from '../state/set-index.js';
import type { PlanSnapshot } from './recovery-plan.js';

/** A plan snapshot plus the digest algorithm of its baseline (restores hash with it). */
export interface LoadedPlanSnapshot extends PlanSnapshot {
  algorithm: DigestAlgorithm | null;
}

/** Reads every snapshot of `set` with its baseline's regular files. */
export async function loadPlanInput(stateDir: string, set: string): Promise<LoadedPlanSnapshot[]> {
  const [index, drills] = await Promise.all([readSetIndex(stateDir, set), readDrillIndex(stateDir, set)]);
  const latest = latestDrills(drills.drills);
  const out: LoadedPlanSnapshot[] = [];
  for (const snapshot of Object.values(index.snapshots)) {
    const manifest = await loadManifest(stateDir, set, snapshot.id);
    let baseline: Map<string, { size: number; digest: string }> | null = null;
    const links = new Map<string, string>();
    if (manifest) {
      baseline = new Map();
      for (const entry of manifest.entries.values()) {
        if (entry.type === 'file' && entry.digest !== undefined)
          baseline.set(entry.path, { size: entry.size, digest: entry.digest });
        else if (entry.type === 'symlink') links.set(entry.path, entry.linkTarget ?? '');
      }
    }
    out.push({
      id: snapshot.id,
      time: snapshot.time,
      verdict: snapshot.verdict,
      complete: snapshot.complete,
      findings: snapshot.findings,
      unlisted: unlistedFindings(snapshot),
      baseline,
      links,
      demotedBy: drillDemotion(latest, snapshot.id)?.reason ?? null,
      ...((manifest?.header.object?.versionId ?? snapshot.baseline?.versionId)
        ? { baselineVersion: (manifest?.header.object?.versionId ?? snapshot.baseline?.versionId)! }
        : {}),
      algorithm: manifest?.header.algorithm ?? null,
    });
  }
  return out;
}
