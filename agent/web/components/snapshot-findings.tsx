/**
 * One rejected snapshot: what it is, downloads of its baseline manifest and evidence records, and
 * its findings grouped (finding-groups.ts) with the affected paths in tables a script can filter.
 */
import type { Child, FC } from 'hono/jsx';
import { formatBytes } from '../../config/byte-size.js';
import type { SnapshotState } from '../../model/snapshot-state.js';
import { MAX_STORED_FINDINGS } from '../../state/set-index.js';
import type { Finding } from '../../model/findings.js';
import {
  ACCEPTED_GROUP,
  findingReasons,
  findingSummary,
  groupFindings,
  omittedFindings,
  type FindingGroup,
  type FindingSubgroup,
} from '../finding-groups.js';
import { count, plural } from '../format.js';
import { snapshotAnchor, snapshotHref, Time, VerdictBadge } from './common.js';

/** Subgroups longer than this start collapsed (the filter opens them when it finds something). */
const OPEN_ROWS = 100;

/** Links to a snapshot's manifest (when it has a baseline) and its ledger records. */
export const SnapshotDownloads: FC<{ set: string; snapshot: SnapshotState }> = ({ set, snapshot }) => (
  <span class="downloads">
    {snapshot.baseline ? (
      <a href={`${snapshotHref(set, snapshot.id)}/manifest.ndjson.gz`} download="">
        manifest
      </a>
    ) : (
      <span class="small">no baseline</span>
    )}{' '}
    ·{' '}
    <a href={`${snapshotHref(set, snapshot.id)}/evidence.json`} download="">
      evidence records
    </a>
  </span>
);

/** The detail at least half of `findings` (and more than one) share, if any. */
function commonDetail(findings: readonly Finding[]): { detail: string; count: number } | null {
  const counts = new Map<string, number>();
  for (const finding of findings) counts.set(finding.detail, (counts.get(finding.detail) ?? 0) + 1);
  let best: { detail: string; count: number } | null = null;
  for (const [detail, n] of counts) if (!best || n > best.count) best = { detail, count: n };
  return best && best.count > 1 && best.count * 2 >= findings.length ? best : null;
}

/** A finding's explanation, its bracketed reasons set apart. */
const Evidence: FC<{ detail: string; prefix?: string }> = ({ detail, prefix }) => {
  const reasons = findingReasons(detail);
  return (
    <div class="evidence">
      {prefix ? <b>{prefix}</b> : null}
      {findingSummary(detail)}
      {reasons.length ? <span class="small"> ({reasons.join(', ')})</span> : null}
    </div>
  );
};

/** A heading of `level` (2 to 5; deeper levels render as h5). */
const Heading: FC<{ level: number; id?: string; children?: Child }> = ({ level, id, children }) =>
  level <= 2 ? (
    <h2 id={id}>{children}</h2>
  ) : level === 3 ? (
    <h3 id={id}>{children}</h3>
  ) : level === 4 ? (
    <h4 id={id}>{children}</h4>
  ) : (
    <h5 id={id}>{children}</h5>
  );

/** One line of every group's title and total. */
function groupSummary(groups: readonly FindingGroup[]): string {
  return groups.map((group) => `${group.title}: ${count(group.total)}`).join(' · ');
}

export interface SnapshotFindingsProps {
  set: string;
  snapshot: SnapshotState;
  /** Heading level of the snapshot's title (groups are one below). */
  level: 2 | 3;
  /** How it relates to the last clean snapshot, e.g. "newer than the last clean snapshot". */
  relation?: string;
  /** Show the snapshot's id in its heading (the snapshot page has it in its h1). */
  titled?: boolean;
}

/**
 * One subgroup of findings (same kind and explanation pattern) as a collapsible table of paths;
 * the explanation most paths share is said once above the table, and rows show only what differs.
 */
const SubgroupTable: FC<{
  anchor: string;
  group: FindingGroup;
  subgroup: FindingSubgroup;
  position: number;
}> = ({ anchor, group, subgroup, position }) => {
  const common = commonDetail(subgroup.findings);
  return (
    <details
      open={subgroup.findings.length <= OPEN_ROWS}
      data-subgroup=""
      id={`${anchor}-${group.id}-${position}`}
    >
      <summary>
        {subgroup.title} — <span data-count="">{plural(subgroup.findings.length, 'path')}</span>
      </summary>
      {common ? (
        <Evidence
          detail={common.detail}
          prefix={`Evidence for ${common.count === subgroup.findings.length ? 'each' : `${count(common.count)} of them`}: `}
        />
      ) : null}
      <table class="findings">
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">Evidence</th>
          </tr>
        </thead>
        <tbody>
          {subgroup.findings.map((finding) => (
            <tr
              data-path={finding.path}
              class={finding.accepted ? 'accepted' : finding.severity}
              data-accepted={finding.accepted ? String(finding.accepted.id) : undefined}
            >
              <td>
                <code>{finding.path || '(the snapshot)'}</code>
              </td>
              <td>
                {common && finding.detail === common.detail ? (
                  <span class="small">as above</span>
                ) : (
                  <Evidence
                    detail={finding.detail}
                    prefix={group.id === ACCEPTED_GROUP ? `${finding.kind}: ` : undefined}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
};

/** One group of findings (e.g. encrypted files): its title and total, how many are listed, and its subgroups. */
const GroupOfFindings: FC<{ anchor: string; group: FindingGroup; level: number }> = ({
  anchor,
  group,
  level,
}) => {
  const shown = group.subgroups.reduce((sum, subgroup) => sum + subgroup.findings.length, 0);
  return (
    <div class={`group ${group.id}`} data-group="">
      <Heading level={level}>
        {group.title} <span class="count">{count(group.total)}</span>
        {shown < group.total ? <span class="small"> ({count(shown)} listed)</span> : null}
      </Heading>
      {group.subgroups.map((subgroup, position) => (
        <SubgroupTable anchor={anchor} group={group} subgroup={subgroup} position={position} />
      ))}
    </div>
  );
};

/**
 * The snapshot's findings section: its heading and facts, the group summary, notes on accepted
 * and omitted findings, the path filter (shown by the script), and each group of findings.
 */
export const SnapshotFindings: FC<SnapshotFindingsProps> = ({
  set,
  snapshot,
  level,
  relation,
  titled = true,
}) => {
  const anchor = snapshotAnchor(snapshot.id);
  const groups = groupFindings(snapshot);
  const omitted = omittedFindings(snapshot);
  const listed = snapshot.findings.length;
  return (
    <section
      class="snapshot-findings"
      id={anchor}
      aria-labelledby={`${anchor}-title`}
      data-snapshot={snapshot.id}
    >
      <Heading level={level} id={`${anchor}-title`}>
        {titled ? (
          <>
            <a href={snapshotHref(set, snapshot.id)}>
              <code>{snapshot.id}</code>
            </a>{' '}
          </>
        ) : (
          'Findings '
        )}
        <VerdictBadge verdict={snapshot.verdict} />
      </Heading>
      <p class="facts">
        Taken <Time iso={snapshot.time} />
        {relation ? ` — ${relation}` : ''}. {plural(snapshot.entries, 'entry', 'entries')},{' '}
        {formatBytes(snapshot.bytes)}; last scanned <Time iso={snapshot.lastScan} />. Download:{' '}
        <SnapshotDownloads set={set} snapshot={snapshot} />
      </p>
      {groups.length ? <p class="group-summary">{groupSummary(groups)}</p> : <p>No findings.</p>}
      {snapshot.verdictBeforeAcceptance && snapshot.verdictBeforeAcceptance !== snapshot.verdict ? (
        <p class="note" data-verdict-before-acceptance={snapshot.verdictBeforeAcceptance}>
          Without its accepted findings this snapshot would be{' '}
          <VerdictBadge verdict={snapshot.verdictBeforeAcceptance} />: a person accepted them as known and
          harmless (below), so they do not count.
        </p>
      ) : null}
      {omitted > 0 ? (
        <p class="note">
          {count(listed)} findings are listed; {count(omitted)} more were counted but not kept (vouch keeps
          the first {count(MAX_STORED_FINDINGS)} per snapshot). The totals above count them all.
        </p>
      ) : null}
      {listed > 0 ? (
        <div class="filter" data-needs-script="" hidden>
          <label for={`${anchor}-filter`}>Filter affected paths</label>
          <input
            type="search"
            id={`${anchor}-filter`}
            data-filter={anchor}
            autocomplete="off"
            spellcheck={false}
          />
          <span class="small" data-filter-result="" aria-live="polite"></span>
        </div>
      ) : null}
      {groups.map((group) => (
        <GroupOfFindings anchor={anchor} group={group} level={level + 1} />
      ))}
    </section>
  );
};
