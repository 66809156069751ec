/** The running version, read from package.json so there is one place to bump. */
import { readFileSync } from 'node:fs';

/** package.json is one level up both from agent/ in the sources and from dist/ in the bundle. */
function findVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      name?: string;
      version?: string;
    };
    if (pkg.name === 'vouch' && pkg.version) return pkg.version;
  } catch {
    // not installed beside its package.json
  }
  return '0.0.0';
}

/** vouch's version. */
export const VERSION = findVersion();
