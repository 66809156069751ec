/**
 * Renders the auditor report: one self-contained HTML file (inline CSS, no scripts, no external
 * assets), readable on screen and on paper. Pure: ReportData in, HTML out. Every value from the
 * state is escaped — entry names and failure details come from backups and may be hostile.
 */
import { formatBytes } from '../config/byte-size.js';
import { formatDuration } from '../config/duration.js';
import { judgeControls, type ControlStatus, type SetOutcomes } from './control-judgement.js';
import { CONTROLS, controlsServedBy, type Control } from './controls.js';
import type { ReportAcceptance, ReportData, ReportDrill, SetEvidence } from './report-data.js';
import { formatFingerprint } from '../ledger/signing-key.js';

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );
}

const e = escapeHtml;
const FAILURES_PER_DRILL = 8;

function when(iso: string | null): string {
  return iso ? e(iso.replace('T', ' ').replace(/(:\d{2})(\.\d+)?Z$/, '$1Z')) : '—';
}

function seconds(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : e(formatDuration(value));
}

function badge(kind: 'ok' | 'bad' | 'warn' | 'none', text: string): string {
  return `<span class="badge ${kind}">${e(text)}</span>`;
}

const OUTCOME_BADGE = { passed: 'ok', failed: 'bad', aborted: 'warn' } as const;

/** Stacked phase bar against the RTO target; its text legend keeps it readable in black and white. */
function phaseBar(drill: ReportDrill): string {
  const { fetch, extract, verify, app } = drill.phases;
  const total = drill.projectedFullRestoreSeconds ?? drill.durationSeconds;
  const scale = Math.max(total, drill.rtoTargetSeconds ?? 0, 0.001);
  const pct = (value: number) => `${Math.max(0, Math.min(100, (value / scale) * 100)).toFixed(2)}%`;
  const parts = (['fetch', 'extract', 'verify', 'app'] as const)
    .map(
      (phase) =>
        `<span class="phase ${phase}" style="width:${pct(drill.phases[phase])}" title="${phase} ${e(formatDuration(drill.phases[phase]))}"></span>`,
    )
    .join('');
  const rto = drill.rtoTargetSeconds
    ? `<span class="rto-mark" style="left:${pct(drill.rtoTargetSeconds)}" title="RTO ${e(formatDuration(drill.rtoTargetSeconds))}"></span>`
    : '';
  const legend = `fetch ${seconds(fetch)} · extract ${seconds(extract)} · verify ${seconds(verify)} · app ${seconds(app)}`;
  return `<div class="bar" role="img" aria-label="${e(legend)}">${parts}${rto}</div><div class="legend">${legend}</div>`;
}

function rtoCell(drill: ReportDrill): string {
  if (drill.rtoTargetSeconds === null) return badge('none', 'no target');
  if (drill.withinRto === null) return badge('none', 'not judged');
  const measured = drill.projectedFullRestoreSeconds ?? drill.durationSeconds;
  const label = `${formatDuration(measured)}${drill.projectedFullRestoreSeconds !== null ? ' projected' : ''} vs ${formatDuration(drill.rtoTargetSeconds)}`;
  return `${drill.withinRto ? badge('ok', 'within RTO') : badge('bad', 'over RTO')}<div class="small">${e(label)}</div>`;
}

function drillControls(drill: ReportDrill): string {
  return e(controlsServedBy(drill.sample.fraction < 1 ? 'sampled-drill' : 'drill').join(' · '));
}

/** A drill of a snapshot that is not clean by its scan, marked: the drill proves a restore, not the content. */
function notCleanMark(drill: ReportDrill): string {
  const judgement = drill.snapshotJudgement;
  if (!judgement) return '';
  return `<div class="not-clean" data-not-clean="${e(judgement.verdict ?? 'never-scanned')}">${badge('bad', judgement.verdict ? `${judgement.verdict} snapshot` : 'never scanned')}<div class="small">${e(judgement.warning)}</div></div>`;
}

function drillRows(drills: readonly ReportDrill[]): string {
  return drills
    .map((drill) => {
      const sample =
        drill.sample.fraction < 1
          ? `sample ${(drill.sample.fraction * 100).toFixed(1).replace(/\.0$/, '')}%, `
          : '';
      const restored = `${sample}${drill.sample.entries} entries, ${formatBytes(drill.sample.bytes)}`;
      const verifiers = (drill.verifiers ?? [])
        .map((outcome) => `${outcome.verifier} ${outcome.status}`)
        .join(', ');
      const failures = drill.failures
        .slice(0, FAILURES_PER_DRILL)
        .map(
          (failure) =>
            `<li><b>${e(failure.verifier)}</b>${failure.path ? ` <code>${e(failure.path)}</code>` : ''}: ${e(failure.detail)}</li>`,
        );
      if (drill.failures.length > FAILURES_PER_DRILL)
        failures.push(
          `<li>… and ${drill.failures.length - FAILURES_PER_DRILL} more (ledger record ${drill.seq})</li>`,
        );
      const assertions = (drill.verifiers ?? []).flatMap((outcome) =>
        (outcome.assertions ?? []).map((assertion) => ({ verifier: outcome.verifier, ...assertion })),
      );
      const assertionRows = assertions
        .map(
          (assertion) =>
            `<tr class="assertion" data-assertion="${e(assertion.name)}"><td>${e(assertion.verifier)}</td><td><code>${e(assertion.file)}</code></td><td><b>${e(assertion.name)}</b><div class="small"><code>${e(assertion.sql)}</code></div></td><td><code>${assertion.value === null ? '—' : e(assertion.value)}</code></td><td>${assertion.ok ? badge('ok', 'held') : badge('bad', 'failed')}${assertion.detail ? `<div class="small">${e(assertion.detail)}</div>` : ''}</td></tr>`,
        )
        .join('');
      const assertionTable = assertionRows
        ? `\n<tr class="assertions"><td></td><td colspan="7"><table><thead><tr><th>Verifier</th><th>File</th><th>Assertion</th><th>Returned</th><th>Result</th></tr></thead><tbody>${assertionRows}</tbody></table></td></tr>`
        : '';
      return `<tr class="drill ${e(drill.outcome)}" data-drill="${e(drill.id)}">
  <td class="num">${drill.seq}</td>
  <td>${when(drill.startedAt)}<div class="small">${e(drill.id)}</div></td>
  <td>${drill.snapshot ? `<code>${e(drill.snapshot)}</code><div class="small">${e(drill.pick)}, taken ${when(drill.snapshotTime)}</div>${notCleanMark(drill)}` : `<span class="small">none (${e(drill.pick)})</span>`}</td>
  <td>${badge(OUTCOME_BADGE[drill.outcome], drill.outcome)}</td>
  <td class="phases">${phaseBar(drill)}</td>
  <td>${rtoCell(drill)}</td>
  <td class="small">${e(restored)}${verifiers ? `<div>${e(verifiers)}</div>` : ''}</td>
  <td class="small">${drillControls(drill)}</td>
</tr>${assertionTable}${failures.length ? `\n<tr class="failures"><td></td><td colspan="7"><ul>${failures.join('')}</ul></td></tr>` : ''}`;
    })
    .join('\n');
}

function rpoCell(set: SetEvidence): string {
  if (set.rpo.ageSeconds === null) return badge('bad', 'no clean snapshot');
  const target = set.rpoTargetSeconds;
  const worst = set.rpo.worstGapSeconds ?? set.rpo.ageSeconds;
  const ok = target === null ? null : worst <= target;
  const text = `newest clean ${formatDuration(set.rpo.ageSeconds)} old; worst gap ${formatDuration(worst)}`;
  return `${ok === null ? badge('none', 'no target') : ok ? badge('ok', 'within RPO') : badge('bad', 'RPO missed')}<div class="small">${e(text)}${target !== null ? ` (target ${e(formatDuration(target))})` : ''}</div>`;
}

function drillSummary(set: SetEvidence): string {
  const count = (outcome: string) => set.drills.filter((drill) => drill.outcome === outcome).length;
  if (set.drills.length === 0) return badge('warn', 'no drills in period');
  const last = set.drills.at(-1)!;
  return `${count('passed')} passed, ${count('failed')} failed, ${count('aborted')} aborted<div class="small">last ${when(last.startedAt)}: ${e(last.outcome)}</div>`;
}

function summaryTable(data: ReportData): string {
  const rows = data.sets
    .map(
      (set) => `<tr><td><a href="#set-${e(set.name)}">${e(set.name)}</a></td>
  <td>${set.lastClean ? `<code>${e(set.lastClean.id)}</code><div class="small">${when(set.lastClean.time)}</div>` : badge('bad', 'none')}</td>
  <td>${rpoCell(set)}</td>
  <td>${drillSummary(set)}</td>
  <td class="small">${
    Object.entries(set.verdicts)
      .filter(([, n]) => n > 0)
      .map(([verdict, n]) => `${n} ${e(verdict)}`)
      .join(', ') || '—'
  }${storeNote(set)}${acceptedNote(set)}</td></tr>`,
    )
    .join('\n');
  return `<table class="summary"><thead><tr><th>Set</th><th>Last clean snapshot</th><th>RPO achieved</th><th>Restore drills</th><th>Snapshot verdicts</th></tr></thead><tbody>${rows || '<tr><td colspan="5">No sets in this state directory.</td></tr>'}</tbody></table>`;
}

/** Open findings about the store itself, for the summary. */
function storeNote(set: SetEvidence): string {
  const open = set.storeFindings.filter((finding) => !finding.accepted).length;
  return open
    ? `<div>${badge('bad', `${open} store finding${open === 1 ? '' : 's'} open`)} (<a href="#store-${e(set.name)}">removed, replaced, beside</a>)</div>`
    : '';
}

/** How many findings of a set are accepted now, for the summary. */
function acceptedNote(set: SetEvidence): string {
  const findings = set.acceptances.reduce((sum, acceptance) => sum + acceptance.now.findings, 0);
  return findings
    ? `<div>${findings} finding${findings === 1 ? '' : 's'} accepted (<a href="#accepted-${e(set.name)}">who and why</a>)</div>`
    : '';
}

function acceptanceRow(acceptance: ReportAcceptance): string {
  const kinds = new Map<string, number>();
  const snapshots = new Set<string>();
  for (const item of acceptance.findings) {
    kinds.set(item.kind, (kinds.get(item.kind) ?? 0) + Math.max(1, item.snapshots.length));
    for (const snapshot of item.snapshots) snapshots.add(snapshot);
  }
  const selection = [
    `path ${acceptance.selection.path}`,
    acceptance.selection.kind ? `kind ${acceptance.selection.kind}` : '',
    acceptance.selection.snapshot ? `snapshot ${acceptance.selection.snapshot}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const what = `${[...kinds].map(([kind, n]) => `${n} × ${kind}`).join(', ')}<div class="small">${e(selection)}; seen in ${snapshots.size ? [...snapshots].map((id) => `<code>${e(id)}</code>`).join(', ') : 'the set itself'}</div>`;
  const effect = acceptance.verdicts.length
    ? acceptance.verdicts
        .map((change) => `<code>${e(change.snapshot)}</code> ${e(change.from)} → ${e(change.to)}`)
        .join('<br>')
    : 'no verdict changed';
  const status = acceptance.revoked
    ? `${badge('none', 'revoked')}<div class="small">by ${e(acceptance.revoked.by)}, ${when(acceptance.revoked.at)} (record ${acceptance.revoked.id})${acceptance.revoked.reason ? `: ${e(acceptance.revoked.reason)}` : ''}</div>`
    : `${badge('warn', 'in force')}<div class="small">covers ${acceptance.now.findings} finding${acceptance.now.findings === 1 ? '' : 's'} now</div>`;
  return `<tr class="acceptance" data-acceptance="${acceptance.id}"><td class="num">${acceptance.id}</td><td>${when(acceptance.at)}</td><td>${e(acceptance.by)}</td><td>${e(acceptance.reason)}</td><td>${what}</td><td class="small">${effect}</td><td>${status}</td></tr>`;
}

/** Snapshots removed or replaced in the store and suspicious objects beside them: what is open, what was accepted, and every removal in the period. */
function storeSection(set: SetEvidence): string {
  if (set.storeFindings.length === 0 && set.removals.length === 0) return '';
  const findings = set.storeFindings.length
    ? `<table class="store-findings"><thead><tr><th>Record</th><th>Reported</th><th>Kind</th><th>What</th><th>Status</th></tr></thead><tbody>${set.storeFindings
        .map(
          (finding) =>
            `<tr class="store-finding" data-kind="${e(finding.kind)}" data-accepted="${finding.accepted ? 'true' : 'false'}"><td class="num">${finding.seq ?? '—'}</td><td>${when(finding.time)}</td><td>${e(finding.kind)}</td><td><code>${e(finding.path)}</code><div class="small">${e(finding.detail)}</div></td><td>${
              finding.accepted
                ? `${badge('warn', 'accepted')}<div class="small">by ${e(finding.accepted.by)}, ${when(finding.accepted.at)} (record ${finding.accepted.id}): ${e(finding.accepted.reason)}</div>`
                : badge('bad', 'open')
            }</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const removals = set.removals.length
    ? `<table class="removals"><thead><tr><th>Record</th><th>Left the store</th><th>Snapshot</th><th>Last verdict</th><th>Judged</th></tr></thead><tbody>${set.removals
        .map(
          (removal) =>
            `<tr class="removal"><td class="num">${removal.seq}</td><td>${when(removal.time)}</td><td><code>${e(removal.snapshot)}</code></td><td>${e(removal.lastVerdict ?? '—')}</td><td>${
              removal.expected === true
                ? badge('none', 'pruned by retention')
                : removal.expected === false
                  ? badge('bad', 'finding')
                  : badge('none', 'not judged')
            }</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  return `<h3 id="store-${e(set.name)}">Removed and replaced snapshots, objects beside them</h3>
<p class="small">Snapshots vouch had recorded that left the store or were replaced under their name, and suspicious objects (ransom notes, encrypted-looking objects, mass new extensions) beside them. Each stays open until a person accepts it.</p>
${findings}${removals ? `<p class="small">Snapshots that left the store in the period:</p>${removals}` : ''}`;
}

/** The set's accepted findings: who accepted what, when and why, and what it changed. */
function acceptanceSection(set: SetEvidence): string {
  if (set.acceptances.length === 0) return '';
  return `<h3 id="accepted-${e(set.name)}">Accepted findings</h3>
<p class="small">Findings a person examined and accepted as known and harmless (<code>vouch accept</code>). They stay in the evidence but do not count toward verdicts, the last clean snapshot, readiness or alerts; a file that changes again is judged again.</p>
<table class="acceptances"><thead><tr><th>Record</th><th>Accepted</th><th>By</th><th>Why</th><th>What</th><th>Verdicts changed</th><th>Status</th></tr></thead><tbody>${set.acceptances.map(acceptanceRow).join('')}</tbody></table>`;
}

function controlEvidence(control: Control, data: ReportData): string {
  const drills = data.sets.flatMap((set) => set.drills);
  const sampled = drills.filter((drill) => drill.sample.fraction < 1);
  const scans = data.sets.reduce((sum, set) => sum + set.scans.records, 0);
  const parts: string[] = [];
  if (control.servedBy.includes('scan')) parts.push(`${scans} snapshot scan records`);
  if (control.servedBy.includes('drill'))
    parts.push(
      `${drills.length} restore drills (${drills.filter((drill) => drill.outcome === 'passed').length} passed)`,
    );
  else if (control.servedBy.includes('sampled-drill')) parts.push(`${sampled.length} sampled drills`);
  if (control.id === 'CP-9(2)') parts.push(`${sampled.length} of them sampled`);
  if (control.servedBy.includes('ledger'))
    parts.push(`signed ledger ${data.verification.ok ? 'verified' : 'FAILED verification'}`);
  return e(parts.join('; '));
}

/** A set's outcomes, as the control judgement needs them. */
export function setOutcomes(set: SetEvidence, data: ReportData): SetOutcomes {
  return {
    drills: set.drills.map((drill) => ({
      outcome: drill.outcome,
      withinRto: drill.withinRto,
      sampled: drill.sample.fraction < 1,
    })),
    scans: set.scans.records,
    unverified: set.verdicts.unverified,
    incomplete: set.incomplete ?? [],
    rpo: {
      targetSeconds: set.rpoTargetSeconds,
      worstGapSeconds: set.rpo.worstGapSeconds ?? set.rpo.ageSeconds,
      hasClean: set.lastClean !== null,
    },
    openStoreFindings: set.storeFindings.filter((finding) => !finding.accepted).length,
    immutabilityAudits: set.immutabilityAudits,
    acceptances: set.acceptances,
    ledgerOk: data.verification.ok,
  };
}

const STATUS_BADGE: Record<ControlStatus, ['ok' | 'bad' | 'warn', string]> = {
  pass: ['ok', 'pass'],
  fail: ['bad', 'fail'],
  'no-evidence': ['warn', 'no evidence'],
};

/** Controls × sets, each cell judged from the period's outcomes with the reasons. */
function controlsTable(data: ReportData): string {
  const judged = new Map(data.sets.map((set) => [set.name, judgeControls(setOutcomes(set, data))]));
  const head = data.sets.map((set) => `<th>${e(set.name)}</th>`).join('');
  const rows = CONTROLS.map((control) => {
    const cells = data.sets
      .map((set) => {
        const judgement = judged.get(set.name)!.find((candidate) => candidate.control === control.id)!;
        const [tone, text] = STATUS_BADGE[judgement.status];
        return `<td class="control-status" data-control="${e(control.id)}" data-set="${e(set.name)}" data-status="${judgement.status}">${badge(tone, text)}<div class="small">${judgement.reasons.map(e).join('<br>')}</div></td>`;
      })
      .join('');
    return `<tr><td><b>${e(control.id)}</b><div class="small">${e(control.framework)}</div></td><td><b>${e(control.title)}</b><div class="small">${e(control.requirement)}</div><div class="small">Evidence: ${controlEvidence(control, data)}</div></td>${cells || '<td>no sets</td>'}</tr>`;
  }).join('\n');
  return `<p class="small">Each control is judged per set from what happened in the period: <b>pass</b> when every kind of evidence it rests on held (a restore drill passed within the RTO; for the RTO/RPO control, no RPO or RTO miss in the period; scans read every snapshot completely; no snapshot removed or replaced without an accepted reason; the last immutability audit held; every acceptance names who and why; the ledger verifies), <b>fail</b> when one did not, <b>no evidence</b> when one is missing.</p>
<table class="controls"><thead><tr><th>Control</th><th>Requirement</th>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** What the report covers: period, sets, the vouch that made it, the signing keys. */
function scopeBox(data: ReportData): string {
  const keys =
    data.verification.keyFingerprints
      .map((fingerprint) => `<code>${e(formatFingerprint(fingerprint))}</code>`)
      .join('<br>') || 'none';
  return `<dl class="facts scope">
<dt>Period</dt><dd>${data.since ? `${when(data.since)} to ${when(data.generatedAt)}` : `every record to ${when(data.generatedAt)}`}</dd>
<dt>Sets</dt><dd>${data.sets.map((set) => `<code>${e(set.name)}</code>`).join(', ') || 'none'}</dd>
<dt>vouch version</dt><dd><code>${e(data.version)}</code></dd>
<dt>Signing key fingerprints</dt><dd>${keys}</dd>
<dt>State directory</dt><dd><code>${e(data.stateDir)}</code></dd>
</dl>`;
}

/** Signing-key rotations in the period. */
function keyRotationSection(data: ReportData): string {
  const rows = data.keyRotations
    .map(
      (rotation) =>
        `<tr class="key-rotation"><td class="num">${rotation.seq}</td><td>${when(rotation.time)}</td><td>${e(rotation.type)}</td><td><code>${e(rotation.previousKeyId ?? '—')}</code> → <code>${e(rotation.keyId ?? '—')}</code></td><td><code>${e(rotation.fingerprint ? formatFingerprint(rotation.fingerprint) : '—')}</code></td></tr>`,
    )
    .join('');
  return rows
    ? `<table class="key-rotations"><thead><tr><th>Record</th><th>Time</th><th>Record type</th><th>Key</th><th>New key fingerprint</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p>No signing-key rotation in the period.</p>';
}

/** A set's immutability audits in the period. */
function immutabilitySection(set: SetEvidence): string {
  if (set.immutabilityAudits.length === 0)
    return '<h3>Immutability audits</h3><p>No immutability audit in this period.</p>';
  const rows = set.immutabilityAudits
    .map(
      (audit) =>
        `<tr class="immutability-audit"><td class="num">${audit.seq}</td><td>${when(audit.time)}</td><td>${e(audit.kind)}</td><td>${audit.ok === null ? badge('none', 'nothing required') : audit.ok ? badge('ok', 'held') : badge('bad', 'did not hold')}</td><td>${audit.protected === null ? '—' : audit.protected ? 'protected' : 'not protected'}</td><td class="num">${audit.findings}</td></tr>`,
    )
    .join('');
  return `<h3>Immutability audits</h3><table class="immutability"><thead><tr><th>Record</th><th>Audited</th><th>Kind</th><th>Result</th><th>Copy</th><th>Findings</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const SIGN_OFF = `<section id="sign-off"><h2>Sign-off</h2>
<p class="small">Reviewed against the controls above. Sign with the date of review; a fail or no-evidence judgement needs a remediation note.</p>
<table class="sign-off"><thead><tr><th>Role</th><th>Name</th><th>Signature</th><th>Date</th><th>Notes</th></tr></thead><tbody>
<tr><td>Backup owner</td><td></td><td></td><td></td><td></td></tr>
<tr><td>Auditor</td><td></td><td></td><td></td><td></td></tr>
</tbody></table></section>`;

function chainBox(data: ReportData): string {
  const result = data.verification;
  const head = result.head
    ? `head record ${result.head.seq}, signed ${when(result.head.time)}`
    : 'no signed head';
  const verdict = result.ok
    ? `${badge('ok', 'chain verified')} ${result.records} records; hash chain, ed25519 signatures and ${e(head)} verified; ${result.manifests.checked} baseline manifests match their recorded digests.`
    : `${badge('bad', 'chain FAILED')} first bad record <b>${result.firstBad!.seq}</b>: <b>${e(result.firstBad!.problem)}</b> — ${e(result.firstBad!.detail)}`;
  const keys = result.keyFingerprints
    .map((fingerprint) => `<li><code>${e(formatFingerprint(fingerprint))}</code></li>`)
    .join('');
  return `<div class="chain ${result.ok ? 'ok' : 'bad'}"><p>${verdict}</p>
<p class="small">Trust: ${result.trust === 'pinned' ? 'public keys pinned by the auditor' : 'public keys stored in the state directory (pin yours with <code>vouch evidence verify --key</code>)'}.${result.legacyUnsigned ? ` ${result.legacyUnsigned} records predate signing and are covered by the hash chain.` : ''}</p>
<p>Signing key fingerprints (SHA-256 of the public key):</p><ul class="keys">${keys || '<li>none</li>'}</ul></div>`;
}

function setSection(set: SetEvidence): string {
  const rejected = set.rejected.length
    ? `<h3>Snapshots newer than the last clean one</h3><table><thead><tr><th>Snapshot</th><th>Taken</th><th>Verdict</th><th>Why</th></tr></thead><tbody>${set.rejected
        .map(
          (snapshot) =>
            `<tr><td><code>${e(snapshot.id)}</code></td><td>${when(snapshot.time)}</td><td>${badge(snapshot.verdict === 'compromised' ? 'bad' : 'warn', snapshot.verdict)}</td><td class="small">${snapshot.reasons.map(e).join('<br>') || '—'}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const changes = set.verdictChanges.length
    ? `<h3>Verdict changes</h3><table><thead><tr><th>Record</th><th>Time</th><th>Snapshot</th><th>Change</th></tr></thead><tbody>${set.verdictChanges
        .map(
          (change) =>
            `<tr><td class="num">${change.seq}</td><td>${when(change.time)}</td><td><code>${e(change.snapshot)}</code></td><td>${e(change.from)} → ${e(change.to)}${change.cause ? `<div class="small">by ${e(change.cause)}</div>` : ''}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const drills = set.drills.length
    ? `<table class="drills"><thead><tr><th>Record</th><th>Started</th><th>Snapshot</th><th>Outcome</th><th>Phases (bar: share of the RTO)</th><th>RTO</th><th>Restored, verifiers</th><th>Controls</th></tr></thead><tbody>${drillRows(set.drills)}</tbody></table>`
    : '<p>No restore drills in this period.</p>';
  return `<section class="set" id="set-${e(set.name)}">
<h2>Set <code>${e(set.name)}</code></h2>
<dl class="facts">
<dt>Last clean snapshot</dt><dd>${set.lastClean ? `<code>${e(set.lastClean.id)}</code> (${when(set.lastClean.time)})` : 'none'}</dd>
<dt>Newest snapshot</dt><dd>${set.newest ? `<code>${e(set.newest.id)}</code> (${when(set.newest.time)})` : 'none'}</dd>
<dt>Targets</dt><dd>RPO ${seconds(set.rpoTargetSeconds)}, RTO ${seconds(set.rtoTargetSeconds)}</dd>
<dt>RPO achieved</dt><dd>${rpoCell(set)}</dd>
<dt>Scans</dt><dd>${set.scans.records} snapshot scan records (${set.scans.deep} full reads), last ${when(set.scans.last)} — serves ${e(controlsServedBy('scan').join(' · '))}</dd>
</dl>
<h3>Restore drills</h3>
${drills}
${rejected}
${immutabilitySection(set)}
${storeSection(set)}
${acceptanceSection(set)}
${changes}
</section>`;
}

const STYLE = `
:root { --ok: #1a7f37; --bad: #b42318; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328; margin: 0 auto; max-width: 1200px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 2px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 20px 0 6px; }
.meta, .small { color: var(--muted); font-size: 12px; }
code { font: 12px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 5px 7px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.badge.ok { color: var(--ok); } .badge.bad { color: var(--bad); } .badge.warn { color: var(--warn); } .badge.none { color: var(--muted); }
.chain { border: 2px solid var(--line); border-radius: 6px; padding: 8px 14px; margin: 12px 0; }
.chain.ok { border-color: var(--ok); } .chain.bad { border-color: var(--bad); }
ul.keys { margin: 0; }
dl.facts { display: grid; grid-template-columns: 180px 1fr; gap: 2px 12px; margin: 8px 0; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
td.phases { min-width: 220px; }
.bar { position: relative; display: flex; height: 12px; background: #f0f2f4; border: 1px solid var(--line); margin: 3px 0; }
.phase { display: block; height: 100%; } .phase.fetch { background: #8250df; } .phase.extract { background: #0969da; } .phase.verify { background: #1a7f37; } .phase.app { background: #bf8700; }
.rto-mark { position: absolute; top: -3px; bottom: -3px; width: 2px; background: var(--bad); }
.legend { font-size: 11px; color: var(--muted); }
tr.failures td { background: #fff8f7; } tr.failures ul { margin: 0; padding-left: 18px; font-size: 12px; }
table.sign-off td { height: 36px; }
footer { margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; } tr, .chain, dl.facts { break-inside: avoid; }
  thead { display: table-header-group; }
  section.set { break-before: page; }
}`;

/** The whole report as one HTML document. */
export function renderReportHtml(data: ReportData): string {
  const period = data.since ? `records since ${when(data.since)}` : 'all records';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="vouch">
<title>Backup evidence report — ${when(data.generatedAt)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Backup evidence report</h1>
<p class="meta">Generated ${when(data.generatedAt)} by vouch from <code>${e(data.stateDir)}</code>; period: ${period}. Every fact below is a signed record in the evidence ledger; the record number is given so each can be checked.</p>
</header>
<section id="scope">
<h2>Scope</h2>
${scopeBox(data)}
</section>
<section id="chain">
<h2>Evidence chain</h2>
${chainBox(data)}
</section>
<section id="summary">
<h2>Summary</h2>
${summaryTable(data)}
</section>
<section id="controls">
<h2>Controls judged</h2>
${controlsTable(data)}
</section>
<section id="key-rotations">
<h2>Signing-key rotations</h2>
${keyRotationSection(data)}
</section>
${data.sets.map(setSection).join('\n')}
${SIGN_OFF}
<footer class="small">
<p>To check this evidence independently: obtain the public key from the operator (<code>vouch evidence export-key</code>), compare its fingerprint with the one above, then run <code>vouch evidence verify --key public.pem --state STATE</code> on a copy of the state directory. Verification is offline and names the first edited, dropped, reordered, replayed or wrongly signed record.</p>
</footer>
</body>
</html>
`;
}
