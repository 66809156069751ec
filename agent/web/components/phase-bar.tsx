/** A drill's phases as one stacked bar against its RTO (SVG attributes only: the page's CSP allows no inline styles). */
import type { FC } from 'hono/jsx';
import type { DrillPhaseSeconds } from '../../model/drill.js';
import { duration } from '../format.js';

const PHASES = ['fetch', 'extract', 'verify', 'app'] as const;
const WIDTH = 240;

/** Props: phase seconds, the restore time judged (projected when sampled), the RTO. */
export interface PhaseBarProps {
  phases: DrillPhaseSeconds;
  restoreSeconds: number;
  rtoSeconds: number | null;
}

/** The bar and its text legend (the legend carries the numbers; the bar only shows proportions). */
export const PhaseBar: FC<PhaseBarProps> = ({ phases, restoreSeconds, rtoSeconds }) => {
  const scale = Math.max(restoreSeconds, rtoSeconds ?? 0, 0.001);
  let x = 0;
  const parts = PHASES.map((phase) => {
    const width = Math.max(0, (phases[phase] / scale) * WIDTH);
    const part =
      width > 0 ? (
        <rect
          class={`phase ${phase}`}
          x={Math.round(x * 100) / 100}
          y={2}
          width={Math.max(0.75, Math.round(width * 100) / 100)}
          height={10}
        />
      ) : null;
    x += width;
    return part;
  });
  const rtoX = rtoSeconds ? Math.min(WIDTH - 1, (rtoSeconds / scale) * WIDTH) : null;
  return (
    <div class="phases">
      <svg
        class="phase-bar"
        viewBox={`0 0 ${WIDTH} 14`}
        width={WIDTH}
        height={14}
        aria-hidden="true"
        focusable="false"
      >
        <rect class="track" x={0} y={2} width={WIDTH} height={10} />
        {parts}
        {rtoX !== null ? (
          <rect class="rto-mark" x={Math.round(rtoX * 100) / 100} y={0} width={2} height={14} />
        ) : null}
      </svg>
      <div class="small">
        {PHASES.map((phase) => `${phase} ${duration(phases[phase])}`).join(' · ')}
        {rtoSeconds ? ` · red line: RTO ${duration(rtoSeconds)}` : ''}
      </div>
    </div>
  );
};
