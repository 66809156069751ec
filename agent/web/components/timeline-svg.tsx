/**
 * The snapshot timeline as inline SVG (drawn from layoutTimeline). It is a picture for sighted
 * mouse users: its figure caption says the same in words, and every bar's snapshot is listed in
 * the tables below, so the SVG is hidden from assistive technology and its links from the tab order.
 */
import type { FC } from 'hono/jsx';
import type { TimelineLayout } from '../timeline.js';
import { shortTime } from '../format.js';

/** Props: the layout, the caption, and where a bar links to (null: no link). */
export interface TimelineProps {
  layout: TimelineLayout;
  caption: string;
  href: (snapshot: string) => string | null;
}

const r = (value: number) => Math.round(value * 10) / 10;

/** The timeline figure. */
export const TimelineSvg: FC<TimelineProps> = ({ layout, caption, href }) => (
  <figure class="timeline">
    <svg
      viewBox={`0 0 ${layout.width} ${layout.height}`}
      width="100%"
      preserveAspectRatio="xMidYMid meet"
      aria-hidden="true"
      focusable="false"
    >
      <line class="axis" x1={0} x2={layout.width} y1={layout.baseline + 0.5} y2={layout.baseline + 0.5} />
      {layout.bars.map((bar) => {
        const rect = (
          <rect class={`bar ${bar.verdict}`} x={r(bar.x)} y={bar.y} width={r(bar.width)} height={bar.height}>
            <title>{`${bar.id} — ${bar.verdict} — ${shortTime(bar.time)}`}</title>
          </rect>
        );
        const link = href(bar.id);
        return link ? (
          <a href={link} tabindex={-1}>
            {rect}
          </a>
        ) : (
          rect
        );
      })}
      {layout.markers.map((marker) => {
        const textY = marker.row === 0 ? 12 : 27;
        const x = r(marker.x);
        // The label starts, ends or centres at the marker's line, staying inside the chart.
        const textX = marker.anchor === 'start' ? x - 5 : marker.anchor === 'end' ? x + 5 : x;
        return (
          <g class={`marker ${marker.kind}`}>
            <text x={textX} y={textY} text-anchor={marker.anchor}>
              {marker.label}
            </text>
            <path d={`M${x - 5} ${textY + 3}L${x + 5} ${textY + 3}L${x} ${textY + 9}Z`} />
            <line x1={x} x2={x} y1={textY + 9} y2={layout.baseline} />
          </g>
        );
      })}
      {layout.ticks.map((tick, i) => (
        <text
          class="tick"
          x={r(tick.x)}
          y={layout.baseline + 20}
          text-anchor={i === 0 ? 'start' : i === layout.ticks.length - 1 ? 'end' : 'middle'}
        >
          {tick.label}
        </text>
      ))}
    </svg>
    <figcaption>{caption}</figcaption>
    <ul class="legend" aria-hidden="true">
      <li>
        <span class="swatch clean"></span> clean
      </li>
      <li>
        <span class="swatch unverified"></span> unverified
      </li>
      <li>
        <span class="swatch suspicious"></span> suspicious
      </li>
      <li>
        <span class="swatch compromised"></span> compromised (taller bars are worse)
      </li>
    </ul>
  </figure>
);
