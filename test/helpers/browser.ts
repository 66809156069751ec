/** Headless Debian Chromium through playwright-core, and what every browser test checks on a page. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

export { CHROMIUM_ARGS, launchChromium } from '../../bench/chromium.js';

/** What went wrong on a page: console errors, uncaught exceptions, failed requests, HTTP errors. */
export interface PageProblems {
  errors: string[];
  failedRequests: string[];
  /** `STATUS METHOD URL` of responses with status ≥ 400. */
  badResponses: string[];
}

/** Starts collecting a page's problems. */
export function watchPage(page: Page): PageProblems {
  const problems: PageProblems = { errors: [], failedRequests: [], badResponses: [] };
  page.on('console', (message) => message.type() === 'error' && problems.errors.push(message.text()));
  page.on('pageerror', (error) => problems.errors.push(String(error)));
  page.on('requestfailed', (request) => {
    // A download is handed to the download manager, which Chromium reports as an aborted request.
    if (request.failure()?.errorText === 'net::ERR_ABORTED' && isDownload(request.url())) return;
    problems.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on(
    'response',
    (response) =>
      response.status() >= 400 &&
      problems.badResponses.push(`${response.status()} ${response.request().method()} ${response.url()}`),
  );
  return problems;
}

const isDownload = (url: string) =>
  /\/(manifest\.ndjson\.gz|evidence\.json|report(\?.*)?|keys\/[^/]+\.pem|records\/\d+\.json)$/.test(
    new URL(url).pathname + new URL(url).search,
  );

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2.x A/AA violations on the page as it is now: `rule: target…`. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern.
  await page.evaluate(axeSource);
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
  const violations = await page.evaluate<string[]>(
    `axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(tags)} } })
       .then((result) => result.violations.map((v) => v.id + ': ' + v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)).join(' ')))`,
  );
  return violations;
}
