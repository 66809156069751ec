/** Human-readable form of a scan report: what an operator needs first, details after. */
import { formatBytes } from '../config/byte-size.js';
import { RULE_PARTS, type DatasetRuleReport } from '../immutability/rule-3-2-1-1-0.js';
import type { ScanReport } from '../scan/scan-run.js';
import type { SetReport, SnapshotReport } from '../scan/scan-set.js';
import { acceptedBy, countingFindings } from '../verdicts/acceptance.js';
import { table } from './output.js';

const FINDINGS_SHOWN = 8;

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');
}

function setLines(set: SetReport): string[] {
  const lines = [
    `${set.name}  ${set.location}  ${set.snapshots.length} snapshot${set.snapshots.length === 1 ? '' : 's'}`,
  ];
  if (set.error) return [...lines, `  error: ${set.error}`];
  const rows = [['TIME', 'SNAPSHOT', 'VERDICT', 'ENTRIES', 'SIZE', 'READ']];
  for (const snapshot of set.snapshots) {
    rows.push([
      shortTime(snapshot.time),
      snapshot.id,
      snapshot.verdict,
      String(snapshot.entries),
      formatBytes(snapshot.bytes),
      snapshot.deep ? 'full' : 'metadata',
    ]);
  }
  lines.push(...table(rows).map((row) => `  ${row}`));
  lines.push(`  last clean: ${set.lastClean ?? 'none'}`);
  for (const finding of set.findings ?? []) {
    const accepted = finding.accepted
      ? ` (accepted by ${finding.accepted.by}, acceptance ${finding.accepted.id}: ${finding.accepted.reason})`
      : '';
    lines.push(`  ${finding.kind.toUpperCase()}: ${finding.detail}${accepted}`);
  }
  const open = (set.findings ?? []).filter(
    (finding) => !finding.accepted && finding.kind !== 'no-snapshots',
  ).length;
  if (open)
    lines.push(
      `  ${open} finding${open === 1 ? '' : 's'} about the store itself ${open === 1 ? 'stays' : 'stay'} until accepted: \`vouch accept ${set.name} --kind KIND --path PATH --reason TEXT\``,
    );
  if (set.sampling) {
    const sampling = set.sampling;
    lines.push(
      `  sampling: re-read ${sampling.sampled} of ${sampling.candidates} unchanged snapshots (${formatBytes(sampling.bytes)}); the window needs ${formatBytes(sampling.neededPerDay)}/day${sampling.overdue ? `; ${sampling.overdue} past the window` : ''}`,
    );
  }
  for (const snapshot of set.snapshots) {
    if (!snapshot.faults) continue;
    const { transient, resumed, gaveUp } = snapshot.faults;
    lines.push(
      `  store faults reading ${snapshot.id}: ${transient} transient (${resumed} resumed), ${gaveUp} given up`,
    );
  }
  for (const removed of set.removed) lines.push(`  removed from the store: ${removed}`);
  for (const note of set.notes) lines.push(`  note: ${note}`);
  if (set.immutability) {
    const audit = set.immutability;
    const verdict = audit.ok === null ? 'reported (no requirements)' : audit.ok ? 'holds' : 'DOES NOT HOLD';
    lines.push(`  immutability ${verdict}${audit.protected ? ', copy protected' : ', copy not protected'}`);
    for (const check of audit.checks)
      if (check.status !== 'pass')
        lines.push(`    ${check.status.padEnd(7)} ${check.check}: ${check.detail}`);
    const objectFindings = audit.findings.filter(
      (finding) => finding.path.startsWith('s3://') && finding.path.split('/').length > 3,
    );
    for (const finding of objectFindings.slice(0, FINDINGS_SHOWN))
      lines.push(`    ${finding.path}: ${finding.detail}`);
  }
  for (const snapshot of set.snapshots) lines.push(...snapshotFindingLines(snapshot));
  return lines;
}

/** A snapshot's findings that count (when it is not clean), then its accepted ones, marked. */
function snapshotFindingLines(snapshot: SnapshotReport): string[] {
  const lines: string[] = [];
  const counting = countingFindings(snapshot.findings);
  const accepted = snapshot.findings.filter((finding) => finding.accepted);
  if (snapshot.verdict !== 'clean') {
    const total = counting.length + snapshot.findingsOmitted;
    lines.push(
      `  ${snapshot.id} is ${snapshot.verdict}: ${total} finding${total === 1 ? '' : 's'}${snapshot.complete ? '' : ' (not fully read)'}`,
    );
    lines.push(
      ...table(
        counting
          .slice(0, FINDINGS_SHOWN)
          .map((finding) => [finding.kind, shortenPath(finding.path), finding.detail]),
      ).map((row) => `    ${row}`),
    );
    if (total > FINDINGS_SHOWN)
      lines.push(`    … and ${total - FINDINGS_SHOWN} more (--json lists up to 1000)`);
  }
  if (accepted.length) {
    const before =
      snapshot.verdictBeforeAcceptance && snapshot.verdictBeforeAcceptance !== snapshot.verdict
        ? `; without them it would be ${snapshot.verdictBeforeAcceptance}`
        : '';
    lines.push(
      `  ${snapshot.id}: ${accepted.length} accepted finding${accepted.length === 1 ? '' : 's'} (known and harmless, not counted${before})`,
    );
    for (const { acceptance, findings } of acceptedBy(accepted)) {
      lines.push(
        `    acceptance ${acceptance.id} by ${acceptance.by}, ${findings} finding${findings === 1 ? '' : 's'}: ${acceptance.reason}`,
      );
    }
    const rows = accepted
      .slice(0, FINDINGS_SHOWN)
      .map((finding) => [`accepted (${finding.accepted!.id})`, finding.kind, shortenPath(finding.path)]);
    lines.push(...table(rows).map((row) => `    ${row}`));
    if (accepted.length > FINDINGS_SHOWN)
      lines.push(`    … and ${accepted.length - FINDINGS_SHOWN} more (--json lists them)`);
  }
  return lines;
}

function datasetLines(dataset: DatasetRuleReport): string[] {
  const parts = RULE_PARTS.map((part) => {
    const result = dataset.parts[part];
    return `${part} ${result.count}${result.ok ? '' : ` (needs ${part === 'errors' ? '0' : `>= ${result.required}`})`}`;
  });
  return [
    `data set ${dataset.dataset}: 3-2-1-1-0 ${dataset.ok ? 'met' : 'NOT met'} — ${parts.join(', ')} [${dataset.copies.join(', ')}]`,
  ];
}

/** The whole report as lines. */
export function scanReportText(report: ScanReport): string[] {
  const lines = report.sets.flatMap((set, index) => (index ? ['', ...setLines(set)] : setLines(set)));
  if (report.datasets?.length) lines.push('', ...report.datasets.flatMap(datasetLines));
  if (report.interrupted)
    lines.push('', 'scan interrupted: snapshots not reached keep their previous results');
  return lines;
}

/** Longest path a findings table prints; longer ones keep their start and end around an ellipsis (`--json` has them whole). */
export const TABLE_PATH_CHARS = 120;

/** `path` cut to TABLE_PATH_CHARS with `…` in the middle (the file name at the end stays readable). Pure. */
export function shortenPath(path: string, max = TABLE_PATH_CHARS): string {
  if (path.length <= max) return path;
  const tail = Math.floor((max - 1) / 2);
  return `${path.slice(0, max - 1 - tail)}…${path.slice(path.length - tail)}`;
}
