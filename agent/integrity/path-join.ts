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
 * Every path of `left` and `right` once, in path order, with the entry of each side that has it,
 * in batches (none empty). Both inputs come in batches, together sorted by path without
 * duplicates; the join waits only when a side's batch is used up, never per entry.
 */
export async function* joinByPath<L extends { path: string }, R extends { path: string }>(
  left: AsyncIterable<L[]>,
  right: AsyncIterable<R[]>,
): AsyncGenerator<JoinedPath<L, R>[]> {
  const leftSide = side(left);
  const rightSide = side(right);
  try {
    let out: JoinedPath<L, R>[] = [];
    let l = leftSide.peek() ?? (await leftSide.refill());
    let r = rightSide.peek() ?? (await rightSide.refill());
    while (l !== undefined || r !== undefined) {
      const order = l === undefined ? 1 : r === undefined ? -1 : comparePaths(l.path, r.path);
      if (order <= 0) leftSide.skip();
      if (order >= 0) rightSide.skip();
      out.push(
        order < 0
          ? { path: l!.path, left: l! }
          : order > 0
            ? { path: r!.path, right: r! }
            : { path: l!.path, left: l!, right: r! },
      );
      if (order <= 0) l = leftSide.peek();
      if (order >= 0) r = rightSide.peek();
      if (
        (order <= 0 && l === undefined && !leftSide.done) ||
        (order >= 0 && r === undefined && !rightSide.done)
      ) {
        // A side's batch is used up: what is joined so far goes out before waiting on it.
        yield out;
        out = [];
        if (l === undefined) l = await leftSide.refill();
        if (r === undefined) r = await rightSide.refill();
      }
    }
    if (out.length > 0) yield out;
  } finally {
    await Promise.all([leftSide.close(), rightSide.close()]);
  }
}

/** One input of the join: its batch at hand and where in it. */
function side<T>(batches: AsyncIterable<T[]>) {
  const iterator = batches[Symbol.asyncIterator]();
  let batch: T[] = [];
  let at = 0;
  let done = false;
  return {
    get done() {
      return done;
    },
    /** The next entry of the batch at hand, or undefined when it is used up. */
    peek: (): T | undefined => (at < batch.length ? batch[at] : undefined),
    skip: () => {
      at++;
    },
    /** The next entry, after reading batches until one holds it; undefined at the end. */
    refill: async (): Promise<T | undefined> => {
      while (at >= batch.length && !done) {
        const next = await iterator.next();
        if (next.done) done = true;
        else {
          batch = next.value;
          at = 0;
        }
      }
      return at < batch.length ? batch[at] : undefined;
    },
    close: async () => {
      await iterator.return?.();
    },
  };
}
