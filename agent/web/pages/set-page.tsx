/**
 * A set's page, for the recovery lead: readiness, which snapshot to restore (last clean, last
 * restorable) and why newer ones were rejected, the snapshot timeline, each rejected snapshot's
 * findings, the drill history against the RTO, the immutability audit, and every snapshot with
 * downloads of its manifest and evidence records.
 */
import type { FC } from 'hono/jsx';
import { formatBytes } from '../../config/byte-size.js';
import type { SetView } from '../../estate/estate-view.js';
import type { DrillResult } from '../../model/drill.js';
import type { Finding } from '../../model/findings.js';
import type { TaskKind } from '../../model/tasks.js';
import type { SnapshotState } from '../../model/snapshot-state.js';
import { describeSelection } from '../../triage/accept-findings.js';
import { listAcceptances, type AcceptanceListing } from '../../triage/acceptance-listing.js';
import { countingCounts } from '../../verdicts/acceptance.js';
import type { LastCleanReport } from '../../verdicts/last-clean.js';
import { drillRestoreSeconds } from '../../verdicts/readiness.js';
import { Badge, snapshotAnchor, snapshotHref, Time, TimeAgo, VerdictBadge } from '../components/common.js';
import { Layout, type PageFrame } from '../components/layout.js';
import { PhaseBar } from '../components/phase-bar.js';
import { StoreBanner, StoreFindings, storeFindingPhrase } from '../components/store-findings.js';
import { SnapshotDownloads, SnapshotFindings } from '../components/snapshot-findings.js';
import { TimelineSvg } from '../components/timeline-svg.js';
import { count, duration, plural } from '../format.js';
import { setLocation } from '../overview-rows.js';
import { layoutTimeline } from '../timeline.js';

/** Rejected snapshots whose findings the set page lists in full (older ones link to their own page). */
export const DETAILED_REJECTED = 10;
/** Drill failures listed per drill. */
const FAILURES_SHOWN = 5;

export interface SetPageProps {
  frame: PageFrame;
  set: SetView;
  report: LastCleanReport;
  nextRuns: Partial<Record<TaskKind, string | null>>;
}

const STATUS_TONE = { pass: 'ok', fail: 'bad', 'not-applicable': 'muted' } as const;
const STATUS_TEXT = { pass: 'pass', fail: 'fail', 'not-applicable': 'n/a' } as const;

const newestFirst = (a: SnapshotState, b: SnapshotState) => Date.parse(b.time) - Date.parse(a.time);

function timelineCaption(snapshots: readonly SnapshotState[], report: LastCleanReport): string {
  if (snapshots.length === 0) return 'No snapshots recorded yet.';
  const sorted = [...snapshots].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const counts = new Map<string, number>();
  for (const snapshot of snapshots) counts.set(snapshot.verdict, (counts.get(snapshot.verdict) ?? 0) + 1);
  const verdicts = [...counts.entries()].map(([verdict, n]) => `${n} ${verdict}`).join(', ');
  return `${plural(snapshots.length, 'snapshot')} from ${sorted[0]!.time.slice(0, 10)} to ${sorted.at(-1)!.time.slice(0, 10)}: ${verdicts}. Last clean: ${report.lastClean?.id ?? 'none'}; last restorable: ${report.lastRestorable?.id ?? 'none'}.`;
}

const total = (counts: Partial<Record<string, number>>) =>
  Object.values(counts).reduce((sum: number, n) => sum + (n ?? 0), 0);

/** The set's acceptances: who accepted which findings and why, and what each covers now. */
const Acceptances: FC<{ set: string; acceptances: readonly AcceptanceListing[]; now: Date }> = ({
  set,
  acceptances,
  now,
}) => (
  <section aria-labelledby="accepted-title">
    <h2 id="accepted-title">Accepted findings</h2>
    {acceptances.length === 0 ? (
      <p>
        No findings were accepted. Findings a person has examined and judged harmless can be accepted with{' '}
        <code>vouch accept {set} --path GLOB --reason TEXT</code>: they stay listed but stop counting.
      </p>
    ) : (
      <div class="scroll">
        <table class="acceptances">
          <caption>
            {plural(acceptances.length, 'acceptance')}, newest first: accepted findings stay listed, marked,
            but do not count toward verdicts, readiness, metrics or alerts. Each is a signed ledger record (
            <a href={`/evidence?set=${encodeURIComponent(set)}&kind=finding-acceptance`}>records</a>).
          </caption>
          <thead>
            <tr>
              <th scope="col">Acceptance</th>
              <th scope="col">By</th>
              <th scope="col">Why</th>
              <th scope="col">Selection</th>
              <th scope="col">Covers now</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {acceptances.map((acceptance) => (
              <tr data-acceptance={String(acceptance.id)} class={acceptance.inForce ? 'in-force' : 'revoked'}>
                <td>
                  record {acceptance.id}
                  <div class="small">
                    <TimeAgo iso={acceptance.at} now={now} />
                  </div>
                </td>
                <td>{acceptance.by}</td>
                <td>{acceptance.reason}</td>
                <td>
                  <code>{describeSelection(acceptance.selection)}</code>
                  <div class="small">{plural(acceptance.count, 'finding')} when accepted</div>
                </td>
                <td>
                  {plural(acceptance.now.findings, 'finding')}
                  {acceptance.now.snapshots.length ? (
                    <div class="small">
                      {acceptance.now.snapshots.map((id, position) => (
                        <>
                          {position ? ', ' : ''}
                          <a href={snapshotHref(set, id)}>
                            <code>{id}</code>
                          </a>
                        </>
                      ))}
                    </div>
                  ) : null}
                </td>
                <td>
                  {acceptance.revoked ? (
                    <>
                      <Badge tone="muted">revoked</Badge>
                      <div class="small">
                        by {acceptance.revoked.by}, <TimeAgo iso={acceptance.revoked.at} now={now} /> (record{' '}
                        {acceptance.revoked.id})
                        {acceptance.revoked.reason ? `: ${acceptance.revoked.reason}` : ''}
                      </div>
                    </>
                  ) : (
                    <Badge tone="ok">in force</Badge>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
);

/** The heading of the set's page: breadcrumb, readiness badge, location, targets, next runs, last scan, and any error. */
const SetHeading: FC<{
  frame: PageFrame;
  set: SetView;
  nextRuns: Partial<Record<TaskKind, string | null>>;
}> = ({ frame, set, nextRuns }) => {
  const name = set.policy.name;
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="/">Overview</a> › {name}
      </nav>
      <h1>
        Set <code>{name}</code>{' '}
        {set.error ? (
          <Badge tone="bad">state unreadable</Badge>
        ) : set.readiness.ready ? (
          <Badge tone="ok">ready</Badge>
        ) : (
          <Badge tone="bad">not ready</Badge>
        )}
      </h1>
      <p class="lead">
        {setLocation(set)} · RPO {duration(set.policy.rpoSeconds)} · RTO{' '}
        {duration(set.policy.rtoSeconds ?? null)}
        {nextRuns.scan ? (
          <>
            {' '}
            · next scan <Time iso={nextRuns.scan} />
          </>
        ) : null}
        {nextRuns.drill ? (
          <>
            {' '}
            · next drill <Time iso={nextRuns.drill} />
          </>
        ) : null}
        {set.state?.scan.lastSuccess ? (
          <>
            {' '}
            · last scan{' '}
            <span data-last-scan={set.state.scan.lastSuccess}>
              <TimeAgo iso={set.state.scan.lastSuccess} now={frame.now} />
            </span>
          </>
        ) : null}
      </p>
      {set.error ? (
        <p class="alert bad" role="alert">
          {set.error}
        </p>
      ) : null}
      {set.state?.scan.lastError ? (
        <p class="alert warn">The last scan failed: {set.state.scan.lastError}</p>
      ) : null}
      <StoreBanner set={name} findings={set.state?.index.setFindings ?? []} href="#store-findings" />
    </>
  );
};

/** The readiness checks (RPO, drill, RTO, immutability, evidence), each passed, failed or not applicable. */
const ReadinessChecks: FC<{ set: SetView }> = ({ set }) => (
  <section aria-labelledby="readiness-title">
    <h2 id="readiness-title">Readiness</h2>
    <ul class="checks">
      {set.readiness.checks.map((check) => (
        <li data-check={check.check}>
          <Badge tone={STATUS_TONE[check.status]}>{STATUS_TEXT[check.status]}</Badge> <b>{check.check}</b>:{' '}
          {check.detail}
        </li>
      ))}
    </ul>
  </section>
);

/** The snapshot to restore: its standing (restorable, not drilled, drill failed) and the drill command that proves it. */
const Recommendation: FC<{ name: string; report: LastCleanReport }> = ({ name, report }) =>
  report.recommendation ? (
    <>
      <a href={snapshotHref(name, report.recommendation.id)}>
        <code>{report.recommendation.id}</code>
      </a>{' '}
      {report.recommendation.standing === 'restorable' ? (
        <Badge tone="ok">restorable</Badge>
      ) : report.recommendation.standing === 'not-drilled' ? (
        <Badge tone="bad">NOT DRILLED</Badge>
      ) : (
        <Badge tone="bad">DRILL FAILED</Badge>
      )}{' '}
      <span class="small">{report.recommendation.reason}</span>
      {report.recommendation.standing !== 'restorable' ? (
        <div class="small">
          Prove it first:{' '}
          <code>
            vouch drill {name} --snapshot {report.recommendation.id}
          </code>{' '}
          (or <code>--search</code>)
        </div>
      ) : null}
    </>
  ) : (
    <Badge tone="bad">nothing: no snapshot of this set is clean</Badge>
  );

/** Clean snapshots a failed drill demoted, each with the drill and what failed. */
const DemotedSnapshots: FC<{ name: string; report: LastCleanReport; now: Date }> = ({ name, report, now }) =>
  report.demoted.length ? (
    <>
      <dt>Demoted by a failed drill</dt>
      <dd data-demoted={report.demoted.map((snapshot) => snapshot.id).join(' ')}>
        <ul class="plain">
          {report.demoted.map((snapshot) => (
            <li>
              <a href={snapshotHref(name, snapshot.id)}>
                <code>{snapshot.id}</code>
              </a>{' '}
              clean, but drill <code>{snapshot.drill.id ?? ''}</code> failed{' '}
              <TimeAgo iso={snapshot.drill.finishedAt} now={now} />
              {snapshot.failures.length ? (
                <span class="small">
                  :{' '}
                  {snapshot.failures
                    .map(
                      (failure) =>
                        `${failure.verifier}${failure.path ? ` ${failure.path}` : ''}: ${failure.detail}`,
                    )
                    .join('; ')}
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      </dd>
    </>
  ) : null;

/**
 * The snapshots newer than the last clean one, each with its verdict and why; a link to its
 * findings on this page when they are listed in full (`detailedIds`), else to its own page.
 */
const RejectedNewer: FC<{ name: string; report: LastCleanReport; detailedIds: ReadonlySet<string> }> = ({
  name,
  report,
  detailedIds,
}) =>
  report.rejected.length ? (
    <ul class="plain">
      {report.rejected.map((snapshot) => (
        <li>
          <a
            href={
              detailedIds.has(snapshot.id)
                ? `#${snapshotAnchor(snapshot.id)}`
                : snapshotHref(name, snapshot.id)
            }
          >
            <code>{snapshot.id}</code>
          </a>{' '}
          <VerdictBadge verdict={snapshot.verdict} />{' '}
          <span class="small">
            {snapshot.reasons.map((reason) => `${count(reason.count)} × ${reason.kind}`).join(', ')}
          </span>
        </li>
      ))}
    </ul>
  ) : report.lastClean ? (
    'none: the newest snapshot is the last clean one'
  ) : (
    '—'
  );

/**
 * Which snapshot to restore: the last clean and last restorable snapshots, the recommendation,
 * snapshots demoted by a failed drill, the newer snapshots rejected and older ones not clean.
 */
const RestoreChoice: FC<{
  name: string;
  report: LastCleanReport;
  detailedIds: ReadonlySet<string>;
  now: Date;
}> = ({ name, report, detailedIds, now }) => (
  <section aria-labelledby="restore-title" class="restore">
    <h2 id="restore-title">Which snapshot to restore</h2>
    <dl class="facts">
      <dt>Last clean snapshot</dt>
      <dd data-last-clean={report.lastClean?.id ?? ''}>
        {report.lastClean ? (
          <>
            <a href={snapshotHref(name, report.lastClean.id)}>
              <code>{report.lastClean.id}</code>
            </a>{' '}
            taken <TimeAgo iso={report.lastClean.time} now={now} />
          </>
        ) : (
          <Badge tone="bad">none: no snapshot of this set is clean</Badge>
        )}
      </dd>
      <dt>Last restorable snapshot</dt>
      <dd data-last-restorable={report.lastRestorable?.id ?? ''}>
        {report.lastRestorable ? (
          <>
            <a href={snapshotHref(name, report.lastRestorable.id)}>
              <code>{report.lastRestorable.id}</code>
            </a>{' '}
            — a restore drill passed <TimeAgo iso={report.lastRestorable.drilledAt} now={now} />
          </>
        ) : (
          <Badge tone="warn">none: no clean snapshot has a passed drill</Badge>
        )}
      </dd>
      <dt>Restore this</dt>
      <dd
        data-recommendation={report.recommendation?.id ?? ''}
        data-standing={report.recommendation?.standing ?? ''}
      >
        <Recommendation name={name} report={report} />
      </dd>
      <DemotedSnapshots name={name} report={report} now={now} />
      <dt>Newer snapshots rejected</dt>
      <dd>
        <RejectedNewer name={name} report={report} detailedIds={detailedIds} />
      </dd>
      {report.olderNotClean.length ? (
        <>
          <dt>Older snapshots not clean</dt>
          <dd>{report.olderNotClean.map((snapshot) => `${snapshot.id} (${snapshot.verdict})`).join(', ')}</dd>
        </>
      ) : null}
    </dl>
  </section>
);

/**
 * The rejected snapshots: the newest `detailed` ones with their findings in full, a note when
 * older ones are left to their own pages, or why there is nothing to show.
 */
const RejectedSnapshots: FC<{
  name: string;
  rejected: readonly SnapshotState[];
  detailed: readonly SnapshotState[];
  storeFindings: readonly Finding[];
  lastCleanTime: number;
}> = ({ name, rejected, detailed, storeFindings, lastCleanTime }) => (
  <section aria-labelledby="rejected-title">
    <h2 id="rejected-title">Rejected snapshots</h2>
    {rejected.length === 0 ? (
      storeFindingPhrase(storeFindings) ? (
        <p>
          Every snapshot still in the store is clean, but the store itself was touched:{' '}
          {storeFindingPhrase(storeFindings)} (below).
        </p>
      ) : (
        <p>Every snapshot is clean.</p>
      )
    ) : null}
    {rejected.length > detailed.length ? (
      <p class="note">
        The newest {detailed.length} of {rejected.length} rejected snapshots are shown in full; the others are
        in the snapshot list below, each with its own page.
      </p>
    ) : null}
    {detailed.map((snapshot) => (
      <SnapshotFindings
        set={name}
        snapshot={snapshot}
        level={3}
        relation={
          Date.parse(snapshot.time) > lastCleanTime
            ? 'newer than the last clean snapshot'
            : 'older than the last clean snapshot'
        }
      />
    ))}
  </section>
);

/** One drill as a table row: when, which snapshot, the outcome and failures, the phases, the restore time against the RTO, and the sample restored. */
const DrillRow: FC<{ drill: DrillResult; rto: number | null }> = ({ drill, rto }) => {
  const restore = drillRestoreSeconds(drill);
  const target = drill.rtoTargetSeconds ?? rto;
  return (
    <tr data-drill={drill.id} class={drill.outcome}>
      <td>
        <Time iso={drill.startedAt} />
        <div class="small">{drill.id}</div>
      </td>
      <td>
        {drill.snapshot ? <code>{drill.snapshot}</code> : <span class="small">none picked</span>}
        {drill.snapshotVersion ? (
          <div class="small" data-snapshot-version={drill.snapshotVersion}>
            stored version <code>{drill.snapshotVersion}</code>, not the current object
          </div>
        ) : null}
        <div class="small">pick: {drill.pick}</div>
      </td>
      <td>
        <Badge tone={drill.outcome === 'passed' ? 'ok' : drill.outcome === 'failed' ? 'bad' : 'warn'}>
          {drill.outcome}
        </Badge>
        {drill.failures.length ? (
          <ul class="reasons">
            {drill.failures.slice(0, FAILURES_SHOWN).map((failure) => (
              <li>
                <b>{failure.verifier}</b>
                {failure.path ? (
                  <>
                    {' '}
                    <code>{failure.path}</code>
                  </>
                ) : null}
                : {failure.detail}
              </li>
            ))}
            {drill.failures.length > FAILURES_SHOWN ? (
              <li>… and {drill.failures.length - FAILURES_SHOWN} more (see the evidence records)</li>
            ) : null}
          </ul>
        ) : null}
      </td>
      <td>
        <PhaseBar phases={drill.phases} restoreSeconds={restore} rtoSeconds={target} />
      </td>
      <td>
        {duration(restore)}
        {drill.projectedFullRestoreSeconds !== null ? ' (projected from a sample)' : ''}
        {target ? (
          <>
            {' '}
            of {duration(target)}{' '}
            {drill.withinRto === false ? (
              <Badge tone="bad">over RTO</Badge>
            ) : drill.withinRto ? (
              <Badge tone="ok">within RTO</Badge>
            ) : null}
          </>
        ) : null}
      </td>
      <td class="small">
        {drill.sample.fraction < 1 ? `${Math.round(drill.sample.fraction * 1000) / 10}% sample: ` : ''}
        {plural(drill.sample.entries, 'entry', 'entries')}, {formatBytes(drill.sample.bytes)}
      </td>
    </tr>
  );
};

/** The restore drills, newest first, with phase timings against the RTO; or that none has run. */
const DrillHistory: FC<{ set: SetView; drills: readonly DrillResult[] }> = ({ set, drills }) => (
  <section aria-labelledby="drills-title">
    <h2 id="drills-title">Restore drills</h2>
    {drills.length === 0 ? (
      <p>No restore drill has run{set.policy.schedule?.drill ? '' : ' (the policy schedules none)'}.</p>
    ) : (
      <div class="scroll">
        <table class="drills">
          <caption>{plural(drills.length, 'drill')}, newest first; phase timings against the RTO.</caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Snapshot</th>
              <th scope="col">Outcome</th>
              <th scope="col">Phases</th>
              <th scope="col">Restore vs RTO</th>
              <th scope="col">Restored</th>
            </tr>
          </thead>
          <tbody>
            {drills.map((drill) => (
              <DrillRow drill={drill} rto={set.policy.rtoSeconds ?? null} />
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
);

/** The immutability audit: whether it holds, whether the copy is protected, and each check; or that it was never audited. */
const ImmutabilityAudit: FC<{ set: SetView; now: Date }> = ({ set, now }) => {
  const audit = set.state?.audit ?? null;
  return (
    <section aria-labelledby="immutability-title">
      <h2 id="immutability-title">Immutability</h2>
      {!audit ? (
        <p>
          {set.policy.immutability
            ? 'Never audited: the next scan audits it.'
            : 'The policy requires no immutability of this set, and it was never audited.'}
        </p>
      ) : (
        <>
          <p>
            {audit.ok === null ? (
              <Badge tone="muted">nothing required</Badge>
            ) : audit.ok ? (
              <Badge tone="ok">holds</Badge>
            ) : (
              <Badge tone="bad">failed</Badge>
            )}{' '}
            {audit.protected
              ? 'The copy is protected against rewrites.'
              : 'The copy is not protected against rewrites.'}{' '}
            Audited <TimeAgo iso={audit.auditedAt} now={now} />
            {audit.objectsTotal
              ? `; per-object retention read for ${audit.objectsSampled} of ${audit.objectsTotal} objects`
              : ''}
            .
          </p>
          <table class="checks-table">
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Result</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {audit.checks.map((check) => (
                <tr>
                  <td>
                    {check.check}
                    {check.required ? '' : <span class="small"> (informational)</span>}
                  </td>
                  <td>
                    <Badge
                      tone={
                        check.status === 'pass'
                          ? 'ok'
                          : check.status === 'fail'
                            ? 'bad'
                            : check.status === 'unknown'
                              ? 'warn'
                              : 'muted'
                      }
                    >
                      {check.status}
                    </Badge>
                  </td>
                  <td>{check.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
};

/** One snapshot as a table row: when, which (with its last-clean/last-restorable marks), verdict, size, findings counting and accepted, downloads. */
const SnapshotRow: FC<{ name: string; snapshot: SnapshotState; mark: string }> = ({
  name,
  snapshot,
  mark,
}) => {
  const findings = total(countingCounts(snapshot));
  const accepted = total(snapshot.acceptedCounts ?? {});
  return (
    <tr data-snapshot={snapshot.id} class={snapshot.verdict}>
      <td>
        <Time iso={snapshot.time} />
      </td>
      <td>
        <a href={snapshotHref(name, snapshot.id)}>
          <code>{snapshot.id}</code>
        </a>
        {mark ? <div class="mark">{mark}</div> : null}
      </td>
      <td>
        <VerdictBadge verdict={snapshot.verdict} />
      </td>
      <td class="num">{count(snapshot.entries)}</td>
      <td class="num">{formatBytes(snapshot.bytes)}</td>
      <td class="num">
        {count(findings)}
        {accepted ? <div class="small">+{count(accepted)} accepted</div> : null}
      </td>
      <td>
        <SnapshotDownloads set={name} snapshot={snapshot} />
      </td>
    </tr>
  );
};

/** Every snapshot, newest first, folded when there are more than 40. */
const AllSnapshots: FC<{ name: string; snapshots: readonly SnapshotState[]; report: LastCleanReport }> = ({
  name,
  snapshots,
  report,
}) => {
  const marks = (id: string) =>
    [
      id === report.lastClean?.id ? 'last clean' : null,
      id === report.lastRestorable?.id ? 'last restorable' : null,
    ]
      .filter(Boolean)
      .join(', ');
  return (
    <section aria-labelledby="snapshots-title">
      <h2 id="snapshots-title">All snapshots</h2>
      <details open={snapshots.length <= 40} id="all-snapshots">
        <summary>{plural(snapshots.length, 'snapshot')}, newest first</summary>
        <div class="scroll">
          <table class="snapshots">
            <thead>
              <tr>
                <th scope="col">Taken</th>
                <th scope="col">Snapshot</th>
                <th scope="col">Verdict</th>
                <th scope="col">Entries</th>
                <th scope="col">Size</th>
                <th scope="col">Findings</th>
                <th scope="col">Download</th>
              </tr>
            </thead>
            <tbody>
              {snapshots.map((snapshot) => (
                <SnapshotRow name={name} snapshot={snapshot} mark={marks(snapshot.id)} />
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
};

/** The set's page: the parts above, top to bottom, over the set's state and its last-clean report. */
export const SetPage: FC<SetPageProps> = ({ frame, set, report, nextRuns }) => {
  const name = set.policy.name;
  const snapshots = set.state ? Object.values(set.state.index.snapshots).sort(newestFirst) : [];
  const rejected = snapshots.filter((snapshot) => snapshot.verdict !== 'clean');
  const detailed = rejected.slice(0, DETAILED_REJECTED);
  const detailedIds = new Set(detailed.map((snapshot) => snapshot.id));
  const lastCleanTime = report.lastClean ? Date.parse(report.lastClean.time) : -Infinity;
  const storeFindings = set.state?.index.setFindings ?? [];
  const timeline = layoutTimeline(snapshots, {
    lastClean: report.lastClean?.id ?? null,
    lastRestorable: report.lastRestorable?.id ?? null,
  });
  return (
    <Layout frame={frame} title={`Set ${name}`} nav={null}>
      <SetHeading frame={frame} set={set} nextRuns={nextRuns} />
      <ReadinessChecks set={set} />
      <RestoreChoice name={name} report={report} detailedIds={detailedIds} now={frame.now} />

      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Snapshots over time</h2>
        <TimelineSvg
          layout={timeline}
          caption={timelineCaption(snapshots, report)}
          href={(id) => {
            const snapshot = set.state?.index.snapshots[id];
            if (!snapshot || snapshot.verdict === 'clean') return snapshotHref(name, id);
            return detailedIds.has(id) ? `#${snapshotAnchor(id)}` : snapshotHref(name, id);
          }}
        />
      </section>

      <StoreFindings set={name} findings={storeFindings} />
      <RejectedSnapshots
        name={name}
        rejected={rejected}
        detailed={detailed}
        storeFindings={storeFindings}
        lastCleanTime={lastCleanTime}
      />
      <Acceptances
        set={name}
        acceptances={set.state ? listAcceptances(set.state.index, set.state.acceptances) : []}
        now={frame.now}
      />
      <DrillHistory set={set} drills={[...(set.state?.drills.drills ?? [])].reverse()} />
      <ImmutabilityAudit set={set} now={frame.now} />
      <AllSnapshots name={name} snapshots={snapshots} report={report} />
    </Layout>
  );
};
