/**
 * A stand-in for the restore-drill runner with the contract's exact signature: it takes the state
 * lock, picks the last clean snapshot from the set index, "restores" for VOUCH_TEST_DRILL_MS
 * (default 50 ms, honouring the abort signal) and records a DrillResult in drills/SET.json, the
 * way the real runner does.
 */
import path from 'node:path';
import type { DrillOptions, RunDrill } from '../../agent/daemon/drill-contract.js';
import { writeFileAtomic } from '../../agent/fs/atomic-write.js';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { type DrillResult } from '../../agent/model/drill.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { acquireStateLock } from '../../agent/state/state-lock.js';
import { lastCleanSnapshot } from '../../agent/verdicts/last-clean.js';

/** Phase split of the fake restore, as fractions of its duration. */
export const FAKE_PHASES = { fetch: 0.4, extract: 0.3, verify: 0.2, app: 0.1 } as const;

/** The fake drill runner. `outcome` comes from VOUCH_TEST_DRILL_OUTCOME (default passed). */
export const fakeRunDrill: RunDrill = async (set, options: DrillOptions) => {
  const lock = await acquireStateLock(options.stateDir);
  try {
    const startedAt = new Date();
    const index = await readSetIndex(options.stateDir, set.name);
    const snapshot = lastCleanSnapshot(Object.values(index.snapshots));
    const ms = Number(process.env.VOUCH_TEST_DRILL_MS ?? 50);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      options.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    const finishedAt = new Date();
    const duration = (finishedAt.getTime() - startedAt.getTime()) / 1000;
    const outcome = options.signal?.aborted
      ? 'aborted'
      : ((process.env.VOUCH_TEST_DRILL_OUTCOME ?? 'passed') as DrillResult['outcome']);
    const result: DrillResult = {
      id: `${set.name}-${finishedAt.toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z-${Math.random().toString(16).slice(2, 6)}`,
      set: set.name,
      snapshot: snapshot?.id ?? null,
      snapshotTime: snapshot?.time ?? null,
      pick: 'last-clean',
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      outcome,
      phases: {
        fetch: duration * FAKE_PHASES.fetch,
        extract: duration * FAKE_PHASES.extract,
        verify: duration * FAKE_PHASES.verify,
        app: duration * FAKE_PHASES.app,
      },
      durationSeconds: duration,
      rtoTargetSeconds: set.rtoSeconds ?? null,
      withinRto: set.rtoSeconds === undefined ? null : duration <= set.rtoSeconds,
      sample: { fraction: 1, entries: snapshot?.entries ?? 0, bytes: snapshot?.bytes ?? 0 },
      projectedFullRestoreSeconds: null,
      failures:
        outcome === 'passed'
          ? []
          : [{ verifier: 'digest', path: 'db/orders.sql', detail: 'digest mismatch' }],
    };
    const drills = await readDrillIndex(options.stateDir, set.name);
    drills.drills = [...drills.drills, result].slice(-200);
    drills.updatedAt = finishedAt.toISOString();
    await writeFileAtomic(
      path.join(options.stateDir, 'drills', `${set.name}.json`),
      `${JSON.stringify(drills, null, 1)}\n`,
    );
    return result;
  } finally {
    await lock.release();
  }
};
