/** Human-readable form of a scan report: what an operator needs first, details after. */
import { formatBytes } from '../config/byte-size.js';
import type { ScanReport } from '../scan/scan-run.js';
import type { SetReport } from '../scan/scan-set.js';
import { table } from './output.js';

const FINDINGS_SHOWN = 8;

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');
}

function setLines(set: SetReport): string[] {
  const lines = [`${set.name}  ${set.location}  ${set.snapshots.length} snapshot${set.snapshots.length === 1 ? '' : 's'}`];
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
  for (const removed of set.removed) lines.push(`  removed from the store since its baseline: ${removed}`);
  for (const note of set.notes) lines.push(`  note: ${note}`);
  for (const snapshot of set.snapshots) {
    if (snapshot.verdict === 'clean') continue;
    const total = snapshot.findings.length + snapshot.findingsOmitted;
    lines.push(`  ${snapshot.id} is ${snapshot.verdict}: ${total} finding${total === 1 ? '' : 's'}${snapshot.complete ? '' : ' (not fully read)'}`);
    const shown = table(snapshot.findings.slice(0, FINDINGS_SHOWN).map((finding) => [finding.kind, finding.path, finding.detail]));
    lines.push(...shown.map((row) => `    ${row}`));
    if (total > FINDINGS_SHOWN) lines.push(`    … and ${total - FINDINGS_SHOWN} more (--json lists up to 1000)`);
  }
  return lines;
}

/** The whole report as lines. */
export function scanReportText(report: ScanReport): string[] {
  return report.sets.flatMap((set, index) => (index ? ['', ...setLines(set)] : setLines(set)));
}
