/** One snapshot: its facts (baseline, object, detection counts), downloads and grouped findings. */
import type { FC } from 'hono/jsx';
import type { RecoveryPlan } from '../../recover/recovery-plan.js';
import type { SnapshotState } from '../../model/snapshot-state.js';
import { setHref, Time, VerdictBadge } from '../components/common.js';
import { Layout, type PageFrame } from '../components/layout.js';
import { SnapshotFindings } from '../components/snapshot-findings.js';
import { count } from '../format.js';

export interface SnapshotPageProps {
  frame: PageFrame;
  set: string;
  snapshot: SnapshotState;
  /** Its place relative to the last clean snapshot, in words. */
  relation: string;
  /** The set's recovery plan (what `vouch recover --dry-run` prints), or null when it could not be made. */
  plan?: RecoveryPlan | null;
}

/** Rows of the plan listed per section. */
const PLAN_ROWS = 50;

/** What the set's recovery plan says about this snapshot: the files it supplies, its files taken from elsewhere, the losses, the commands. */
const RecoveryPlanSection: FC<{ set: string; snapshot: SnapshotState; plan: RecoveryPlan }> = ({
  set,
  snapshot,
  plan,
}) => {
  const supplied = plan.files.filter((file) => file.snapshot === snapshot.id);
  const replaced = plan.files.filter((file) =>
    file.rejected.some((rejection) => rejection.snapshot === snapshot.id),
  );
  const lostHere = plan.lost.filter((file) =>
    file.versions.some((version) => version.snapshot === snapshot.id),
  );
  const unusable = plan.snapshots.find((entry) => entry.id === snapshot.id && !entry.usable);
  return (
    <section aria-labelledby="recovery-title" data-recovery-plan>
      <h2 id="recovery-title">Recovery plan</h2>
      <p>
        Each file's newest intact version across snapshots (the set's newest is{' '}
        <code>{plan.newest?.id ?? 'none'}</code>): {count(plan.counts.files)} files,{' '}
        {count(plan.counts.fromOlder)} from older snapshots, {count(plan.counts.lost)} lost. This snapshot
        supplies <span data-supplies>{count(supplied.length)}</span> of them.
      </p>
      {unusable ? (
        <p class="alert warn" data-unusable>
          No file is taken from this snapshot: {unusable.note}.
        </p>
      ) : null}
      {replaced.length ? (
        <>
          <h3>Files of this snapshot rejected, taken from another version</h3>
          <table>
            <thead>
              <tr>
                <th>Path</th>
                <th>Why rejected here</th>
                <th>Taken from</th>
              </tr>
            </thead>
            <tbody>
              {replaced.slice(0, PLAN_ROWS).map((file) => (
                <tr data-replaced={file.path}>
                  <td>
                    <code>{file.path}</code>
                  </td>
                  <td class="small">
                    {file.rejected.find((rejection) => rejection.snapshot === snapshot.id)!.reason}
                  </td>
                  <td>
                    <code>{file.snapshot}</code> (<Time iso={file.snapshotTime} />)
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {lostHere.length ? (
        <>
          <h3>Lost: no intact version anywhere</h3>
          <ul class="plain">
            {lostHere.slice(0, PLAN_ROWS).map((file) => (
              <li data-lost={file.path}>
                <code>{file.path}</code> — data-loss window <Time iso={file.lossWindow.from} /> →{' '}
                <Time iso={file.lossWindow.to} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <p>
        See the whole plan: <code>vouch recover {set} --dry-run</code>. Restore it:{' '}
        <code>vouch recover {set} --to DIR</code>. This snapshot as it is:{' '}
        <code>
          vouch recover {set} --snapshot {snapshot.id} --to DIR
        </code>
      </p>
    </section>
  );
};

export const SnapshotPage: FC<SnapshotPageProps> = ({ frame, set, snapshot, relation, plan }) => {
  const detection = snapshot.detection;
  return (
    <Layout frame={frame} title={`${snapshot.id} (${set})`} nav={null}>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="/">Overview</a> › <a href={setHref(set)}>{set}</a> › {snapshot.id}
      </nav>
      <h1>
        Snapshot <code>{snapshot.id}</code> <VerdictBadge verdict={snapshot.verdict} />
      </h1>
      <dl class="facts">
        <dt>Set</dt>
        <dd>
          <a href={setHref(set)}>{set}</a> — {relation}
        </dd>
        <dt>Taken</dt>
        <dd>
          <Time iso={snapshot.time} />
        </dd>
        <dt>Last scan</dt>
        <dd>
          <Time iso={snapshot.lastScan} />
          {snapshot.lastDeepScan ? (
            <>
              {' '}
              (last full read <Time iso={snapshot.lastDeepScan} />)
            </>
          ) : null}
          {snapshot.complete ? '' : ' — not read completely'}
        </dd>
        <dt>Baseline</dt>
        <dd>
          {snapshot.baseline ? (
            <>
              {count(snapshot.baseline.entries)} entries recorded <Time iso={snapshot.baseline.createdAt} />;
              manifest SHA-256 <code>{snapshot.baseline.sha256}</code>
            </>
          ) : (
            'none yet'
          )}
        </dd>
        {snapshot.object ? (
          <>
            <dt>Archive object</dt>
            <dd>
              <code>{snapshot.object.key}</code>, {count(snapshot.object.size)} bytes
              {snapshot.object.etag ? `, ETag ${snapshot.object.etag}` : ''}
              {snapshot.object.versionId ? `, version ${snapshot.object.versionId}` : ''}
            </dd>
          </>
        ) : null}
        {detection ? (
          <>
            <dt>Detection</dt>
            <dd>
              {count(detection.files)} files judged
              {detection.kept
                ? ` (${count(detection.kept)} unchanged since judged intact, not measured again)`
                : ''}
              : {count(detection.encryptedStrong)} encrypted (strong evidence),{' '}
              {count(detection.encryptedWeak)} weakly, {count(detection.ransomNotes)} ransom notes,{' '}
              {count(detection.renamed)} renamed, {count(detection.changed)} changed
              {detection.changeRate !== null
                ? ` (${Math.round(detection.changeRate * 1000) / 10}% change rate)`
                : ''}
            </dd>
          </>
        ) : null}
        {snapshot.ledgerSeq !== undefined ? (
          <>
            <dt>Ledger record</dt>
            <dd>{snapshot.ledgerSeq}</dd>
          </>
        ) : null}
      </dl>
      {plan ? <RecoveryPlanSection set={set} snapshot={snapshot} plan={plan} /> : null}
      <SnapshotFindings set={set} snapshot={snapshot} level={2} titled={false} />
    </Layout>
  );
};
