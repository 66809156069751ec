/** Last-clean selection (pure). */
import type { Verdict } from './snapshot-verdict.js';

/** The newest snapshot whose verdict is clean, or null. */
export function lastCleanSnapshot<T extends { time: string; verdict: Verdict }>(snapshots: readonly T[]): T | null {
  let best: T | null = null;
  for (const snapshot of snapshots) {
    if (snapshot.verdict !== 'clean') continue;
    if (!best || Date.parse(snapshot.time) >= Date.parse(best.time)) best = snapshot;
  }
  return best;
}
