/** `vouch demo`: build the demo estate on an embedded S3 server, run the loop, print the outcome. */
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';
import { lastCleanForSet, lastCleanText } from './last-clean.js';
import { globalOptions } from './global-options.js';
import { printJson, printLines } from './output.js';
import { terminalProgress } from './progress-bar.js';
import { scanReportText } from './scan-report-text.js';

/** Registers `demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole loop on a demo estate (embedded S3 server, offline volume, a tampered snapshot and a ransomware-hit one); needs no configuration')
    .action(async (_options, command: Command) => {
      const options = globalOptions(command);
      // Loaded on demand: the embedded S3 server and estate generator are only for the demo.
      const { runDemo } = await import('../demo/run-demo.js');
      const result = await runDemo({ ...(options.state ? { stateDir: options.state } : {}), progress: terminalProgress() });
      const lastClean = await lastCleanForSet(result.stateDir, 'orders');
      if (options.json) {
        printJson({
          stateDir: result.stateDir,
          policy: result.policyFile,
          tampered: result.tampered,
          ransomware: result.ransomware,
          caught: result.caught,
          lastCleanReport: lastClean,
          ...result.afterTamper,
        });
      } else {
        printLines(scanReportText(result.afterTamper));
        printLines(['', 'Which snapshot do we restore?  (vouch last-clean orders)', ...lastCleanText(lastClean)]);
        printLines([
          '',
          result.caught
            ? `Result: ${result.tampered} was rewritten after its baseline and ${result.ransomware} holds the ransomware's work; restore from ${lastClean.lastClean?.id ?? 'none'}, the last clean snapshot.`
            : 'Result: the demo did not come out as expected — see the report above.',
          `State (ledger, manifests, per-set index) kept in ${result.stateDir}`,
          `Try: vouch --config ${result.policyFile} last-clean orders · vouch inspect <file> · vouch policy check ${result.policyFile}`,
        ]);
      }
      process.exitCode = result.caught ? EXIT.ok : EXIT.runtime;
    });
}
