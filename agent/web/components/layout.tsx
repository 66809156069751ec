/** The frame of every console page: skip link, banner with navigation and job activity, main, footer. */
import type { Child, FC } from 'hono/jsx';
import type { JobRecord } from '../../jobs/job-runner.js';
import { VERSION } from '../../version.js';
import { assetUrl, type Assets } from '../assets.js';
import { fullTime, shortTime } from '../format.js';

/** What every page needs besides its content. */
export interface PageFrame {
  assets: Assets;
  now: Date;
  /** Signed in through the login form: offer to sign out. */
  signedIn: boolean;
  /** Recent jobs (the activity line shows the running and queued ones). */
  jobs: readonly JobRecord[];
}

/** One line on what runs now. */
export function activityText(jobs: readonly JobRecord[]): string {
  const active = jobs.filter((job) => job.status === 'running' || job.status === 'queued');
  if (active.length === 0) return 'No scan or drill running.';
  return active
    .map(
      (job) =>
        `${job.task === 'scan' ? 'Scan' : 'Drill'} of ${job.set} ${job.status === 'running' ? `running since ${shortTime(job.startedAt ?? job.queuedAt)}` : 'queued'}`,
    )
    .join(' · ');
}

export interface LayoutProps {
  frame: PageFrame;
  title: string;
  nav: 'overview' | 'evidence' | null;
  /** Load the script (pages behind a sign-in; not the login page). */
  live?: boolean;
  /** Data still being computed (e.g. the chain re-verified): the script refreshes soon. */
  pending?: boolean;
  children?: Child;
}

/** The page frame. */
export const Layout: FC<LayoutProps> = ({ frame, title, nav, live = true, pending = false, children }) => {
  const running = frame.jobs.some((job) => job.status === 'running' || job.status === 'queued');
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} — vouch`}</title>
        <link rel="icon" type="image/svg+xml" href={assetUrl(frame.assets, 'favicon.svg')} />
        <link rel="stylesheet" href={assetUrl(frame.assets, 'console.css')} />
        {live ? <script type="module" src={assetUrl(frame.assets, 'console.js')}></script> : null}
      </head>
      <body data-jobs={running ? 'running' : 'idle'}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            vouch
          </a>
          {nav !== null || live ? (
            <nav aria-label="Main">
              <ul>
                <li>
                  <a href="/" aria-current={nav === 'overview' ? 'page' : undefined}>
                    Overview
                  </a>
                </li>
                <li>
                  <a href="/evidence" aria-current={nav === 'evidence' ? 'page' : undefined}>
                    Evidence
                  </a>
                </li>
              </ul>
            </nav>
          ) : null}
          {live ? (
            <p id="activity" class="activity" role="status" data-live="">
              {activityText(frame.jobs)}
            </p>
          ) : null}
          {frame.signedIn ? (
            <form method="post" action="/logout" class="signout">
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main id="main" tabindex={-1} data-live="" data-pending={pending ? 'true' : undefined}>
          {children}
        </main>
        <footer class="bottom small">
          vouch {VERSION} · read-only console · generated{' '}
          <time datetime={frame.now.toISOString()}>{fullTime(frame.now.toISOString())}</time>
          {live ? <span id="refreshed" class="refreshed"></span> : null}
        </footer>
      </body>
    </html>
  );
};

/** Serialises a page element as an HTML document. */
export function htmlDocument(page: Child): string {
  return `<!doctype html>${String(page)}`;
}
