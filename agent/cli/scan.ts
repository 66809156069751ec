/** `vouch scan [SET...]`: integrity over every snapshot; records results; exit 3 on findings. */
import type { Command } from 'commander';
import { runScan, type ScanReport } from '../scan/scan-run.js';
import { countingFindings } from '../verdicts/acceptance.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadConfiguredPolicy, resolveStateDir } from './global-options.js';
import { takeOverInterrupts } from './interrupt.js';
import { printJson, printLines } from './output.js';
import { terminalProgress } from './progress-bar.js';
import { scanReportText } from './scan-report-text.js';

/**
 * Exit code for a finished scan: 130 if it was interrupted, 1 if a set could not be scanned, 3 on
 * any non-clean snapshot, set finding that is not accepted (no snapshots at all, a snapshot removed
 * or replaced in the store, a suspicious object beside the snapshots), failed immutability audit or broken
 * 3-2-1-1-0 rule.
 */
export function scanExitCode(report: ScanReport): number {
  if (report.interrupted) return EXIT.interrupted;
  if (report.sets.some((set) => set.error)) return EXIT.runtime;
  const findings =
    report.sets.some(
      (set) =>
        countingFindings(set.findings ?? []).length > 0 ||
        set.immutability?.ok === false ||
        set.snapshots.some((snapshot) => snapshot.verdict !== 'clean'),
    ) || (report.datasets ?? []).some((dataset) => !dataset.ok);
  return findings ? EXIT.findings : EXIT.ok;
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description(
      'verify every snapshot of the given sets (default: all) against its baseline and record the results',
    )
    .argument('[sets...]', 'set names from the policy')
    .option(
      '--fresh',
      'start a new run instead of continuing one that was interrupted (Ctrl-C, a crash) in the last 24 hours',
    )
    .addHelpText(
      'after',
      '\nCtrl-C or SIGTERM stops the read in progress at once (nothing half-read is recorded) and exits 130;\nthe next scan continues from there: snapshots already read by the interrupted run are not read again.',
    )
    .action(async (sets: string[], flags: { fresh?: boolean }, command: Command) => {
      const options = globalOptions(command);
      const policy = await loadConfiguredPolicy(options);
      const controller = new AbortController();
      const release = takeOverInterrupts((signal) => controller.abort(new Error(`received ${signal}`)));
      try {
        const report = await runScan(policy, {
          stateDir: resolveStateDir(options, policy),
          sets,
          progress: terminalProgress(),
          signal: controller.signal,
          ...(flags.fresh ? { fresh: true } : {}),
        });
        if (options.json) printJson(report);
        else printLines(scanReportText(report));
        process.exitCode = scanExitCode(report);
      } finally {
        release();
      }
    });
}
