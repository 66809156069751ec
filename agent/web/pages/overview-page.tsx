/** The overview: every set with readiness and the facts behind it, problems first; the evidence chain; 3-2-1-1-0. */
import type { FC } from 'hono/jsx';
import type { DatasetRuleReport } from '../../immutability/rule-3-2-1-1-0.js';
import type { EvidenceStatus } from '../../estate/evidence-status.js';
import { Badge, setHref, TimeAgo, VerdictBadge } from '../components/common.js';
import { Layout, type PageFrame } from '../components/layout.js';
import { StoreBanner } from '../components/store-findings.js';
import { duration, plural } from '../format.js';
import type { OverviewRow } from '../overview-rows.js';

export interface OverviewProps {
  frame: PageFrame;
  rows: OverviewRow[];
  evidence: EvidenceStatus;
  datasets: DatasetRuleReport[];
}

const CHECK_NAMES: Record<string, string> = {
  rpo: 'RPO',
  drill: 'Drill',
  rto: 'RTO',
  immutability: 'Immutability',
  evidence: 'Evidence',
};

/** A set's readiness badge, its state error if unreadable, and the failing checks. */
const Readiness: FC<{ row: OverviewRow }> = ({ row }) => (
  <>
    {row.error ? (
      <Badge tone="bad">state unreadable</Badge>
    ) : row.ready ? (
      <Badge tone="ok">ready</Badge>
    ) : (
      <Badge tone="bad">not ready</Badge>
    )}
    {row.error ? <div class="small">{row.error}</div> : null}
    {row.failing.length ? (
      <ul class="reasons">
        {row.failing.map((check) => (
          <li>
            <b>{CHECK_NAMES[check.check] ?? check.check}:</b> {check.detail}
          </li>
        ))}
      </ul>
    ) : null}
  </>
);

/** The newest snapshot: verdict, snapshot count, its age against the RPO, and when it was taken. */
const Newest: FC<{ row: OverviewRow; now: Date }> = ({ row, now }) =>
  row.newest ? (
    <>
      <VerdictBadge verdict={row.newest.verdict} />{' '}
      <span class="small">{plural(row.snapshots, 'snapshot')}</span>
      <div>
        {duration(row.newest.ageSeconds)} old
        {row.rpoSeconds !== null ? (
          <>
            {' '}
            vs RPO {duration(row.rpoSeconds)}{' '}
            {row.newestWithinRpo ? <Badge tone="ok">within</Badge> : <Badge tone="bad">over</Badge>}
          </>
        ) : (
          <span class="small"> (no RPO)</span>
        )}
      </div>
      <div class="small">
        <TimeAgo iso={row.newest.time} now={now} />
      </div>
    </>
  ) : (
    <Badge tone="muted">never scanned</Badge>
  );

/** The last clean snapshot: its id, its age (flagged when older than the RPO), and when it was taken. */
const LastClean: FC<{ row: OverviewRow; now: Date }> = ({ row, now }) =>
  row.lastClean ? (
    <>
      <code>{row.lastClean.id}</code>
      <div>
        {duration(row.lastClean.ageSeconds)} old
        {row.lastCleanWithinRpo === false ? (
          <>
            {' '}
            <Badge tone="bad">older than RPO</Badge>
          </>
        ) : null}
      </div>
      <div class="small">
        <TimeAgo iso={row.lastClean.time} now={now} />
      </div>
    </>
  ) : row.snapshots ? (
    <Badge tone="bad">none clean</Badge>
  ) : (
    <span class="small">—</span>
  );

/** The last drill: outcome, restore time against the RTO, and when it finished. */
const LastDrill: FC<{ row: OverviewRow; now: Date }> = ({ row, now }) => {
  const drill = row.lastDrill;
  if (!drill) return <span class="small">no drill yet</span>;
  return (
    <>
      <Badge tone={drill.outcome === 'passed' ? 'ok' : drill.outcome === 'failed' ? 'bad' : 'warn'}>
        {drill.outcome}
      </Badge>
      <div>
        {duration(drill.restoreSeconds)}
        {drill.projected ? ' projected' : ''}
        {row.rtoSeconds !== null ? (
          <>
            {' '}
            vs RTO {duration(row.rtoSeconds)}{' '}
            {drill.withinRto === false ? (
              <Badge tone="bad">over</Badge>
            ) : drill.withinRto ? (
              <Badge tone="ok">within</Badge>
            ) : null}
          </>
        ) : null}
      </div>
      <div class="small">
        <TimeAgo iso={drill.finishedAt} now={now} />
      </div>
    </>
  );
};

const IMMUTABILITY: Record<
  OverviewRow['immutability']['state'],
  { tone: 'ok' | 'bad' | 'warn' | 'muted'; text: string }
> = {
  holds: { tone: 'ok', text: 'holds' },
  failed: { tone: 'bad', text: 'failed' },
  'never-audited': { tone: 'warn', text: 'never audited' },
  'not-required': { tone: 'muted', text: 'not required' },
};

/**
 * One set as a table row: name and location, readiness with the failing checks, the newest and
 * last clean snapshots against the RPO, the last drill against the RTO, immutability, evidence.
 */
const SetRow: FC<{ row: OverviewRow; now: Date }> = ({ row, now }) => (
  <tr data-set={row.name} data-ready={row.ready ? 'true' : 'false'} class={row.ready ? 'ready' : 'problem'}>
    <th scope="row">
      <a href={setHref(row.name)}>{row.name}</a>
      <div class="small location">{row.location}</div>
    </th>
    <td>
      <Readiness row={row} />
    </td>
    <td>
      <Newest row={row} now={now} />
    </td>
    <td>
      <LastClean row={row} now={now} />
    </td>
    <td>
      <LastDrill row={row} now={now} />
    </td>
    <td>
      <Badge tone={IMMUTABILITY[row.immutability.state].tone}>
        {IMMUTABILITY[row.immutability.state].text}
      </Badge>
      {row.immutability.auditedAt ? (
        <div class="small">
          audited <TimeAgo iso={row.immutability.auditedAt} now={now} />
        </div>
      ) : null}
    </td>
    <td>{row.evidenceOk ? <Badge tone="ok">intact</Badge> : <Badge tone="bad">broken</Badge>}</td>
  </tr>
);

/** Every set in one table, problems first, with what "ready" means as its caption. */
const SetsTable: FC<{ rows: readonly OverviewRow[]; now: Date }> = ({ rows, now }) => (
  <div class="scroll">
    <table class="sets">
      <caption>
        Every set, problems first. A set is ready when its newest clean snapshot (its last restorable one,
        when the set declares drills) is within the RPO, its last drill passed in time and within the RTO, its
        immutability holds and the evidence chain is intact.
      </caption>
      <thead>
        <tr>
          <th scope="col">Set</th>
          <th scope="col">Readiness</th>
          <th scope="col">Newest snapshot vs RPO</th>
          <th scope="col">Last clean snapshot</th>
          <th scope="col">Last drill vs RTO</th>
          <th scope="col">Immutability</th>
          <th scope="col">Evidence</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <SetRow row={row} now={now} />
        ))}
      </tbody>
    </table>
  </div>
);

/** The data sets' 3-2-1-1-0 rule: per data set its copies, whether the rule is met, and each part's count. */
const Datasets: FC<{ datasets: readonly DatasetRuleReport[] }> = ({ datasets }) => (
  <section aria-labelledby="datasets-title">
    <h2 id="datasets-title">Data sets (3-2-1-1-0)</h2>
    <table class="datasets">
      <thead>
        <tr>
          <th scope="col">Data set</th>
          <th scope="col">Copies</th>
          <th scope="col">Rule</th>
          <th scope="col">3 copies</th>
          <th scope="col">2 media</th>
          <th scope="col">1 off-site</th>
          <th scope="col">1 immutable</th>
          <th scope="col">0 errors</th>
        </tr>
      </thead>
      <tbody>
        {datasets.map((dataset) => (
          <tr>
            <th scope="row">{dataset.dataset}</th>
            <td>
              {dataset.copies.map((copy, i) => (
                <>
                  {i ? ', ' : ''}
                  <a href={setHref(copy)}>{copy}</a>
                </>
              ))}
            </td>
            <td>{dataset.ok ? <Badge tone="ok">met</Badge> : <Badge tone="bad">broken</Badge>}</td>
            {(['copies', 'media', 'offsite', 'immutable', 'errors'] as const).map((part) => (
              <td>
                <Badge tone={dataset.parts[part].ok ? 'ok' : 'bad'}>
                  {dataset.parts[part].ok ? 'ok' : 'no'}
                </Badge>{' '}
                <span class="small">{dataset.parts[part].count}</span>
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);

/** The overview: how many sets are ready, the chain's state and any alert, store banners, the sets, the data sets. */
export const OverviewPage: FC<OverviewProps> = ({ frame, rows, evidence, datasets }) => {
  const notReady = rows.filter((row) => !row.ready).length;
  return (
    <Layout frame={frame} title="Overview" nav="overview">
      <h1>Backup sets</h1>
      <p class="lead">
        {plural(rows.length, 'set')}:{' '}
        {notReady ? <Badge tone="bad">{`${notReady} not ready`}</Badge> : <Badge tone="ok">all ready</Badge>}{' '}
        · evidence chain {evidence.ok ? <Badge tone="ok">intact</Badge> : <Badge tone="bad">broken</Badge>} (
        {plural(evidence.records, 'record')})
      </p>
      {!evidence.ok ? (
        <p class="alert bad" role="alert">
          The evidence chain is broken
          {evidence.firstBad ? ` at record ${evidence.firstBad.seq}: ${evidence.firstBad.problem}` : ''}.{' '}
          <a href="/evidence">See the evidence page</a>.
        </p>
      ) : null}
      {rows.map((row) => (
        <StoreBanner
          set={row.name}
          findings={row.storeFindings}
          href={`${setHref(row.name)}#store-findings`}
        />
      ))}
      {rows.length === 0 ? <p>The policy declares no sets.</p> : <SetsTable rows={rows} now={frame.now} />}
      {datasets.length ? <Datasets datasets={datasets} /> : null}
    </Layout>
  );
};
