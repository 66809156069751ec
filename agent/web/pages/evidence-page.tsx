/**
 * The auditor's page: the chain's verification result and the signing keys' fingerprints, the
 * auditor report on demand, and the ledger's records filtered by set and kind, paged on the server.
 */
import type { FC } from 'hono/jsx';
import type { LedgerRecord } from '../../ledger/ledger-record.js';
import { formatFingerprint } from '../../ledger/signing-key.js';
import type { EvidenceStatus } from '../../estate/evidence-status.js';
import { Badge, setHref, snapshotHref, Time } from '../components/common.js';
import { Layout, type PageFrame } from '../components/layout.js';
import { count, plural } from '../format.js';
import type { StoredRecord } from '../../ledger/ledger-index.js';

/** The report periods offered. */
export const REPORT_PERIODS: readonly { value: string; label: string }[] = [
  { value: '30d', label: 'last 30 days' },
  { value: '90d', label: 'last 90 days' },
  { value: '365d', label: 'last 365 days' },
  { value: 'all', label: 'all records' },
];

/** Records longer than this are offered as a download only, so a page of them stays light. */
const INLINE_RECORD_BYTES = 4096;

/** A public key as the page lists it. */
export interface KeyRow {
  keyId: string;
  fingerprint: string;
  /** It signed records of this ledger. */
  signed: boolean;
}

export interface EvidencePageProps {
  frame: PageFrame;
  status: EvidenceStatus;
  /** The ledger changed and is being verified again; `status` is the previous result. */
  verifying: boolean;
  keys: KeyRow[];
  filter: { set: string; kind: string };
  sets: string[];
  kinds: string[];
  page: number;
  pages: number;
  total: number;
  records: StoredRecord[];
  /** Where the first bad record is listed under the current filter, when it is. */
  firstBadPage: number | null;
}

/** One line about what a record says. */
export function recordSubject(record: LedgerRecord | null): string {
  if (!record) return 'not a JSON record';
  const data = (record.data ?? {}) as Record<string, unknown>;
  const text = (key: string) =>
    typeof data[key] === 'string' || typeof data[key] === 'number' || typeof data[key] === 'boolean'
      ? String(data[key])
      : null;
  switch (record.type) {
    case 'snapshot-scan':
      return `${text('verdict') ?? '?'}${text('verdictBeforeAcceptance') ? ` (${text('verdictBeforeAcceptance')} without accepted findings)` : ''}${data.deep ? ', full read' : ', metadata only'}${typeof data.entries === 'number' ? `, ${count(data.entries)} entries` : ''}`;
    case 'baseline':
      return `manifest ${text('manifest') ?? '?'} (${text('entries') ?? '?'} entries)`;
    case 'verdict-change':
      return `${text('from') ?? '?'} → ${text('to') ?? '?'}${text('acceptance') ? ` (acceptance ${text('acceptance')})` : text('revocation') ? ` (revocation ${text('revocation')})` : ''}`;
    case 'drill':
      return `${text('outcome') ?? '?'} in ${typeof data.durationSeconds === 'number' ? `${data.durationSeconds}s` : '?'}${data.withinRto === false ? ', over the RTO' : ''}`;
    case 'immutability-audit':
      return data.ok === null ? 'nothing required' : data.ok ? 'passed' : 'failed';
    case 'scan-run':
      return `${Array.isArray(data.sets) ? plural(data.sets.length, 'set') : '?'} scanned${data.interrupted ? ', interrupted' : ''}`;
    case 'key-rotation':
      return `key ${text('previousKeyId') ?? '?'} → ${text('keyId') ?? '?'}`;
    case 'snapshot-removed':
      return `was ${text('lastVerdict') ?? '?'}${data.expected === true ? ', pruned by retention' : data.expected === false ? ', a finding until accepted' : ''}`;
    case 'set-finding': {
      const finding = data.finding as { kind?: unknown; path?: unknown } | undefined;
      return `${typeof finding?.kind === 'string' ? finding.kind : '?'}: ${typeof finding?.path === 'string' ? finding.path : '?'}`;
    }
    case 'finding-acceptance':
      return `${typeof data.count === 'number' ? plural(data.count, 'finding') : 'findings'} accepted by ${text('by') ?? '?'}: ${text('reason') ?? ''}`;
    case 'acceptance-revocation':
      return `acceptance ${text('acceptance') ?? '?'} revoked by ${text('by') ?? '?'}${text('reason') ? `: ${text('reason')}` : ''}`;
    default:
      return '';
  }
}

/** The evidence page's URL for `page` under `filter`, scrolled to the records. */
function pageHref(filter: { set: string; kind: string }, page: number): string {
  const params = new URLSearchParams();
  if (filter.set) params.set('set', filter.set);
  if (filter.kind) params.set('kind', filter.kind);
  if (page > 1) params.set('page', String(page));
  const query = params.toString();
  return `/evidence${query ? `?${query}` : ''}#records-title`;
}

/** A labelled filter of the records: every value, and an empty one for all. */
const FilterSelect: FC<{
  name: string;
  label: string;
  all: string;
  values: readonly string[];
  selected: string;
}> = ({ name, label, all, values, selected }) => (
  <>
    <label for={`filter-${name}`}>{label}</label>
    <select id={`filter-${name}`} name={name}>
      <option value="">{all}</option>
      {values.map((value) => (
        <option value={value} selected={value === selected}>
          {value}
        </option>
      ))}
    </select>
  </>
);

/** Links to the newer and older pages of records, and which page this is. */
const Pager: FC<{ props: EvidencePageProps; where: string }> = ({ props, where }) => (
  <nav class="pager" aria-label={`Record pages (${where})`}>
    {props.page > 1 ? (
      <a href={pageHref(props.filter, props.page - 1)} rel="prev">
        ← Newer
      </a>
    ) : (
      <span class="small">← Newer</span>
    )}
    <span>
      page {count(props.page)} of {count(props.pages)}
    </span>
    {props.page < props.pages ? (
      <a href={pageHref(props.filter, props.page + 1)} rel="next">
        Older →
      </a>
    ) : (
      <span class="small">Older →</span>
    )}
  </nav>
);

/** The public signing keys: id, fingerprint, whether it signed any record, and the .pem download. */
const SigningKeys: FC<{ keys: readonly KeyRow[] }> = ({ keys }) =>
  keys.length ? (
    <table class="keys">
      <thead>
        <tr>
          <th scope="col">Key id</th>
          <th scope="col">Fingerprint (SHA-256 of the public key)</th>
          <th scope="col">Public key</th>
        </tr>
      </thead>
      <tbody>
        {keys.map((key) => (
          <tr>
            <td>
              <code>{key.keyId}</code>
              {key.signed ? '' : <span class="small"> (signed no record)</span>}
            </td>
            <td>
              <code class="fingerprint">{formatFingerprint(key.fingerprint)}</code>
            </td>
            <td>
              <a href={`/evidence/keys/${key.keyId}.pem`} download="">
                {key.keyId}.pem
              </a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  ) : (
    <p>No signing key yet: nothing has been recorded.</p>
  );

/**
 * The chain's verification: intact with its record count, or broken at the first bad record (with
 * a link to the page that lists it); a note while a changed ledger is verified again; the keys.
 */
const ChainVerification: FC<{ props: EvidencePageProps }> = ({ props }) => {
  const { status, verifying, keys } = props;
  const bad = status.firstBad;
  return (
    <section
      aria-labelledby="chain-title"
      class={`chain ${status.ok ? 'ok' : 'bad'}`}
      data-chain={status.ok ? 'intact' : 'broken'}
      data-first-bad={bad ? String(bad.seq) : undefined}
    >
      <h2 id="chain-title">Chain verification</h2>
      {status.ok ? (
        <p>
          <Badge tone="ok">intact</Badge> {plural(status.records, 'record')}: the hash chain, every record's
          ed25519 signature, key rotations and the signed head verify.
        </p>
      ) : (
        <p role="alert">
          <Badge tone="bad">broken</Badge>{' '}
          {bad ? (
            <>
              The chain is broken at record <b>{bad.seq}</b>: {bad.problem}.
            </>
          ) : (
            'The chain does not verify.'
          )}{' '}
          {props.firstBadPage !== null && bad ? (
            <a href={`${pageHref(props.filter, props.firstBadPage)}`}>Show record {bad.seq}</a>
          ) : null}
        </p>
      )}
      {verifying ? (
        <p class="note">
          The ledger changed; it is being verified again. This page updates when that finishes.
        </p>
      ) : null}
      <p class="small">
        The daemon re-verifies the chain whenever the ledger changes; baseline manifests are re-hashed by{' '}
        <code>vouch evidence verify</code> and for the report below. Trust here is the state directory's own
        keys: pin the fingerprint with <code>vouch evidence verify --key</code>.
      </p>
      <h3>Signing keys</h3>
      <SigningKeys keys={keys} />
    </section>
  );
};

/** The auditor report's download form: a period (90 days preselected) and the button. */
const ReportForm: FC = () => (
  <section aria-labelledby="report-title">
    <h2 id="report-title">Auditor report</h2>
    <form method="get" action="/evidence/report" class="inline">
      <label for="report-since">Period</label>
      <select id="report-since" name="since">
        {REPORT_PERIODS.map((period) => (
          <option value={period.value} selected={period.value === '90d'}>
            {period.label}
          </option>
        ))}
      </select>
      <button type="submit">Download the auditor report</button>
    </form>
    <p class="small">
      One self-contained, printable HTML file, generated now from the ledger with a full verification (chain,
      signatures, baseline manifests).
    </p>
  </section>
);

/**
 * One ledger record as a table row: its sequence number (marked when it is the first bad one),
 * time, kind, set and snapshot, what it says, and its JSON inline (when small) and as a download.
 */
const RecordRow: FC<{ stored: StoredRecord; bad: EvidenceStatus['firstBad'] }> = ({ stored, bad }) => {
  const record = stored.record;
  const data = (record?.data ?? {}) as { set?: unknown; snapshot?: unknown };
  const set = typeof data.set === 'string' ? data.set : null;
  const snapshot = typeof data.snapshot === 'string' ? data.snapshot : null;
  const isBad = bad !== undefined && stored.seq === bad.seq;
  return (
    <tr
      data-seq={String(stored.seq)}
      class={isBad ? 'bad-record' : undefined}
      id={`record-${stored.position}`}
    >
      <td class="num">
        {Number.isNaN(stored.seq) ? '?' : stored.seq}
        {isBad ? (
          <div>
            <Badge tone="bad">first bad record</Badge>
          </div>
        ) : null}
      </td>
      <td>{record && typeof record.time === 'string' ? <Time iso={record.time} /> : '—'}</td>
      <td>{record ? String(record.type) : 'malformed'}</td>
      <td>
        {set ? <a href={setHref(set)}>{set}</a> : <span class="small">—</span>}
        {set && snapshot ? (
          <div>
            <a href={snapshotHref(set, snapshot)}>
              <code>{snapshot}</code>
            </a>
          </div>
        ) : null}
      </td>
      <td>{recordSubject(record)}</td>
      <td>
        {stored.raw.length <= INLINE_RECORD_BYTES ? (
          <details id={`record-${stored.position}-json`}>
            <summary>record JSON</summary>
            <pre>{record ? JSON.stringify(record, null, 2) : stored.raw}</pre>
          </details>
        ) : null}
        <a href={`/evidence/records/${stored.position}.json`} download="">
          download
          {stored.raw.length > INLINE_RECORD_BYTES ? ` (${Math.ceil(stored.raw.length / 1024)} KiB)` : ''}
        </a>
      </td>
    </tr>
  );
};

/** The ledger's records: the set and kind filters, the count, pagers above and below, one row per record on this page. */
const RecordList: FC<{ props: EvidencePageProps }> = ({ props }) => {
  const { filter, records } = props;
  return (
    <section aria-labelledby="records-title">
      <h2 id="records-title">Records</h2>
      <form method="get" action="/evidence#records-title" class="inline filters">
        <FilterSelect name="set" label="Set" all="all sets" values={props.sets} selected={filter.set} />
        <FilterSelect name="kind" label="Kind" all="all kinds" values={props.kinds} selected={filter.kind} />
        <button type="submit">Filter</button>
      </form>
      <p data-record-count="">
        {plural(props.total, 'record')}
        {filter.set || filter.kind ? ' match' : ''}, newest first.
      </p>
      {props.pages > 1 ? <Pager props={props} where="above the records" /> : null}
      {records.length ? (
        <div class="scroll">
          <table class="records">
            <thead>
              <tr>
                <th scope="col">Record</th>
                <th scope="col">Time</th>
                <th scope="col">Kind</th>
                <th scope="col">Set and snapshot</th>
                <th scope="col">Says</th>
                <th scope="col">Content</th>
              </tr>
            </thead>
            <tbody>
              {records.map((stored) => (
                <RecordRow stored={stored} bad={props.status.firstBad} />
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>No records{filter.set || filter.kind ? ' match this filter' : ' yet'}.</p>
      )}
      {props.pages > 1 ? <Pager props={props} where="below the records" /> : null}
    </section>
  );
};

/** The evidence page: the chain's verification and keys, the auditor report form, the records. */
export const EvidencePage: FC<EvidencePageProps> = (props) => (
  <Layout frame={props.frame} title="Evidence" nav="evidence" pending={props.verifying}>
    <h1>Evidence</h1>
    <ChainVerification props={props} />
    <ReportForm />
    <RecordList props={props} />
  </Layout>
);
