/**
 * Findings about the backup store itself — snapshots removed or replaced, suspicious objects
 * beside them — as the console shows them: a banner while any is open (they stay until accepted)
 * and a list with who accepted what.
 */
import type { FC } from 'hono/jsx';
import { countingFindings } from '../../verdicts/acceptance.js';
import type { Finding } from '../../model/findings.js';
import { plural } from '../format.js';
import { Badge } from './common.js';

/** Open store findings per kind, as a phrase (`2 snapshots removed, 1 replaced, 3 suspicious objects`); '' when none. */
export function storeFindingPhrase(findings: readonly Finding[]): string {
  const open = countingFindings(findings);
  const count = (kind: Finding['kind']) => open.filter((finding) => finding.kind === kind).length;
  return [
    count('snapshot-removed') ? `${plural(count('snapshot-removed'), 'snapshot')} removed` : '',
    count('snapshot-replaced') ? `${plural(count('snapshot-replaced'), 'snapshot')} replaced` : '',
    count('foreign-object')
      ? `${plural(count('foreign-object'), 'suspicious object')} beside the snapshots`
      : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** The banner a set's page and the overview show while the store has open findings. */
export const StoreBanner: FC<{ set: string; findings: readonly Finding[]; href?: string }> = ({
  set,
  findings,
  href,
}) => {
  const phrase = storeFindingPhrase(findings);
  if (!phrase) return null;
  return (
    <p class="alert bad" role="alert" data-store-findings={set}>
      The backup store of <b>{set}</b> was touched: {phrase}. The backups themselves may have been attacked;
      these findings stay until accepted. {href ? <a href={href}>See the store findings</a> : null}
    </p>
  );
};

/** The set page's section listing every store finding, open ones first. */
export const StoreFindings: FC<{ set: string; findings: readonly Finding[] }> = ({ set, findings }) => {
  if (findings.length === 0) return null;
  const ordered = [...countingFindings(findings), ...findings.filter((finding) => finding.accepted)];
  return (
    <section aria-labelledby="store-title" id="store-findings">
      <h2 id="store-title">The backup store itself</h2>
      <ul class="store-findings">
        {ordered.map((finding) => (
          <li data-kind={finding.kind} data-accepted={finding.accepted ? 'true' : 'false'}>
            {finding.accepted ? (
              <Badge tone="muted">accepted</Badge>
            ) : (
              <Badge tone="bad">{finding.kind}</Badge>
            )}{' '}
            <code>{finding.path}</code>: {finding.detail}
            {finding.accepted ? (
              <div class="small">
                accepted by {finding.accepted.by} (acceptance {finding.accepted.id}):{' '}
                {finding.accepted.reason}
              </div>
            ) : null}
          </li>
        ))}
      </ul>
      {countingFindings(findings).length ? (
        <p class="note">
          Accept one once you know why it happened:{' '}
          <code>{`vouch accept ${set} --kind KIND --path PATH --reason TEXT`}</code>
        </p>
      ) : null}
    </section>
  );
};
