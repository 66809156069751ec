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
 * - the young generation of this thread doubles only up to COMPACT_SEMI_SPACE_MB semi-spaces
 *   instead of V8's maximum (16 MiB on Node 20 and 22, 64 on 24): a watcher of this thread's
 *   collections sets `--semi-space-growth-factor=1` once it got there. `--max-semi-space-size`
 *   would be the plain way, but it is read only when an isolate starts, i.e. on Node's command
 *   line; the growth factor is read each time the young generation would grow, so it can be set
 *   from here. The check runs after collections as the thread yields, so the space can end one
 *   step past the cap when the thread runs long without yielding.
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
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** How far (per cent) the old generation may grow past the live heap while a hold is active. */
export const COMPACT_HEAP_GROWING_PERCENT = 30;

/**
 * The semi-space size (MiB) this thread's young generation may double up to while a hold is
 * active. Every young collection copies what is still live — a scan keeps hundreds of entries in
 * flight — so a larger young generation collects less often and copies less (8 MiB: half the
 * collections and ~4 % off a steady-state scan of the 36,000-file tree), but its garbage sits in
 * the peak: +8 to +20 MiB on the tree, on all of /usr and on archives, which put them over 200 MiB
 * (issue 13, tenth round). 4 MiB is where start-up leaves it on Node 20; the hold now keeps it
 * there by rule instead of by accident.
 */
export const COMPACT_SEMI_SPACE_MB = 4;

/** V8's own defaults, restored when the last hold is released. */
const V8_DEFAULTS = ['--heap-growing-percent=0', '--semi-space-growth-factor=2'];

let holders = 0;
/** The growth factor in force while held: 2 until this thread's semi-space reached its cap, then 1. */
let growthFactor = 2;
let watcher: PerformanceObserver | null = null;

/** This thread's semi-space size in bytes (the new space holds two). */
function semiSpaceBytes(): number {
  const space = getHeapSpaceStatistics().find((candidate) => candidate.space_name === 'new_space');
  return space ? space.space_size / 2 : 0;
}

/**
 * Sets the flags of a hold: the growing percent, and the growth factor the semi-space's size calls
 * for. Once the cap is reached the watcher of collections has nothing left to do and stops.
 */
function applyCompact(): void {
  if (semiSpaceBytes() >= COMPACT_SEMI_SPACE_MB * 2 ** 20) {
    growthFactor = 1;
    watcher?.disconnect();
    watcher = null;
  }
  setFlagsFromString(`--heap-growing-percent=${COMPACT_HEAP_GROWING_PERCENT}`);
  setFlagsFromString(`--semi-space-growth-factor=${growthFactor}`);
}

/** Caps heap growth until the returned function is called (nested holds are counted). */
export function holdCompactHeap(): () => void {
  if (holders++ === 0) {
    growthFactor = 2;
    applyCompact();
    // Below the cap (the CLI usually starts at it): after each collection of this thread, stop
    // the young generation's growth once it got there.
    if (growthFactor === 2) {
      watcher = new PerformanceObserver(() => {
        if (semiSpaceBytes() >= COMPACT_SEMI_SPACE_MB * 2 ** 20) applyCompact();
      });
      watcher.observe({ entryTypes: ['gc'] });
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) {
      watcher?.disconnect();
      watcher = null;
      for (const flag of V8_DEFAULTS) setFlagsFromString(flag);
    }
  };
}

/**
 * Sets the hold's flags again if one is active — for whoever starts a worker thread, once it is
 * online (V8 resets the growth factor when an isolate is configured; see the module comment).
 */
export function reassertCompactHeap(): void {
  if (holders > 0) applyCompact();
}

/** How many holds are active (for tests). */
export function compactHeapHolds(): number {
  return holders;
}
