import { Writable } from 'node:stream';
import type { Policy } from '../../agent/config/resolve-policy.js';
import { createHttpApp } from '../../agent/daemon/http-app.js';
import { createJobRunner } from '../../agent/jobs/job-runner.js';
import { createLogger } from '../../agent/daemon/logger.js';
import { createScheduler } from '../../agent/jobs/scheduler.js';
import { loadEstateView } from '../../agent/estate/estate-view.js';
import { createMetricsRegistry } from '../../agent/metrics/metrics.js';

/**
 * The daemon's HTTP app in process, over `policy` and the state directory `state`, as `vouch serve`
 * builds it on loopback: a silent logger, one job slot, and scans and drills that do nothing (the
 * tests drive scans themselves). `token` turns on bearer-token access.
 */
export function createTestHttpApp(policy: Policy, state: string, token?: string) {
  const logger = createLogger({ destination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  const runner = createJobRunner(1, logger);
  const idle = () => async () => ({});
  const scheduler = createScheduler({ runner, logger, jitterMs: 0, work: { scan: idle, drill: idle } });
  const estate = () => loadEstateView(policy, state);
  return createHttpApp(
    {
      policy: () => policy,
      estate,
      stateDir: state,
      stateReadable: async () => ({ ok: true, detail: state }),
      registry: createMetricsRegistry({
        estate,
        scheduler: () => scheduler.stats(),
        daemon: () => ({ reloads: 0, reloadFailures: 0, lastReloadSuccess: 0 }),
      }),
      runner,
      scheduler,
      trigger: (task, set) => runner.submit(task, set, 'api', idle()),
      logger,
    },
    {
      ...(token ? { token } : {}),
      metricsAuth: false,
      bodyLimitBytes: 16 * 1024,
      requestTimeoutMs: 30_000,
      listen: { host: '127.0.0.1', port: 9740, loopback: true },
      allowedHosts: [],
    },
  );
}
