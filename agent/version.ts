/** The running version, read from package.json so there is one place to bump. */
import { readFileSync } from 'node:fs';

function findVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vouch' && pkg.version) return pkg.version;
    } catch {
      // try the next layout (source tree vs dist/)
    }
  }
  return '0.0.0';
}

/** vouch's version. */
export const VERSION = findVersion();
