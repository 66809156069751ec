/**
 * Merge-join of two streams sorted by path (`comparePaths`): the way a scan compares a snapshot
 * with its baseline, or with the previous snapshot, holding one entry of each side at a time.
 */
import { comparePaths } from './path-order.js';

/** One path of either side: `left`, `right`, or both when the path is on both sides. */
export interface JoinedPath<L, R> {
  path: string;
  left?: L;
  right?: R;
}

/**
 * Yields every path of `left` and `right` once, in path order, with the entry of each side that
 * has it. Both inputs must be sorted by path without duplicates.
 */
export async function* joinByPath<L extends { path: string }, R extends { path: string }>(
  left: AsyncIterable<L>,
  right: AsyncIterable<R>,
): AsyncGenerator<JoinedPath<L, R>> {
  const leftIterator = left[Symbol.asyncIterator]();
  const rightIterator = right[Symbol.asyncIterator]();
  try {
    let l = await leftIterator.next();
    let r = await rightIterator.next();
    while (!l.done || !r.done) {
      const order = l.done ? 1 : r.done ? -1 : comparePaths(l.value.path, r.value.path);
      if (order < 0) {
        yield { path: l.value!.path, left: l.value! };
        l = await leftIterator.next();
      } else if (order > 0) {
        yield { path: r.value!.path, right: r.value! };
        r = await rightIterator.next();
      } else {
        yield { path: l.value!.path, left: l.value!, right: r.value! };
        l = await leftIterator.next();
        r = await rightIterator.next();
      }
    }
  } finally {
    await Promise.all([leftIterator.return?.(), rightIterator.return?.()]);
  }
}
