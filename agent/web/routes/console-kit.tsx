/**
 * What every console route shares: the daemon's context and the console's options, and the kit
 * built once from them — the page frame (assets, clock, sign-in state, jobs), the HTML answer,
 * the HTML not-found page and the set lookup.
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Child } from 'hono/jsx';
import type { Policy } from '../../config/resolve-policy.js';
import type { EstateView, SetView } from '../../estate/estate-view.js';
import type { JobRunner } from '../../jobs/job-runner.js';
import type { Scheduler } from '../../jobs/scheduler.js';
import { now } from '../../clock.js';
import { loadAssets, type Assets } from '../assets.js';
import { htmlDocument, type PageFrame } from '../components/layout.js';
import type { LoginThrottle } from '../login-throttle.js';
import { NotFoundPage } from '../pages/message-pages.js';
import { SESSION_COOKIE, type SessionStore } from '../sessions.js';

/** What the console reads from the daemon. */
export interface ConsoleContext {
  policy(): Policy;
  estate(): Promise<EstateView>;
  stateDir: string;
  runner: Pick<JobRunner, 'jobs'>;
  scheduler: Pick<Scheduler, 'nextRuns'>;
}

/** How the console signs people in and how long the evidence page waits for a re-verification. */
export interface ConsoleOptions {
  /** The API token; without one (loopback) there is no sign-in. */
  token?: string;
  sessions: SessionStore;
  sessionTtlMs: number;
  throttle: LoginThrottle;
  /** How long the evidence page waits for the re-verification of a changed ledger before showing the previous result. */
  verifyWaitMs?: number;
}

/** The shared pieces the route modules answer with; one per registered console. */
export interface ConsoleKit {
  ctx: ConsoleContext;
  options: ConsoleOptions;
  assets: Assets;
  /** The frame around a page for this request: assets, the clock, sign-in state, the jobs. */
  frame(c: Context): PageFrame;
  /** `element` as a whole HTML document with `status`. */
  page(c: Context, element: Child, status?: 200 | 401 | 404 | 429): Response | Promise<Response>;
  /** The HTML not-found page saying `message`. */
  notFound(c: Context, message: string): Response | Promise<Response>;
  /** The set the policy names `name`, as the estate shows it now; undefined when there is none. */
  findSet(name: string): Promise<SetView | undefined>;
}

/** Builds the kit; the assets are read once, here. */
export function createConsoleKit(ctx: ConsoleContext, options: ConsoleOptions): ConsoleKit {
  const assets = loadAssets();
  const frame = (c: Context): PageFrame => ({
    assets,
    now: now(),
    signedIn: Boolean(options.token) && options.sessions.valid(getCookie(c, SESSION_COOKIE)),
    jobs: ctx.runner.jobs(),
  });
  const page = (c: Context, element: Child, status: 200 | 401 | 404 | 429 = 200) =>
    c.html(htmlDocument(element), status);
  return {
    ctx,
    options,
    assets,
    frame,
    page,
    notFound: (c, message) => page(c, <NotFoundPage frame={frame(c)} message={message} />, 404),
    findSet: async (name) => (await ctx.estate()).sets.find((set) => set.policy.name === name),
  };
}

/** A file name safe in a Content-Disposition header. */
export function attachment(name: string): string {
  return `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`;
}
