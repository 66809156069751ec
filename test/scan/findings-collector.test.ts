/**
 * The findings a scan keeps do not depend on the order the analysis workers answer in: the same
 * findings arriving in any order keep the same ones, in path order.
 */
import { describe, expect, it } from 'vitest';
import { FindingsCollector } from '../../agent/scan/findings-collector.js';
import type { Finding } from '../../agent/model/findings.js';

function finding(path: string, kind: Finding['kind'] = 'encrypted'): Finding {
  return { path, kind, severity: 'critical', detail: `${kind} at ${path}` };
}

/** A deterministic shuffle (LCG) of `items`. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('FindingsCollector', () => {
  const all = Array.from({ length: 60 }, (_, i) =>
    finding(`dir-${i % 7}/file-${String(i).padStart(3, '0')}.csv`, i % 3 === 0 ? 'ransom-note' : 'encrypted'),
  );

  it('keeps the same findings in path order whatever order they arrive in', () => {
    const runs = [1, 2, 3, 4].map((seed) => {
      const collector = new FindingsCollector(1000);
      for (const item of shuffled(all, seed)) collector.add(item);
      return collector.kept.map((kept) => `${kept.path} ${kept.kind}`);
    });
    for (const run of runs) expect(run).toEqual(runs[0]);
    expect(runs[0]).toEqual([...runs[0]!].sort());
  });

  it('keeps the first findings in path order when there are more than it keeps, and counts them all', () => {
    const expected = [...all]
      .map((item) => item.path)
      .sort()
      .slice(0, 10);
    for (const seed of [5, 6, 7]) {
      const collector = new FindingsCollector(10);
      for (const item of shuffled(all, seed)) collector.add(item);
      expect(collector.kept.map((kept) => kept.path)).toEqual(expected);
      expect(collector.total).toBe(60);
      expect(collector.omitted).toBe(50);
    }
  });
});
