/**
 * `vouch drill SET [--snapshot ID|latest|last-clean|random]`: run a restore drill now; exit 3 when
 * it fails or misses the RTO. `--search`: drill clean snapshots newest first until one passes
 * (each drill recorded), at most `--max` drills (default 5); exit 0 when one passed within the
 * RTO, 3 when none did or the cap stopped the search (how many were left, and how to continue).
 */
import type { Command } from 'commander';
import { selectSets } from '../scan/scan-run.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadConfiguredPolicy, resolveStateDir } from './global-options.js';
import { takeOverInterrupts } from './interrupt.js';
import { drillReportText, drillSearchText } from './drill-report-text.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_SEARCH_MAX, parseSearchMax } from '../drills/search-cap.js';
import type { DrillSearch } from '../drills/drill-search.js';
import { printJson, printLines } from './output.js';
import { terminalProgress } from './progress-bar.js';

/** Exit code of a finished drill: 3 when it failed or took longer than the RTO, 130 when interrupted. */
export function drillExitCode(report: {
  outcome: 'passed' | 'failed' | 'aborted';
  withinRto: boolean | null;
}): number {
  if (report.outcome === 'aborted') return EXIT.interrupted;
  return report.outcome === 'passed' && report.withinRto !== false ? EXIT.ok : EXIT.findings;
}

/**
 * Exit code of a `--search`: 0 when its last drill passed within the RTO, 130 when interrupted,
 * 3 otherwise — no candidate passed, or the `--max` cap stopped it with candidates left.
 */
export function drillSearchExitCode(search: Pick<DrillSearch, 'drills' | 'found' | 'capped'>): number {
  const last = search.drills.at(-1);
  if (last?.outcome === 'aborted') return EXIT.interrupted;
  return search.found && !search.capped && last && drillExitCode(last) === EXIT.ok ? EXIT.ok : EXIT.findings;
}

/** Registers `drill`. */
export function registerDrill(program: Command): void {
  program
    .command('drill')
    .description(
      'restore a snapshot into a fresh sandbox, verify it (digests, structure, application checks), time each phase and record the result',
    )
    .argument('<set>', 'set name from the policy')
    .option(
      '--snapshot <id>',
      "snapshot id, or latest | last-clean | random (default: the policy's drill.pick); id:NAME for a snapshot named like a rule (id:latest); ID@VERSION drills that stored version of the snapshot's archive (S3 VersionId, e.g. the original a snapshot-replaced finding names), verified against the baseline taken from it",
    )
    .option(
      '--search',
      `drill clean snapshots newest first (skipping those whose latest drill failed) until one passes, at most --max drills; every drill is recorded. Exit 0 when one passed within the RTO, 3 when none did or the cap stopped the search (it prints how many were left and the command that continues)`,
    )
    .option('--max <n>', `with --search: most drills to run (default ${DEFAULT_SEARCH_MAX})`)
    .action(
      async (
        name: string,
        flags: { snapshot?: string; search?: boolean; max?: string },
        command: Command,
      ) => {
        const options = globalOptions(command);
        const policy = await loadConfiguredPolicy(options);
        const [set] = selectSets(policy, [name]);
        const controller = new AbortController();
        const release = takeOverInterrupts((signal) => controller.abort(new Error(`received ${signal}`)));
        try {
          if (flags.search) {
            if (flags.snapshot)
              throw new ConfigError(
                '--search picks the snapshots itself: give --snapshot or --search, not both',
              );
            const max = flags.max === undefined ? DEFAULT_SEARCH_MAX : parseSearchMax(flags.max);
            const { runDrillSearch } = await import('../drills/drill-search.js');
            const search = await runDrillSearch(set!, {
              stateDir: resolveStateDir(options, policy),
              ...(policy.evidence?.anchor ? { anchor: policy.evidence.anchor } : {}),
              signal: controller.signal,
              newProgress: terminalProgress,
              max,
            });
            if (options.json) printJson(search);
            else printLines(drillSearchText(search));
            process.exitCode = drillSearchExitCode(search);
            return;
          }
          if (flags.max !== undefined) throw new ConfigError('--max caps a --search: give it with --search');
          const { runDrillReport } = await import('../drills/run-drill.js');
          const report = await runDrillReport(set!, {
            stateDir: resolveStateDir(options, policy),
            ...(flags.snapshot ? { snapshot: flags.snapshot } : {}),
            ...(policy.evidence?.anchor ? { anchor: policy.evidence.anchor } : {}),
            signal: controller.signal,
            progress: terminalProgress(),
          });
          if (options.json) printJson(report);
          else printLines(drillReportText(report));
          process.exitCode = drillExitCode(report);
        } finally {
          release();
        }
      },
    );
}
