/** `vouch demo [--serve]`: build the demo estate on an embedded S3 server, run the loop, print the outcome; `--serve` keeps the daemon up. */
import type { Command } from 'commander';
import { DEFAULT_LISTEN, parseListen, requireTokenFor } from '../daemon/listen-address.js';
import type { DrillReport } from '../model/drill.js';
import { rtoText } from './drill-report-text.js';
import { EXIT } from './exit-codes.js';
import { lastCleanForSet, lastCleanText } from './last-clean.js';
import { globalOptions } from './global-options.js';
import { printJson, printLines } from './output.js';
import { terminalProgress } from './progress-bar.js';
import { scanReportText } from './scan-report-text.js';
import {
  parseAllowedHosts,
  serveOptions,
  trapSignals,
  type ServeDependencies,
  type ServeFlags,
} from './serve.js';

/** What the demo's restore drill showed, in a few lines. */
function drillLines(drill: DrillReport | null, stateDir: string): string[] {
  if (!drill) return [];
  const head = `Restore drill of ${drill.snapshot ?? 'orders'}: ${drill.outcome.toUpperCase()}`;
  if (drill.outcome !== 'passed') {
    const first = drill.failures[0];
    return [`${head} — ${first ? `${first.verifier}: ${first.detail}` : 'see vouch drill orders'}`];
  }
  const { fetch, extract, verify, app } = drill.phases;
  const checks = drill.verifiers
    .filter((outcome) => outcome.status === 'passed')
    .map((outcome) => outcome.verifier)
    .join(', ');
  return [
    `${head} — ${rtoText(drill)} (fetch ${fetch.toFixed(1)}s, extract ${extract.toFixed(1)}s, verify ${verify.toFixed(1)}s, app checks ${app.toFixed(1)}s); passed: ${checks}`,
    `Signed evidence of all this: vouch --state ${stateDir} evidence verify; auditor report: vouch --state ${stateDir} evidence report --out report.html`,
  ];
}

export function registerDemo(program: Command, dependencies: ServeDependencies): void {
  serveOptions(program.command('demo'))
    .description(
      'run the whole loop on a demo estate (embedded S3 server, restic repository, offline volume, a tampered snapshot and ransomware-hit ones); needs no configuration',
    )
    .option(
      '--serve',
      'then keep the embedded store and `vouch serve` running on the demo (metrics, API) until stopped',
      false,
    )
    .action(async (flags: ServeFlags & { serve: boolean }, command: Command) => {
      const options = globalOptions(command);
      const listen = parseListen(flags.serve ? flags.listen : DEFAULT_LISTEN);
      const token = flags.serve ? requireTokenFor(listen, process.env.VOUCH_API_TOKEN) : undefined;
      // Loaded on demand: the embedded S3 server and estate generator are only for the demo.
      const { runDemo } = await import('../demo/run-demo.js');
      const result = await runDemo({
        ...(options.state ? { stateDir: options.state } : {}),
        progress: terminalProgress(),
        keepStore: flags.serve,
      });
      const lastClean = await lastCleanForSet(result.stateDir, 'orders');
      if (options.json) {
        printJson({
          stateDir: result.stateDir,
          policy: result.policyFile,
          tampered: result.tampered,
          ransomware: result.ransomware,
          caught: result.caught,
          restic: result.restic,
          lastCleanReport: lastClean,
          ...result.afterTamper,
          drill: result.drill,
        });
      } else {
        printLines(scanReportText(result.afterTamper));
        printLines([
          '',
          'Which snapshot do we restore?  (vouch last-clean orders)',
          ...lastCleanText(lastClean),
        ]);
        printLines([
          '',
          result.caught
            ? `Result: ${result.tampered} was rewritten after its baseline and ${result.ransomware} holds the ransomware's work; restore from ${lastClean.lastClean?.id ?? 'none'}, the last clean snapshot.`
            : 'Result: the demo did not come out as expected — see the report above.',
          ...(result.caught && result.restic
            ? [
                `In the restic repository, snapshot ${result.restic.ransomware} holds the same damage; the last clean restic snapshot is ${result.restic.expectedLastClean} (vouch last-clean ${result.restic.set}).`,
              ]
            : []),
          ...drillLines(result.drill, result.stateDir),
          `State (ledger, manifests, per-set index) kept in ${result.stateDir}`,
          `Try: vouch --config ${result.policyFile} last-clean orders · vouch inspect <file> · vouch policy check ${result.policyFile}`,
        ]);
      }
      if (!flags.serve) {
        process.exitCode = result.caught ? EXIT.ok : EXIT.runtime;
        return;
      }
      const [{ startDaemon }, { createLogger }] = await Promise.all([
        import('../daemon/daemon.js'),
        import('../daemon/logger.js'),
      ]);
      const logger = createLogger({ level: process.env.VOUCH_LOG_LEVEL ?? 'warn' });
      const signals = trapSignals(logger);
      try {
        const daemon = await startDaemon({
          configFile: result.policyFile,
          stateOverride: result.stateDir,
          listen,
          ...(token ? { token } : {}),
          metricsAuth: flags.metricsAuth,
          concurrency: 2,
          jitterMs: 0,
          shutdownTimeoutMs: 30_000,
          logger,
          runDrill: dependencies.runDrill,
          allowedHosts: parseAllowedHosts(flags.allowedHost),
        });
        const banner = [
          '',
          `vouch serve is running on the demo estate: ${daemon.url}/metrics, ${daemon.url}/api/sets, ${daemon.url}/api/sets/orders/last-clean`,
          `Web console: ${daemon.url}/  (the ransomware-hit set: ${daemon.url}/sets/orders)`,
          `Trigger a scan: curl -X POST -H 'Content-Type: application/json' ${daemon.url}/api/sets/orders/scan   ·   Stop with Ctrl-C.`,
        ];
        // With --json, stdout holds only the JSON document.
        if (options.json) process.stderr.write(`${banner.join('\n')}\n`);
        else printLines(banner);
        process.exitCode = await signals.attach(daemon);
      } catch (error) {
        signals.release();
        throw error;
      } finally {
        await result.stopStore();
      }
    });
}
