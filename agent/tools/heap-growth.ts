/**
 * Keeps V8's heap compact while a scan runs.
 *
 * A scan's live heap stays flat (tens of MiB) however many entries a snapshot has, but reading
 * entries produces garbage fast — per-entry objects, promises and buffers that live just long
 * enough to be promoted, then die — and V8's defaults let that garbage set the peak: the young
 * generation grows to 3 × 16 MiB per thread, and the old generation to several times the live
 * heap between full collections. While a hold is active:
 *
 * - the old generation may grow only `COMPACT_HEAP_GROWING_PERCENT` past the live heap before
 *   the next full collection (`--heap-growing-percent`);
 * - the young generation keeps its initial size (`--semi-space-growth-factor=1`: 1 MiB semi-spaces
 *   on 64-bit) instead of doubling up to its maximum. `--max-semi-space-size` would do the same
 *   but is read only when an isolate starts, i.e. on Node's command line; the growth factor is
 *   read each time the young generation would grow, so it can be set from here.
 *
 * Both flags are process-wide: they apply to this thread and the worker threads alike, from
 * their next collection. One catch: V8 resets a growth factor below 2 to 2 whenever an isolate is
 * configured, i.e. whenever a worker thread starts, so whoever starts a worker calls
 * `reassertCompactHeap()` once it is online. Measured in docs/performance.md (issue 13, eighth
 * round).
 *
 * Held for a whole scan run, CLI or daemon (scan-run.ts `scanWithLedger`: discovery lists every
 * snapshot before the deep reads start, and the young generation would grow during it). Nested
 * holds are counted; the last release restores V8's defaults (growing percent 0: chosen from
 * the collector's speed; growth factor 2), so a daemon between scans runs as Node does by default.
 */
import { setFlagsFromString } from 'node:v8';

/** How far (per cent) the old generation may grow past the live heap while a hold is active. */
export const COMPACT_HEAP_GROWING_PERCENT = 30;

/** V8's own defaults, restored when the last hold is released. */
const V8_DEFAULTS = ['--heap-growing-percent=0', '--semi-space-growth-factor=2'];

const COMPACT = [`--heap-growing-percent=${COMPACT_HEAP_GROWING_PERCENT}`, '--semi-space-growth-factor=1'];

let holders = 0;

/** Caps heap growth until the returned function is called (nested holds are counted). */
export function holdCompactHeap(): () => void {
  if (holders++ === 0) for (const flag of COMPACT) setFlagsFromString(flag);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) for (const flag of V8_DEFAULTS) setFlagsFromString(flag);
  };
}

/**
 * Sets the flags again while a hold is active: call it when a worker thread comes online (its
 * isolate's start reset the young generation's growth factor).
 */
export function reassertCompactHeap(): void {
  if (holders > 0) for (const flag of COMPACT) setFlagsFromString(flag);
}

/** How many holds are active (for tests). */
export function compactHeapHolds(): number {
  return holders;
}
