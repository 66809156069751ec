/** One snapshot: its facts (baseline, object, detection counts), downloads and grouped findings. */
import type { FC } from 'hono/jsx';
import type { SnapshotState } from '../../state/set-index.js';
import { setHref, Time, VerdictBadge } from '../components/common.js';
import { Layout, type PageFrame } from '../components/layout.js';
import { SnapshotFindings } from '../components/snapshot-findings.js';
import { count } from '../format.js';

/** Props. */
export interface SnapshotPageProps {
  frame: PageFrame;
  set: string;
  snapshot: SnapshotState;
  /** Its place relative to the last clean snapshot, in words. */
  relation: string;
}

/** The snapshot page. */
export const SnapshotPage: FC<SnapshotPageProps> = ({ frame, set, snapshot, relation }) => {
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
              {count(snapshot.baseline.entries)} entries recorded <Time iso={snapshot.baseline.createdAt} />; manifest SHA-256 <code>{snapshot.baseline.sha256}</code>
            </>
          ) : (
            'none yet'
          )}
        </dd>
        {snapshot.object ? (
          <>
            <dt>Archive object</dt>
            <dd>
              <code>{snapshot.object.key}</code>, {count(snapshot.object.size)} bytes{snapshot.object.etag ? `, ETag ${snapshot.object.etag}` : ''}
              {snapshot.object.versionId ? `, version ${snapshot.object.versionId}` : ''}
            </dd>
          </>
        ) : null}
        {detection ? (
          <>
            <dt>Detection</dt>
            <dd>
              {count(detection.files)} files judged: {count(detection.encryptedStrong)} encrypted (strong evidence), {count(detection.encryptedWeak)} weakly, {count(detection.ransomNotes)} ransom notes, {count(detection.renamed)} renamed, {count(detection.changed)} changed
              {detection.changeRate !== null ? ` (${Math.round(detection.changeRate * 1000) / 10}% change rate)` : ''}
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
      <SnapshotFindings set={set} snapshot={snapshot} level={2} titled={false} />
    </Layout>
  );
};
