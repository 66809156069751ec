/**
 * Layout of a set's snapshot timeline (pure): one bar per snapshot along a time axis, its height
 * and colour by verdict (height too, so the chart reads without colour), date ticks, and markers
 * for the last clean and last restorable snapshots. The SVG component only draws what this returns.
 */
import type { Verdict } from '../model/verdict.js';

/** A snapshot as the timeline needs it. */
export interface TimelineSnapshot {
  id: string;
  time: string;
  verdict: Verdict;
}

export interface TimelineBar {
  id: string;
  time: string;
  verdict: Verdict;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A labelled marker above a bar. */
export interface TimelineMarker {
  kind: 'last-clean' | 'last-restorable';
  label: string;
  x: number;
  /** Text anchor that keeps the label inside the chart. */
  anchor: 'start' | 'middle' | 'end';
  /** Vertical slot: 0 top, 1 below it (when both markers would overlap). */
  row: 0 | 1;
}

/** A date tick on the axis. */
export interface TimelineTick {
  x: number;
  label: string;
}

/** The laid-out timeline. */
export interface TimelineLayout {
  width: number;
  height: number;
  baseline: number;
  bars: TimelineBar[];
  markers: TimelineMarker[];
  ticks: TimelineTick[];
}

/** Chart geometry. */
export interface TimelineOptions {
  width?: number;
  lastClean?: string | null;
  lastRestorable?: string | null;
}

const HEIGHT = 150;
const BASELINE = 118;
const PADDING = 12;
/** Worse verdicts stand taller. */
const BAR_HEIGHT: Record<Verdict, number> = { clean: 30, unverified: 46, suspicious: 60, compromised: 76 };
const TICKS = 6;
const MARKER_ROOM = 140;

function dayLabel(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString();
  return spanMs > 2 * 86_400_000 ? iso.slice(0, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}Z`;
}

/** Lays out `snapshots` (any order). */
export function layoutTimeline(
  snapshots: readonly TimelineSnapshot[],
  options: TimelineOptions = {},
): TimelineLayout {
  const width = options.width ?? 960;
  const sorted = [...snapshots].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const first = sorted.length ? Date.parse(sorted[0]!.time) : 0;
  const last = sorted.length ? Date.parse(sorted.at(-1)!.time) : 0;
  const span = Math.max(last - first, 1);
  const inner = width - 2 * PADDING;
  const xOf = (ms: number) => (sorted.length <= 1 ? width / 2 : PADDING + ((ms - first) / span) * inner);
  const barWidth = Math.max(1.5, Math.min(12, (inner / Math.max(sorted.length, 1)) * 0.7));
  const bars = sorted.map((snapshot) => {
    const height = BAR_HEIGHT[snapshot.verdict];
    return {
      id: snapshot.id,
      time: snapshot.time,
      verdict: snapshot.verdict,
      x: xOf(Date.parse(snapshot.time)) - barWidth / 2,
      y: BASELINE - height,
      width: barWidth,
      height,
    };
  });
  const centre = (id: string | null | undefined) => {
    const bar = id ? bars.find((candidate) => candidate.id === id) : undefined;
    return bar ? bar.x + bar.width / 2 : null;
  };
  const anchorAt = (x: number): TimelineMarker['anchor'] =>
    x < MARKER_ROOM ? 'start' : x > width - MARKER_ROOM ? 'end' : 'middle';
  const markers: TimelineMarker[] = [];
  const cleanX = centre(options.lastClean);
  const restorableX = centre(options.lastRestorable);
  if (cleanX !== null && cleanX === restorableX) {
    markers.push({
      kind: 'last-clean',
      label: 'last clean · last restorable',
      x: cleanX,
      anchor: anchorAt(cleanX),
      row: 0,
    });
  } else {
    if (cleanX !== null)
      markers.push({ kind: 'last-clean', label: 'last clean', x: cleanX, anchor: anchorAt(cleanX), row: 0 });
    if (restorableX !== null) {
      const crowded = cleanX !== null && Math.abs(cleanX - restorableX) < MARKER_ROOM;
      markers.push({
        kind: 'last-restorable',
        label: 'last restorable',
        x: restorableX,
        anchor: anchorAt(restorableX),
        row: crowded ? 1 : 0,
      });
    }
  }
  const ticks: TimelineTick[] = [];
  if (sorted.length === 1) ticks.push({ x: width / 2, label: dayLabel(first, 0) });
  else if (sorted.length > 1) {
    for (let i = 0; i < TICKS; i++) {
      const ms = first + (span * i) / (TICKS - 1);
      ticks.push({ x: xOf(ms), label: dayLabel(ms, span) });
    }
  }
  return { width, height: HEIGHT, baseline: BASELINE, bars, markers, ticks };
}
