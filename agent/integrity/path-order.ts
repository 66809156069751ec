/**
 * The one order of entry paths wherever vouch sorts them — sorted manifests, the scan's entry
 * spool, merge-joins against baselines and history: UTF-16 code units, JavaScript's own `<`.
 * Any total order would do; using one everywhere is what matters.
 */

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
