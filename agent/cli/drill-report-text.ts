/** Human-readable form of a drill report: the verdict first, then what a recovery lead asks next. */
import { formatBytes } from '../config/byte-size.js';
import { formatDuration } from '../config/duration.js';
import type { DrillReport } from '../model/drill.js';
import type { DrillSearch } from '../drills/drill-search.js';
import { table } from './output.js';

const FAILURES_SHOWN = 12;

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');
}

/** The RTO line: measured (or projected) time against the target. */
export function rtoText(
  report: Pick<
    DrillReport,
    'rtoTargetSeconds' | 'withinRto' | 'projectedFullRestoreSeconds' | 'durationSeconds'
  >,
): string {
  if (report.rtoTargetSeconds === null) return 'no RTO target';
  const measured = report.projectedFullRestoreSeconds ?? report.durationSeconds;
  const what = report.projectedFullRestoreSeconds === null ? 'took' : 'full restore projected at';
  const verdict = report.withinRto === null ? 'not judged' : report.withinRto ? 'within' : 'OVER';
  return `${what} ${formatDuration(measured)}, RTO ${formatDuration(report.rtoTargetSeconds)}: ${verdict}`;
}

/** The report as lines. */
export function drillReportText(report: DrillReport): string[] {
  const overRto = report.outcome === 'passed' && report.withinRto === false ? ', but OVER the RTO' : '';
  const lines = [`drill ${report.id} of ${report.set}: ${report.outcome.toUpperCase()}${overRto}`];
  const judgement = report.snapshotJudgement;
  if (judgement) lines.push(`  WARNING: ${judgement.warning}`);
  const rows: string[][] = [];
  rows.push([
    'snapshot',
    report.snapshot
      ? `${report.snapshot}${report.snapshotVersion ? `@${report.snapshotVersion} (stored version ${report.snapshotVersion}, not the current object)` : ''} (${shortTime(report.snapshotTime!)}), ${report.pick}: ${report.pickReason}`
      : `none (${report.pickReason || report.pick})`,
  ]);
  if (report.restore) {
    const sample =
      report.sample.fraction < 1
        ? `, sample ${(report.sample.fraction * 100).toFixed(1).replace(/\.0$/, '')}%`
        : '';
    rows.push([
      'restored',
      `${report.sample.entries} of ${report.restore.entries} entries, ${formatBytes(report.sample.bytes)} of ${formatBytes(report.restore.bytes)}${sample}${report.restore.complete ? '' : ' (incomplete)'}`,
    ]);
  }
  const { fetch, extract, verify, app } = report.phases;
  rows.push([
    'phases',
    `fetch ${formatDuration(fetch)}, extract ${formatDuration(extract)}, verify ${formatDuration(verify)}, app ${formatDuration(app)}; total ${formatDuration(report.durationSeconds)}`,
  ]);
  rows.push(['rto', rtoText(report)]);
  if (report.sandbox)
    rows.push([
      'sandbox',
      report.sandbox === 'bwrap'
        ? 'bubblewrap (no network, read-only host)'
        : 'NONE (policy drill.sandbox: none)',
    ]);
  for (const [index, outcome] of report.verifiers.entries())
    rows.push([index === 0 ? 'verifiers' : '', `${outcome.verifier} ${outcome.status}: ${outcome.detail}`]);
  if (judgement?.hitFiles.length) {
    const more = judgement.hitFilesOmitted ? ` (+${judgement.hitFilesOmitted} more)` : '';
    rows.push([
      '',
      `detection: restored files judged encrypted or damaged by the scan (${judgement.hitFiles.length} findings${more}):`,
    ]);
    for (const file of judgement.hitFiles.slice(0, FAILURES_SHOWN))
      rows.push(['', `  ${file.path}: ${file.kind}: ${file.detail}`]);
    if (judgement.hitFiles.length > FAILURES_SHOWN)
      rows.push(['', `  … and ${judgement.hitFiles.length - FAILURES_SHOWN} more (--json)`]);
  }
  lines.push(...table(rows).map((row) => `  ${row}`));
  for (const note of report.notes) lines.push(`  note: ${note}`);
  if (report.failures.length) {
    lines.push(`  ${report.failures.length} failure${report.failures.length === 1 ? '' : 's'}:`);
    const shown = report.failures
      .slice(0, FAILURES_SHOWN)
      .map((failure) => [failure.verifier, failure.path ?? '', failure.detail]);
    lines.push(...table(shown).map((row) => `    ${row}`));
    if (report.failures.length > FAILURES_SHOWN)
      lines.push(`    … and ${report.failures.length - FAILURES_SHOWN} more (--json lists them all)`);
  }
  return lines;
}

/** A `drill --search` as lines: what was skipped, each drill's headline, and what was found. */
export function drillSearchText(search: DrillSearch): string[] {
  const lines = [
    `drill search of ${search.set}: ${search.found ? `FOUND ${search.found} — the newest clean snapshot that restores` : 'NO clean snapshot passed a drill'}`,
  ];
  for (const skipped of search.skipped)
    lines.push(
      `  skipped ${skipped.id}: its latest drill ${skipped.drill} failed (${shortTime(skipped.finishedAt)})`,
    );
  if (search.candidates.length === 0)
    lines.push('  no clean snapshot left to try (run vouch scan, or drill a snapshot by id to retry it)');
  for (const report of search.drills) {
    lines.push('');
    lines.push(...drillReportText(report));
  }
  const untried = search.candidates.length - search.drills.length;
  if (search.capped) {
    const shown = search.capped.next.slice(0, 5).join(', ');
    lines.push(
      '',
      `  STOPPED after ${search.drills.length} drill${search.drills.length === 1 ? '' : 's'} (--max ${search.max}): ${search.capped.undrilled} clean candidate${search.capped.undrilled === 1 ? '' : 's'} left undrilled (${shown}${search.capped.undrilled > 5 ? ', …' : ''})`,
      `  continue with: ${search.capped.continueWith}   (candidates whose drill just failed are skipped)`,
    );
  } else if (search.found && untried > 0)
    lines.push(
      '',
      `  ${untried} older candidate${untried === 1 ? '' : 's'} not drilled: the search stops at the first pass`,
    );
  return lines;
}
