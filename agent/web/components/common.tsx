/** Small pieces every console page uses: status badges, times, links to sets and snapshots. */
import type { Child, FC } from 'hono/jsx';
import type { Verdict } from '../../model/verdict.js';
import { ago, fullTime, shortTime } from '../format.js';

/** How a status reads: each tone has its own colour, and the text always says it too. */
export type Tone = 'ok' | 'bad' | 'warn' | 'muted';

/** A status label. */
export const Badge: FC<{ tone: Tone; children?: Child }> = ({ tone, children }) => (
  <span class={`badge ${tone}`}>{children}</span>
);

const VERDICT_TONE: Record<Verdict, Tone> = {
  clean: 'ok',
  compromised: 'bad',
  suspicious: 'warn',
  unverified: 'muted',
};

/** A snapshot verdict. */
export const VerdictBadge: FC<{ verdict: Verdict }> = ({ verdict }) => (
  <Badge tone={VERDICT_TONE[verdict]}>{verdict}</Badge>
);

/** A time, to the minute, with the exact value for machines and on hover. */
export const Time: FC<{ iso: string }> = ({ iso }) => (
  <time datetime={iso} title={fullTime(iso)}>
    {shortTime(iso)}
  </time>
);

/** A time and how long ago it was. */
export const TimeAgo: FC<{ iso: string; now: Date }> = ({ iso, now }) => (
  <>
    <Time iso={iso} /> <span class="small">({ago(iso, now)})</span>
  </>
);

/** `/sets/NAME`. */
export const setHref = (set: string) => `/sets/${encodeURIComponent(set)}`;

/** `/sets/NAME/snapshots/ID`. */
export const snapshotHref = (set: string, snapshot: string) =>
  `${setHref(set)}/snapshots/${encodeURIComponent(snapshot)}`;

/** The element id of a snapshot's findings section. */
export const snapshotAnchor = (snapshot: string) => `snapshot-${snapshot.replace(/[^A-Za-z0-9_-]/g, '_')}`;
