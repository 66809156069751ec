/** `vouch demo`: build the demo estate on an embedded S3 server, run the loop, print the outcome. */
import type { Command } from 'commander';
import type { DrillReport } from '../drills/drill-report.js';
import { rtoText } from './drill-report-text.js';
import { EXIT } from './exit-codes.js';
import { globalOptions } from './global-options.js';
import { printJson, printLines } from './output.js';
import { terminalProgress } from './progress-bar.js';
import { scanReportText } from './scan-report-text.js';

/** What the demo's restore drill showed, in a few lines. */
function drillLines(drill: DrillReport | null, stateDir: string): string[] {
  if (!drill) return [];
  const head = `Restore drill of ${drill.snapshot ?? 'orders'}: ${drill.outcome.toUpperCase()}`;
  if (drill.outcome !== 'passed') {
    const first = drill.failures[0];
    return [`${head} — ${first ? `${first.verifier}: ${first.detail}` : 'see vouch drill orders'}`];
  }
  const { fetch, extract, verify, app } = drill.phases;
  const checks = drill.verifiers.filter((outcome) => outcome.status === 'passed').map((outcome) => outcome.verifier).join(', ');
  return [
    `${head} — ${rtoText(drill)} (fetch ${fetch.toFixed(1)}s, extract ${extract.toFixed(1)}s, verify ${verify.toFixed(1)}s, app checks ${app.toFixed(1)}s); passed: ${checks}`,
    `Signed evidence of all this: vouch --state ${stateDir} evidence verify; auditor report: vouch --state ${stateDir} evidence report --out report.html`,
  ];
}

/** Registers `demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole loop on a demo estate (embedded S3 server, offline volume, one tampered snapshot); needs no configuration')
    .action(async (_options, command: Command) => {
      const options = globalOptions(command);
      // Loaded on demand: the embedded S3 server and estate generator are only for the demo.
      const { runDemo } = await import('../demo/run-demo.js');
      const result = await runDemo({ ...(options.state ? { stateDir: options.state } : {}), progress: terminalProgress() });
      if (options.json) {
        printJson({ stateDir: result.stateDir, policy: result.policyFile, tampered: result.tampered, caught: result.caught, ...result.afterTamper, drill: result.drill });
      } else {
        printLines(scanReportText(result.afterTamper));
        const orders = result.afterTamper.sets.find((set) => set.name === 'orders');
        printLines([
          '',
          result.caught
            ? `Result: ${result.tampered} was rewritten after its baseline (compromised); restore from ${orders?.lastClean ?? 'none'}, the last clean snapshot.`
            : 'Result: the demo did not come out as expected — see the report above.',
          ...drillLines(result.drill, result.stateDir),
          `State (ledger, manifests, per-set index) kept in ${result.stateDir}`,
          `Look at an archive yourself: vouch inspect <file.tar.gz>; validate the demo policy: vouch policy check ${result.policyFile}`,
        ]);
      }
      process.exitCode = result.caught ? EXIT.ok : EXIT.runtime;
    });
}
