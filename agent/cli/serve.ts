/**
 * `vouch serve`: run as a daemon (schedules, metrics, API). SIGTERM/SIGINT stop it gracefully
 * within --shutdown-timeout (a second signal exits at once); SIGHUP reloads the policy.
 */
import { Option, type Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import type { Daemon } from '../daemon/daemon.js';
import type { RunDrill } from '../daemon/drill-contract.js';
import { DEFAULT_LISTEN, parseListen, requireTokenFor } from '../daemon/listen-address.js';
import { parseShard, parseTasks } from '../daemon/shard.js';
import { ConfigError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, type GlobalOptions } from './global-options.js';

export interface ServeFlags {
  listen: string;
  metricsAuth: boolean;
  concurrency: string;
  jitter: string;
  shutdownTimeout: string;
  shard?: string;
  tasks: string;
  allowedHost?: string[];
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
export async function runServe(
  global: GlobalOptions,
  flags: ServeFlags,
  dependencies: ServeDependencies,
): Promise<number> {
  const listen = parseListen(flags.listen);
  const token = requireTokenFor(listen, process.env.VOUCH_API_TOKEN);
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new ConfigError(`--concurrency ${flags.concurrency}: expected 1 to 64`);
  const shard = flags.shard ? parseShard(flags.shard) : undefined;
  const tasks = parseTasks(flags.tasks);
  // The daemon (HTTP, metrics, scheduler, web console) loads only when it runs: every other
  // command starts faster without it.
  const [{ startDaemon }, { createLogger }] = await Promise.all([
    import('../daemon/daemon.js'),
    import('../daemon/logger.js'),
  ]);
  const logger = createLogger();
  const signals = trapSignals(logger);
  try {
    const daemon = await startDaemon({
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
      ...(shard ? { shard } : {}),
      tasks,
      allowedHosts: parseAllowedHosts(flags.allowedHost),
    });
    return await signals.attach(daemon);
  } catch (error) {
    signals.release();
    throw error;
  }
}

/** `--allowed-host` values (repeatable; env VOUCH_ALLOWED_HOSTS, comma-separated): bare host names, lower-cased. */
export function parseAllowedHosts(values: readonly string[] | undefined): string[] {
  const names = (values ?? [])
    .flatMap((value) => value.split(','))
    .map((value) => value.trim().toLowerCase())
    .filter(Boolean);
  for (const name of names) {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name))
      throw new ConfigError(
        `--allowed-host ${name}: expected a host name such as vouch.example.com (no port, no scheme)`,
      );
  }
  return names;
}

/** Signal handling that is in place before the daemon starts, so no signal meets the default action (which kills). */
export function trapSignals(logger: { warn(obj: object, msg: string): void }): {
  attach(daemon: Daemon): Promise<number>;
  release(): void;
} {
  // main's SIGINT handler exits at once; a daemon must stop gracefully instead.
  process.removeAllListeners('SIGINT');
  let daemon: Daemon | null = null;
  let stopRequested = false;
  let settle: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (settle = resolve));
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      logger.warn({ signal }, 'second stop signal: exiting now');
      process.exit(EXIT.runtime);
    }
    stopRequested = true;
    if (daemon) void daemon.stop().then((graceful) => settle(graceful ? EXIT.ok : EXIT.runtime));
  };
  const reload = () => void daemon?.reload();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', reload);
  return {
    attach(started) {
      daemon = started;
      if (stopRequested) void started.stop().then((graceful) => settle(graceful ? EXIT.ok : EXIT.runtime));
      return stopped;
    },
    release() {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', reload);
    },
  };
}

/** `serve` flags as commander options (shared with `demo --serve`). */
export function serveOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--listen <host:port>',
        'address for metrics, health and the API (off loopback needs VOUCH_API_TOKEN)',
      )
        .env('VOUCH_LISTEN')
        .default(DEFAULT_LISTEN),
    )
    .addOption(
      new Option('--metrics-auth', 'require the bearer token on /metrics too')
        .env('VOUCH_METRICS_AUTH')
        .default(false),
    )
    .addOption(new Option('--concurrency <n>', 'jobs (scans, drills) run at once').default('2'))
    .addOption(
      new Option('--jitter <duration>', 'random delay of up to this before each scheduled run').default(
        '30s',
      ),
    )
    .addOption(
      new Option(
        '--shutdown-timeout <duration>',
        'how long a stop waits for running jobs to reach a safe point',
      ).default('30s'),
    )
    .addOption(
      new Option(
        '--shard <index/count>',
        'run only the sets this replica owns among COUNT (INDEX, or "ordinal" for a StatefulSet pod\'s)',
      ).env('VOUCH_SHARD'),
    )
    .addOption(
      new Option(
        '--allowed-host <name...>',
        'host names browsers and clients may address this daemon by, besides its address and localhost (DNS-rebinding defence)',
      ).env('VOUCH_ALLOWED_HOSTS'),
    )
    .addOption(
      new Option(
        '--tasks <list>',
        'scheduled tasks this agent runs: scan, drill or both (drills can run as Kubernetes Jobs)',
      )
        .env('VOUCH_TASKS')
        .default('scan,drill'),
    );
}

export function registerServe(program: Command, dependencies: ServeDependencies): void {
  serveOptions(program.command('serve'))
    .description(
      'run as a daemon: scheduled scans and drills, Prometheus /metrics, /healthz, /readyz, a JSON API and the web console (/)',
    )
    .addHelpText(
      'after',
      '\nSignals: SIGHUP reloads the policy (an invalid one is rejected and the old one kept); SIGTERM/SIGINT stop gracefully.\nEnvironment: VOUCH_API_TOKEN (bearer token; required off loopback; browsers sign in to the console with it), VOUCH_LOG_LEVEL (info).',
    )
    .action(async (flags: ServeFlags, command: Command) => {
      process.exitCode = await runServe(globalOptions(command), flags, dependencies);
    });
}
