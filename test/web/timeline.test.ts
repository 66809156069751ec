import { describe, expect, it } from 'vitest';
import { layoutTimeline, type TimelineSnapshot } from '../../agent/web/timeline.js';

const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString();

describe('snapshot timeline layout', () => {
  it('places bars by time, taller for worse verdicts, and marks the last clean and last restorable snapshots', () => {
    const snapshots: TimelineSnapshot[] = [
      { id: 's3', time: day(3), verdict: 'compromised' },
      { id: 's0', time: day(0), verdict: 'clean' },
      { id: 's1', time: day(1), verdict: 'clean' },
      { id: 's2', time: day(2), verdict: 'suspicious' },
    ];
    const layout = layoutTimeline(snapshots, { width: 300, lastClean: 's1', lastRestorable: 's0' });
    expect(layout.bars.map((bar) => bar.id)).toEqual(['s0', 's1', 's2', 's3']);
    const centres = layout.bars.map((bar) => bar.x + bar.width / 2);
    expect(centres[0]).toBeCloseTo(12);
    expect(centres[3]).toBeCloseTo(288);
    expect(centres[2]! - centres[1]!).toBeCloseTo(centres[1]! - centres[0]!);
    const height = Object.fromEntries(layout.bars.map((bar) => [bar.verdict, bar.height]));
    expect(height.compromised).toBeGreaterThan(height.suspicious!);
    expect(height.suspicious).toBeGreaterThan(height.clean!);
    expect(layout.bars.every((bar) => bar.y + bar.height === layout.baseline)).toBe(true);
    // Two markers close together: the second goes one row down so the labels do not overlap.
    expect(layout.markers).toEqual([
      { kind: 'last-clean', label: 'last clean', x: centres[1], anchor: 'start', row: 0 },
      { kind: 'last-restorable', label: 'last restorable', x: centres[0], anchor: 'start', row: 1 },
    ]);
    expect(
      layoutTimeline(snapshots, { width: 800, lastClean: 's3', lastRestorable: 's0' }).markers.map(
        (marker) => [marker.anchor, marker.row],
      ),
    ).toEqual([
      ['end', 0],
      ['start', 0],
    ]);
    expect(layout.ticks[0]).toEqual({ x: 12, label: '2026-01-01' });
    expect(layout.ticks.at(-1)!.label).toBe('2026-01-04');
  });

  it('merges the markers when the last clean snapshot is also the last restorable one, and copes with one or no snapshot', () => {
    const one = layoutTimeline([{ id: 'only', time: day(0), verdict: 'clean' }], {
      width: 600,
      lastClean: 'only',
      lastRestorable: 'only',
    });
    expect(one.bars[0]!.x + one.bars[0]!.width / 2).toBe(300);
    expect(one.markers).toEqual([
      { kind: 'last-clean', label: 'last clean · last restorable', x: 300, anchor: 'middle', row: 0 },
    ]);
    expect(layoutTimeline([], {}).bars).toEqual([]);
  });

  it('keeps 365 snapshots a year apart inside the chart with visible bars', () => {
    const year = Array.from({ length: 365 }, (_, n) => ({
      id: `s${n}`,
      time: day(n),
      verdict: 'clean' as const,
    }));
    const layout = layoutTimeline(year, { width: 960 });
    expect(layout.bars[0]!.x).toBeGreaterThanOrEqual(0);
    expect(layout.bars.at(-1)!.x + layout.bars.at(-1)!.width).toBeLessThanOrEqual(960);
    expect(layout.bars[0]!.width).toBeGreaterThanOrEqual(1.5);
  });
});
