/**
 * `vouch serve`: run as a daemon (schedules, metrics, API). SIGTERM/SIGINT stop it gracefully
 * within --shutdown-timeout (a second signal exits at once); SIGHUP reloads the policy.
 */
import { Option, type Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import { startDaemon, type Daemon } from '../daemon/daemon.js';
import { drillsUnavailable, type RunDrill } from '../daemon/drill-contract.js';
import { DEFAULT_LISTEN, parseListen, requireTokenFor } from '../daemon/listen-address.js';
import { createLogger } from '../daemon/logger.js';
import { ConfigError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, type GlobalOptions } from './global-options.js';

/** `serve` flags. */
export interface ServeFlags {
  listen: string;
  metricsAuth: boolean;
  concurrency: string;
  jitter: string;
  shutdownTimeout: string;
}

/** What `serve` is wired to (tests and the integrator inject the drill runner here). */
export interface ServeDependencies {
  runDrill: RunDrill;
}

function seconds(flag: string, value: string): number {
  const parsed = /^\d+$/.test(value) ? Number(value) : parseDuration(value);
  if (parsed === null) throw new ConfigError(`--${flag} ${value}: expected a duration such as 30s or 2m`);
  return parsed;
}

/** Starts the daemon from parsed flags and keeps it running until a stop signal; resolves with the exit code. */
export async function runServe(global: GlobalOptions, flags: ServeFlags, dependencies: ServeDependencies): Promise<number> {
  const listen = parseListen(flags.listen);
  const token = requireTokenFor(listen, process.env.VOUCH_API_TOKEN);
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new ConfigError(`--concurrency ${flags.concurrency}: expected 1 to 64`);
  const logger = createLogger();
  const daemon: Daemon = await startDaemon({
    configFile: global.config,
    ...(global.state ? { stateOverride: global.state } : {}),
    listen,
    ...(token ? { token } : {}),
    metricsAuth: flags.metricsAuth,
    concurrency,
    jitterMs: seconds('jitter', flags.jitter) * 1000,
    shutdownTimeoutMs: seconds('shutdown-timeout', flags.shutdownTimeout) * 1000,
    logger,
    runDrill: dependencies.runDrill,
  });
  return waitForStop(daemon, logger);
}

/** Handles SIGHUP (reload) and SIGTERM/SIGINT (graceful stop; a second one exits at once) until the daemon stops. */
export function waitForStop(daemon: Daemon, logger: { warn(obj: object, msg: string): void }): Promise<number> {
  // main.ts exits on the first SIGINT; a daemon must stop gracefully instead.
  process.removeAllListeners('SIGINT');
  process.on('SIGHUP', () => void daemon.reload());
  return new Promise((resolve) => {
    let signals = 0;
    const stop = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second stop signal: exiting now');
        process.exit(EXIT.runtime);
      }
      void daemon.stop().then((graceful) => resolve(graceful ? EXIT.ok : EXIT.runtime));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** `serve` flags as commander options (shared with `demo --serve`). */
export function serveOptions(command: Command): Command {
  return command
    .addOption(new Option('--listen <host:port>', 'address for metrics, health and the API (off loopback needs VOUCH_API_TOKEN)').env('VOUCH_LISTEN').default(DEFAULT_LISTEN))
    .addOption(new Option('--metrics-auth', 'require the bearer token on /metrics too').env('VOUCH_METRICS_AUTH').default(false))
    .addOption(new Option('--concurrency <n>', 'jobs (scans, drills) run at once').default('2'))
    .addOption(new Option('--jitter <duration>', 'random delay of up to this before each scheduled run').default('30s'))
    .addOption(new Option('--shutdown-timeout <duration>', 'how long a stop waits for running jobs to reach a safe point').default('30s'));
}

/** Registers `serve`. */
export function registerServe(program: Command, dependencies: ServeDependencies = { runDrill: drillsUnavailable }): void {
  serveOptions(program.command('serve'))
    .description('run as a daemon: scheduled scans and drills, Prometheus /metrics, /healthz, /readyz and a JSON API')
    .addHelpText(
      'after',
      '\nSignals: SIGHUP reloads the policy (an invalid one is rejected and the old one kept); SIGTERM/SIGINT stop gracefully.\nEnvironment: VOUCH_API_TOKEN (bearer token; required off loopback), VOUCH_LOG_LEVEL (info).',
    )
    .action(async (flags: ServeFlags, command: Command) => {
      process.exitCode = await runServe(globalOptions(command), flags, dependencies);
    });
}
