/** `vouch demo [--serve]`: build the demo estate on an embedded S3 server, run the loop, print the outcome; `--serve` keeps the daemon up. */
import type { Command } from 'commander';
import { startDaemon } from '../daemon/daemon.js';
import { DEFAULT_LISTEN, parseListen, requireTokenFor } from '../daemon/listen-address.js';
import { createLogger } from '../daemon/logger.js';
import { EXIT } from './exit-codes.js';
import { lastCleanForSet, lastCleanText } from './last-clean.js';
import { globalOptions } from './global-options.js';
import { printJson, printLines } from './output.js';
import { terminalProgress } from './progress-bar.js';
import { scanReportText } from './scan-report-text.js';
import { serveOptions, trapSignals, type ServeDependencies, type ServeFlags } from './serve.js';

/** Registers `demo`. */
export function registerDemo(program: Command, dependencies: ServeDependencies): void {
  serveOptions(program.command('demo'))
    .description('run the whole loop on a demo estate (embedded S3 server, offline volume, a tampered snapshot and a ransomware-hit one); needs no configuration')
    .option('--serve', 'then keep the embedded store and `vouch serve` running on the demo (metrics, API) until stopped', false)
    .action(async (flags: ServeFlags & { serve: boolean }, command: Command) => {
      const options = globalOptions(command);
      const listen = parseListen(flags.serve ? flags.listen : DEFAULT_LISTEN);
      const token = flags.serve ? requireTokenFor(listen, process.env.VOUCH_API_TOKEN) : undefined;
      // Loaded on demand: the embedded S3 server and estate generator are only for the demo.
      const { runDemo } = await import('../demo/run-demo.js');
      const result = await runDemo({ ...(options.state ? { stateDir: options.state } : {}), progress: terminalProgress(), keepStore: flags.serve });
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
      if (!flags.serve) {
        process.exitCode = result.caught ? EXIT.ok : EXIT.runtime;
        return;
      }
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
        });
        const banner = [
          '',
          `vouch serve is running on the demo estate: ${daemon.url}/metrics, ${daemon.url}/api/sets, ${daemon.url}/api/sets/orders/last-clean`,
          `Trigger a scan: curl -X POST ${daemon.url}/api/sets/orders/scan   ·   Stop with Ctrl-C.`,
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
