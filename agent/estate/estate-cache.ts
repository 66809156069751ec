/**
 * The estate read model, read once and shared: every metric of a scrape, every API request and
 * every console page within a short window get the same `EstateView` instead of each re-reading
 * the state directory. The daemon keeps one of these (keyed on the evidence status, dropped when a
 * job settles or the policy reloads); the metrics registry keeps one per scrape for callers that
 * hand it an uncached loader.
 *
 * Contract of `get()`:
 * - a view is reused while it is at most `ttlMs` old (by `clock`) and was built from the same key;
 * - a key that differs (by identity) from the one the view was built from builds a new view, so a
 *   page never says "intact" after another page said "broken";
 * - a load that fails is not kept: the caller that started it sees the failure, the next call loads again;
 * - calls that arrive while a load runs share it.
 * `invalidate()` drops the view; the next `get()` loads.
 */
import type { EstateView } from './estate-view.js';

/** Options of `createEstateCache`. */
export interface EstateCacheOptions<View, Key> {
  /** Builds the view; `key` is what `key()` returned for this call. */
  load(key: Key | undefined): Promise<View>;
  /**
   * What the view is built from and must match to be reused (the daemon: the evidence status,
   * itself cached by the ledger's files). Read on every `get()`; a rejection reads as undefined.
   * Absent: every view matches.
   */
  key?: () => Promise<Key>;
  /** How long a view is reused, ms. */
  ttlMs: number;
  /** Milliseconds on any steady scale (default `Date.now`; only differences are used). */
  clock?: () => number;
}

/** A shared, briefly reused read of the estate. */
export interface EstateCache<View = EstateView> {
  /** The current view (may be passed around unbound). */
  get: () => Promise<View>;
  /** Drops the view: the next `get()` loads. */
  invalidate: () => void;
}

/** Creates an estate cache (see the module comment for the contract). */
export function createEstateCache<View = EstateView, Key = never>(
  options: EstateCacheOptions<View, Key>,
): EstateCache<View> {
  const clock = options.clock ?? Date.now;
  let cached: { at: number; key: Key | undefined; view: Promise<View> } | null = null;
  const fresh = (key: Key | undefined): boolean =>
    cached !== null && clock() - cached.at <= options.ttlMs && cached.key === key;
  const load = (key: Key | undefined): Promise<View> => {
    const view = options.load(key);
    const entry = { at: clock(), key, view };
    cached = entry;
    view.catch(() => {
      if (cached === entry) cached = null;
    });
    return view;
  };
  return {
    get() {
      if (!options.key) return fresh(undefined) ? cached!.view : load(undefined);
      return options.key().then(
        (key) => (fresh(key) ? cached!.view : load(key)),
        () => (fresh(undefined) ? cached!.view : load(undefined)),
      );
    },
    invalidate() {
      cached = null;
    },
  };
}
