/**
 * `vouch last-clean SET`: the newest clean snapshot, the newest one a drill proved restorable,
 * the recommendation (the last restorable one, else the last clean one marked NOT DRILLED), clean
 * snapshots a failed drill demoted, and why each newer snapshot was rejected — the recovery lead's
 * one command. Exit 0 only when the newest snapshot is both clean and restorable (its latest
 * drill passed); 3 otherwise. Reads the state
 * directory only (no store access, no lock), so it answers in moments even mid-incident.
 */
import type { Command } from 'commander';
import { formatAge } from '../config/duration.js';
import { selectSets } from '../scan/scan-run.js';
import { readDrillIndex } from '../state/drill-index.js';
import { readScanStatus } from '../state/scan-status.js';
import { readSetIndex } from '../state/set-index.js';
import { countingFindings } from '../verdicts/acceptance.js';
import type { Finding } from '../model/findings.js';
import { lastCleanReport, type LastCleanReport } from '../verdicts/last-clean.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadConfiguredPolicy, resolveStateDir } from './global-options.js';
import { printJson, printLines } from './output.js';
import { now as clockNow } from '../clock.js';

/** The `vouch last-clean --json` document. */
export interface LastCleanDocument extends LastCleanReport {
  set: string;
  /** Snapshots known to the state directory. */
  snapshots: number;
  /**
   * Findings about the store itself — snapshots removed or replaced, suspicious objects beside
   * them — held until accepted (accepted ones carry `accepted` and do not count).
   */
  setFindings: Finding[];
  /** Of `setFindings`, those not accepted: while any is open, last-clean does not exit 0. */
  openSetFindings: number;
  /** End of the last scan of the set that finished without a store error, or null when none did. */
  lastScan: string | null;
}

/** Builds the report for one set from the state directory. */
export async function lastCleanForSet(
  stateDir: string,
  set: string,
  now = clockNow(),
): Promise<LastCleanDocument> {
  const [index, drills, scan] = await Promise.all([
    readSetIndex(stateDir, set),
    readDrillIndex(stateDir, set),
    readScanStatus(stateDir, set),
  ]);
  const snapshots = Object.values(index.snapshots);
  const setFindings = index.setFindings ?? [];
  return {
    set,
    snapshots: snapshots.length,
    ...lastCleanReport(snapshots, drills.drills, now),
    setFindings,
    openSetFindings: countingFindings(setFindings).length,
    lastScan: scan.lastSuccess,
  };
}

/** The store-level findings as text: open ones first (what was destroyed), then accepted ones. */
function setFindingLines(document: LastCleanDocument): string[] {
  if (document.setFindings.length === 0) return [];
  const lines: string[] = [];
  const open = countingFindings(document.setFindings);
  if (open.length) {
    lines.push(
      `  THE STORE ITSELF WAS TOUCHED: ${open.length} open finding${open.length === 1 ? '' : 's'} (until accepted: \`vouch accept ${document.set} --kind KIND --path PATH --reason TEXT\`)`,
    );
    for (const finding of open) lines.push(`    ${finding.kind}  ${finding.path}: ${finding.detail}`);
  }
  const accepted = document.setFindings.filter((finding) => finding.accepted);
  if (accepted.length) {
    lines.push('  accepted findings about the store:');
    for (const finding of accepted)
      lines.push(
        `    ${finding.kind}  ${finding.path}: accepted by ${finding.accepted!.by} (acceptance ${finding.accepted!.id}): ${finding.accepted!.reason}`,
      );
  }
  return lines;
}

function ago(iso: string, now: Date): string {
  return `${formatAge((now.getTime() - Date.parse(iso)) / 1000)} ago`;
}

const shortTime = (iso: string) => iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');

/** The report as text. */
export function lastCleanText(document: LastCleanDocument, now = clockNow()): string[] {
  const lines = [
    `${document.set}: ${document.snapshots} snapshot${document.snapshots === 1 ? '' : 's'} in state`,
  ];
  if (document.snapshots === 0) {
    const why = document.lastScan
      ? `  scanned ${shortTime(document.lastScan)} (${ago(document.lastScan, now)}): the store holds no snapshot of this set — nothing to restore`
      : '  never scanned: run `vouch scan` first';
    return [...lines, why, ...setFindingLines(document)];
  }
  lines.push(
    document.lastClean
      ? `  last clean:      ${document.lastClean.id}  (${shortTime(document.lastClean.time)}, ${ago(document.lastClean.time, now)})`
      : '  last clean:      none — no snapshot of this set is clean',
  );
  lines.push(
    document.lastRestorable
      ? `  last restorable: ${document.lastRestorable.id}  (drill passed ${shortTime(document.lastRestorable.drilledAt)})`
      : `  last restorable: none — no clean snapshot has a passed drill (run \`vouch drill ${document.set} --search\`)`,
  );
  const recommendation = document.recommendation;
  if (recommendation) {
    const loud =
      recommendation.standing === 'restorable'
        ? ''
        : recommendation.standing === 'not-drilled'
          ? '  ** NOT DRILLED **'
          : '  ** DRILL FAILED **';
    lines.push(`  restore:         ${recommendation.id}${loud}`);
    lines.push(`                   ${recommendation.reason}`);
    if (recommendation.standing !== 'restorable')
      lines.push(
        `                   prove it first: vouch drill ${document.set} --snapshot ${recommendation.id}  (or --search)`,
      );
  } else {
    lines.push(
      '  restore:         nothing — no snapshot of this set is clean (see `vouch recover --dry-run` for the newest intact version of each file)',
    );
  }
  for (const future of document.futureDated ?? []) {
    lines.push(
      `  SUSPICIOUS:      ${future.id} is dated ${shortTime(future.time)}, ${formatAge(future.aheadSeconds)} ahead of this clock: not taken yet, so not counted as fresh (a forged or mis-set name or time)`,
    );
  }
  if (document.newest && !document.newest.cleanAndRestorable) {
    const why = (document.futureDated ?? []).some((future) => future.id === document.newest!.id)
      ? 'dated in the future (see SUSPICIOUS above)'
      : document.newest.verdict !== 'clean'
        ? document.newest.verdict
        : document.newest.standing === 'drill-failed'
          ? 'clean, but its latest drill failed'
          : 'clean, but not drilled yet';
    lines.push(`  newest:          ${document.newest.id} is ${why}`);
  }
  for (const demoted of document.demoted) {
    lines.push(
      `  demoted:         ${demoted.id}  clean, but drill ${demoted.drill.id ?? ''} failed (${shortTime(demoted.drill.finishedAt)})`,
    );
    for (const failure of demoted.failures)
      lines.push(`        ${failure.verifier}${failure.path ? ` ${failure.path}` : ''}: ${failure.detail}`);
  }
  if (document.rejected.length) {
    lines.push(`  rejected (newer than the last clean snapshot):`);
    for (const snapshot of document.rejected) {
      lines.push(`    ${snapshot.id}  ${snapshot.verdict}  (${shortTime(snapshot.time)})`);
      for (const reason of snapshot.reasons) {
        lines.push(`      ${reason.count} × ${reason.kind}`);
        for (const example of reason.examples)
          lines.push(`        ${example.path ? `${example.path}: ` : ''}${example.detail}`);
      }
    }
  } else if (document.lastClean) {
    lines.push('  the newest snapshot is the last clean one');
  }
  lines.push(...setFindingLines(document));
  if (document.olderNotClean.length) {
    lines.push(
      `  older snapshots that are not clean: ${document.olderNotClean.map((s) => `${s.id} (${s.verdict})`).join(', ')}`,
    );
  }
  if (document.accepted.length) {
    lines.push('  accepted findings (known and harmless, not counted; `vouch accept --list`):');
    for (const snapshot of document.accepted) {
      const counts = Object.entries(snapshot.counts)
        .map(([kind, n]) => `${n} × ${kind}`)
        .join(', ');
      const changed =
        snapshot.verdictBeforeAcceptance !== snapshot.verdict
          ? `, ${snapshot.verdictBeforeAcceptance} without them`
          : '';
      lines.push(`    ${snapshot.id}  ${snapshot.verdict}${changed}: ${counts}`);
      for (const acceptance of snapshot.acceptances)
        lines.push(
          `      acceptance ${acceptance.id} by ${acceptance.by} (${shortTime(acceptance.at)}): ${acceptance.reason}`,
        );
    }
  }
  return lines;
}

/** 0 only when the newest snapshot is both clean and restorable (its latest drill passed); 3 otherwise. */
export function lastCleanExitCode(
  report: Pick<LastCleanReport, 'newest'> & { openSetFindings?: number },
): number {
  // The store itself touched (a snapshot removed or replaced, foreign objects) is a finding too.
  return report.newest?.cleanAndRestorable && !report.openSetFindings ? EXIT.ok : EXIT.findings;
}

/** Registers `last-clean`. */
export function registerLastClean(program: Command): void {
  program
    .command('last-clean')
    .description(
      'name the newest clean snapshot, the newest restorable one (its latest drill passed), which one to restore, and why each newer snapshot was rejected; exit 0 only when the newest snapshot is both clean and restorable and no finding about the store (a snapshot removed or replaced, foreign objects) is open, 3 otherwise',
    )
    .argument('<set>', 'set name from the policy')
    .action(async (set: string, _options, command: Command) => {
      const options = globalOptions(command);
      const policy = await loadConfiguredPolicy(options);
      selectSets(policy, [set]);
      const document = await lastCleanForSet(resolveStateDir(options, policy), set);
      if (options.json) printJson(document);
      else printLines(lastCleanText(document));
      process.exitCode = lastCleanExitCode(document);
    });
}
