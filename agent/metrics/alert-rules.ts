/**
 * The shipped Prometheus alert rules (`dashboards/vouch-alerts.yml`) with their `runbook_url`s
 * pointed at where the runbook is published: the file links `RUNBOOK.md#ANCHOR` (relative, beside
 * it); `vouch alert-rules --runbook-url BASE` prints it with `BASE#ANCHOR` instead.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';

/** Where the rules file is, from this module: agent/metrics/ in the sources, dist/ in the bundle. */
const CANDIDATES = ['../../dashboards/vouch-alerts.yml', '../dashboards/vouch-alerts.yml'];

/** The shipped rules file's text. */
export async function shippedAlertRules(): Promise<string> {
  for (const candidate of CANDIDATES) {
    try {
      return await readFile(new URL(candidate, import.meta.url), 'utf8');
    } catch {
      // the next layout
    }
  }
  throw new Error('dashboards/vouch-alerts.yml is not installed beside vouch');
}

/**
 * `rules` with every `runbook_url: 'RUNBOOK.md#ANCHOR'` replaced by `BASE#ANCHOR` (pure). `base`
 * must be an absolute http(s) URL (the runbook page, any `#fragment` dropped); ConfigError otherwise.
 */
export function withRunbookBase(rules: string, base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch (error) {
    throw new ConfigError(
      `--runbook-url ${JSON.stringify(base)} is not an absolute URL (e.g. https://wiki.example.com/vouch/RUNBOOK)`,
      [],
      { cause: error },
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(`--runbook-url must be an http(s) URL, not ${url.protocol}`);
  url.hash = '';
  const page = url.toString().replace(/'/g, "''");
  return rules.replace(
    /runbook_url: 'RUNBOOK\.md#([a-z0-9-]+)'/g,
    (_match, anchor: string) => `runbook_url: '${page}#${anchor}'`,
  );
}
