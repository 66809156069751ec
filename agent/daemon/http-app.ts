/**
 * The daemon's HTTP surface (hono): `/healthz`, `/readyz`, `/metrics`, the JSON API and the web
 * console. Every request is logged (method, path, status, duration, caller) and first passes the
 * request guard (Host allow-list, state changes only as JSON from this origin or with the token,
 * nosniff; request-guard.ts); bodies are capped, every request has a deadline, and a configured
 * bearer token guards everything but `/healthz` (and `/metrics` unless asked to); see
 * access-control.ts.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { timeout } from 'hono/timeout';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Policy } from '../config/resolve-policy.js';
import { describeError } from '../errors.js';
import type { EstateView } from '../estate/estate-view.js';
import type { TaskKind } from '../model/tasks.js';
import { registerConsole, REPORT_PATH, wantsHtml } from '../web/console-routes.js';
import { createLoginThrottle } from '../web/login-throttle.js';
import { createSessionStore, type SessionStore } from '../web/sessions.js';
import { accessControl, identifyCaller } from './access-control.js';
import { remoteAddress } from '../web/remote-address.js';
import { acceptanceList, lastCleanReport, setSummary, snapshotList } from './api-views.js';
import { RunnerClosedError, type JobHandle, type JobRunner } from '../jobs/job-runner.js';
import type { ListenAddress } from './listen-address.js';
import { requestGuard } from './request-guard.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { RequestedBy } from '../model/requested-by.js';

/** What the HTTP layer needs from the daemon. */
export interface HttpContext {
  policy(): Policy;
  estate(): Promise<EstateView>;
  /** The state directory (the console reads the ledger and manifests from it). */
  stateDir: string;
  /** Whether the state directory can be read now. */
  stateReadable(): Promise<{ ok: boolean; detail: string }>;
  registry: Registry;
  runner: JobRunner;
  scheduler: Scheduler;
  /** Starts a job for a set now (API trigger), on behalf of `requestedBy`. */
  trigger(task: TaskKind, set: string, options: { snapshot?: string; requestedBy: RequestedBy }): JobHandle;
  logger: Logger;
}

export interface HttpOptions {
  token?: string;
  /** Also require the token on /metrics. */
  metricsAuth: boolean;
  /** Largest accepted request body. */
  bodyLimitBytes: number;
  /** Deadline per request. */
  requestTimeoutMs: number;
  /** Where the daemon listens (the Host allow-list starts from it). */
  listen: ListenAddress;
  /** Extra host names requests may address the daemon by (`--allowed-host`). */
  allowedHosts: readonly string[];
}

const notFound = (c: Context, what: string) => c.json({ error: what }, 404);

/** How long generating the auditor report may take. */
const REPORT_TIMEOUT_MS = 5 * 60_000;

/** How long a console session lasts after signing in. */
const SESSION_TTL_MS = 12 * 3_600_000;

/** Sessions and the caller's identity, shared by the access layers, the job triggers and the console. */
interface Callers {
  sessions: SessionStore;
  callerOf: (c: Context) => ReturnType<typeof identifyCaller>;
}

/**
 * The layers every request passes, in order: the access log (one line per request, refused ones
 * included), the request guard, access control (token or session), the deadline (longer for the
 * auditor report) and the body cap.
 */
function useRequestLayers(
  app: Hono,
  ctx: HttpContext,
  options: HttpOptions,
  { sessions, callerOf }: Callers,
): void {
  app.use('*', async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      ctx.logger.info(
        {
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          caller: callerOf(c),
          remote: remoteAddress(c),
        },
        'request',
      );
    }
  });
  app.use('*', requestGuard({ listen: options.listen, allowedHosts: options.allowedHosts }));
  app.use(
    '*',
    accessControl({
      ...(options.token ? { token: options.token } : {}),
      metricsAuth: options.metricsAuth,
      sessions,
    }),
  );
  const tooLong = () => new HTTPException(503, { message: 'request took too long' });
  const deadline = timeout(options.requestTimeoutMs, tooLong);
  // The auditor report verifies and reads the whole ledger: on a large one that takes a while.
  const reportDeadline = timeout(Math.max(options.requestTimeoutMs, REPORT_TIMEOUT_MS), tooLong);
  app.use('*', (c, next) => (c.req.path === REPORT_PATH ? reportDeadline : deadline)(c, next));
  app.use(
    '*',
    bodyLimit({
      maxSize: options.bodyLimitBytes,
      onError: (c) => c.json({ error: `request body over ${options.bodyLimitBytes} bytes` }, 413),
    }),
  );
}

/** `/healthz` (the process answers), `/readyz` (policy, state and evidence readable; 503 otherwise, with each set's failing checks as detail) and `/metrics`. */
function registerHealthRoutes(app: Hono, ctx: HttpContext): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const state = await ctx.stateReadable();
    const view = state.ok ? await ctx.estate() : null;
    const checks = [
      { check: 'policy', ok: true, detail: `${ctx.policy().file}: ${ctx.policy().sets.length} set(s)` },
      { check: 'state', ok: state.ok, detail: state.detail },
      {
        check: 'evidence',
        ok: view?.evidence.ok ?? false,
        detail: view
          ? view.evidence.ok
            ? `${view.evidence.records} records, chain intact`
            : `chain broken at seq ${view.evidence.firstBad?.seq}: ${view.evidence.firstBad?.problem}`
          : 'state not readable',
      },
    ];
    const ready = checks.every((check) => check.ok);
    // Detail only: the daemon is ready to serve whatever its sets' readiness (vouch_set_ready says that).
    const sets = (view?.sets ?? []).map((set) => ({
      set: set.policy.name,
      ready: set.readiness.ready,
      failing: set.readiness.checks
        .filter((check) => check.status === 'fail')
        .map(({ check, detail }) => ({ check, detail })),
    }));
    return c.json({ ready, checks, sets }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) =>
    c.body(await ctx.registry.metrics(), 200, { 'Content-Type': ctx.registry.contentType }),
  );
}

/** The read-only JSON API over the estate: sets, their snapshots, last clean, acceptances, drills, audits; data sets; evidence. 404 for a set the policy does not name. */
function registerEstateApi(app: Hono, ctx: HttpContext): void {
  const setOf = async (name: string) => (await ctx.estate()).sets.find((set) => set.policy.name === name);

  app.get('/api/sets', async (c) => {
    const view = await ctx.estate();
    return c.json({
      sets: view.sets.map((set) => setSummary(set, ctx.scheduler.nextRuns(set.policy.name))),
      datasets: view.datasets,
    });
  });
  app.get('/api/sets/:set', async (c) => {
    const set = await setOf(c.req.param('set'));
    if (!set) return notFound(c, `no set named ${c.req.param('set')}`);
    const view = await ctx.estate();
    return c.json({
      ...setSummary(set, ctx.scheduler.nextRuns(set.policy.name)),
      datasets: view.datasets.filter((d) => d.copies.includes(set.policy.name)),
    });
  });
  app.get('/api/sets/:set/snapshots', async (c) => {
    const set = await setOf(c.req.param('set'));
    if (!set) return notFound(c, `no set named ${c.req.param('set')}`);
    const limit = Math.min(1000, Math.max(1, Number(c.req.query('findings') ?? 100) || 100));
    return c.json({
      set: set.policy.name,
      snapshots: snapshotList(set, { verdict: c.req.query('verdict'), findingsPerSnapshot: limit }),
    });
  });
  app.get('/api/sets/:set/last-clean', async (c) => {
    const set = await setOf(c.req.param('set'));
    if (!set) return notFound(c, `no set named ${c.req.param('set')}`);
    return c.json(lastCleanReport(set));
  });
  app.get('/api/sets/:set/acceptances', async (c) => {
    const set = await setOf(c.req.param('set'));
    if (!set) return notFound(c, `no set named ${c.req.param('set')}`);
    return c.json(acceptanceList(set));
  });
  app.get('/api/sets/:set/drills', async (c) => {
    const set = await setOf(c.req.param('set'));
    if (!set) return notFound(c, `no set named ${c.req.param('set')}`);
    return c.json({ set: set.policy.name, drills: [...(set.state?.drills.drills ?? [])].reverse() });
  });
  app.get('/api/sets/:set/immutability', async (c) => {
    const set = await setOf(c.req.param('set'));
    if (!set) return notFound(c, `no set named ${c.req.param('set')}`);
    return c.json({ set: set.policy.name, audit: set.state?.audit ?? null });
  });
  app.get('/api/datasets', async (c) => c.json({ datasets: (await ctx.estate()).datasets }));
  app.get('/api/evidence', async (c) => c.json((await ctx.estate()).evidence));
}

/**
 * `POST /api/sets/:set/scan|drill` (202 with the job, or the one already running; 503 while
 * shutting down; a drill may name `{"snapshot": …}`) and `/api/jobs[/:id]`. The job records who
 * asked (caller and address).
 */
function registerJobApi(app: Hono, ctx: HttpContext, callerOf: Callers['callerOf']): void {
  for (const task of ['scan', 'drill'] as const) {
    app.post(`/api/sets/:set/${task}`, async (c) => {
      const name = c.req.param('set');
      if (!ctx.policy().sets.some((set) => set.name === name)) return notFound(c, `no set named ${name}`);
      let snapshot: string | undefined;
      if (task === 'drill' && (c.req.header('content-length') ?? '0') !== '0') {
        const body = (await c.req.json().catch(() => null)) as { snapshot?: unknown } | null;
        if (!body || (body.snapshot !== undefined && typeof body.snapshot !== 'string'))
          return c.json({ error: 'expected a JSON body like {"snapshot": "last-clean"}' }, 400);
        snapshot = body.snapshot;
      }
      const caller = callerOf(c);
      const requestedBy: RequestedBy = {
        trigger: 'api',
        ...(caller === 'none' ? {} : { caller }),
        address: remoteAddress(c),
      };
      try {
        const handle = ctx.trigger(task, name, { ...(snapshot ? { snapshot } : {}), requestedBy });
        return c.json({ job: handle.record, alreadyRunning: handle.reused }, 202);
      } catch (error) {
        if (error instanceof RunnerClosedError) return c.json({ error: error.message }, 503);
        throw error;
      }
    });
  }
  app.get('/api/jobs', (c) =>
    c.json({ running: ctx.runner.running(), queued: ctx.runner.queued(), jobs: ctx.runner.jobs() }),
  );
  app.get('/api/jobs/:id', (c) => {
    const job = ctx.runner.job(c.req.param('id'));
    return job ? c.json(job) : notFound(c, `no job ${c.req.param('id')}`);
  });
}

/** Builds the app: the request layers, health and metrics, the JSON API, the console, then the 404 and error answers. */
export function createHttpApp(ctx: HttpContext, options: HttpOptions): Hono {
  const app = new Hono();
  const sessions = createSessionStore({ ttlMs: SESSION_TTL_MS, max: 1000 });
  const callerOf = (c: Context) =>
    identifyCaller(c, { ...(options.token ? { token: options.token } : {}), sessions });
  useRequestLayers(app, ctx, options, { sessions, callerOf });
  registerHealthRoutes(app, ctx);
  registerEstateApi(app, ctx);
  registerJobApi(app, ctx, callerOf);
  const web = registerConsole(app, ctx, {
    ...(options.token ? { token: options.token } : {}),
    sessions,
    sessionTtlMs: SESSION_TTL_MS,
    throttle: createLoginThrottle({ maxFailures: 10, windowMs: 5 * 60_000, maxAddresses: 10_000 }),
  });

  app.notFound((c) =>
    c.req.method === 'GET' && wantsHtml(c) && !c.req.path.startsWith('/api/')
      ? web.notFound(c)
      : c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    ctx.logger.error({ err: error, path: c.req.path }, 'request failed');
    return c.json({ error: describeError(error) }, 500);
  });
  return app;
}
