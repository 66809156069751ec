/**
 * Drills that were killed (SIGKILL, power loss, an OOM kill) leave their directory behind. The
 * next drill start finds them: each one whose set's drill lock is free — so no live drill owns it
 * — is recorded as `aborted` (never passed) from its marker, and removed. Its sandbox processes
 * are already gone: bwrap dies with its parent.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DrillResult } from '../model/drill.js';
import { acquireDrillLock } from './drill-lock.js';
import type { DrillReport } from '../model/drill.js';
import type { AnchorSpec } from '../model/anchor-spec.js';
import { recordDrill } from './record-drill.js';
import {
  listWorkspaces,
  removeWorkspace,
  type LeftoverWorkspace,
  type WorkspaceMarker,
} from './workspace.js';
import { now as clockNow } from '../clock.js';

/** Options of `recoverInterruptedDrills`. */
export interface RecoverOptions {
  /** A set whose drill lock the caller already holds. */
  heldSet?: string;
  now?: () => Date;
  logger?: Logger;
  /** Where the ledger's heads are anchored (policy `evidence.anchor`). */
  anchor?: AnchorSpec;
}

/** The aborted record for an interrupted drill's marker (pure). */
export function abortedReport(marker: WorkspaceMarker, lastSeen: Date, foundAt: Date): DrillReport {
  const phase = marker.phase ?? 'pick';
  const duration = Math.max(0, (lastSeen.getTime() - Date.parse(marker.startedAt)) / 1000);
  return {
    id: marker.id,
    set: marker.set,
    snapshot: marker.snapshot ?? null,
    snapshotTime: marker.snapshotTime ?? null,
    pick: marker.pick,
    startedAt: marker.startedAt,
    finishedAt: lastSeen.toISOString(),
    outcome: 'aborted',
    phases: marker.phases ?? { fetch: 0, extract: 0, verify: 0, app: 0 },
    durationSeconds: Math.round(duration * 1000) / 1000,
    rtoTargetSeconds: marker.rtoTargetSeconds ?? null,
    withinRto: null,
    sample: { fraction: 0, entries: 0, bytes: 0 },
    projectedFullRestoreSeconds: null,
    failures: [
      {
        verifier: 'drill',
        detail: `interrupted during the ${phase} phase: process ${marker.pid} on ${marker.host} ended without finishing; its directory was removed at ${foundAt.toISOString()}`,
      },
    ],
    pickReason: '',
    verifiers: [],
    restore: null,
    sandbox: null,
    rpoTargetSeconds: null,
    notes: ['recorded by the next drill start'],
  };
}

async function recover(
  stateDir: string,
  leftover: LeftoverWorkspace,
  now: Date,
  logger?: Logger,
  anchor?: AnchorSpec,
): Promise<DrillResult | null> {
  let recorded: DrillResult | null = null;
  if (leftover.marker) {
    const lastSeen = await stat(path.join(leftover.dir, 'drill.json'))
      .then((stats) => stats.mtime)
      .catch(() => now);
    recorded = await recordDrill(stateDir, abortedReport(leftover.marker, lastSeen, now), now, anchor);
    logger?.warn(
      { drill: leftover.marker.id, set: leftover.set },
      'recorded an interrupted drill as aborted',
    );
  }
  await removeWorkspace(leftover.dir);
  return recorded;
}

/** Records and removes every interrupted drill no live process owns; returns the records written. */
export async function recoverInterruptedDrills(
  stateDir: string,
  options: RecoverOptions = {},
): Promise<DrillResult[]> {
  const now = (options.now ?? clockNow)();
  const recovered: DrillResult[] = [];
  const leftovers = await listWorkspaces(stateDir);
  const sets = [...new Set(leftovers.map((leftover) => leftover.set))];
  for (const set of sets) {
    let lock: { release(): Promise<void> } | null = null;
    if (set !== options.heldSet) {
      try {
        lock = await acquireDrillLock(stateDir, set, 'recovering interrupted drills');
      } catch {
        continue; // a live drill of that set owns its directory
      }
    }
    try {
      for (const leftover of leftovers.filter((candidate) => candidate.set === set)) {
        const result = await recover(stateDir, leftover, now, options.logger, options.anchor);
        if (result) recovered.push(result);
      }
    } finally {
      await lock?.release();
    }
  }
  return recovered;
}
