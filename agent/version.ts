/** The running version, read from package.json so there is one place to bump. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The detection code's digest the bundle was built with (scripts/build.ts defines it). */
declare const __VOUCH_DETECTION_REVISION__: string | undefined;

/**
 * SHA-256 over every source file under `dir` (recursively, in name order, names included): what
 * identifies the detection code that judged a file (scan/carry-over.ts).
 */
export function hashSourceTree(dir: string): string {
  const hash = createHash('sha256');
  const walk = (at: string, prefix: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = `${prefix}${entry.name}`;
      if (entry.isDirectory()) walk(path.join(at, entry.name), `${name}/`);
      else if (/\.tsx?$/.test(entry.name))
        hash.update(`${name}\0`).update(readFileSync(path.join(at, entry.name)));
    }
  };
  walk(dir, '');
  return hash.digest('hex');
}

let detectionRevision: string | null = null;

/**
 * Which detection judges content: vouch's version and the digest of its detection code
 * (agent/detection/), so a build whose detection changed — even under the same version number —
 * judges every file again instead of keeping judgements an earlier build made. The bundle carries
 * the digest from its build; from the sources it is computed on first use.
 */
export function detectionVersion(): string {
  if (detectionRevision === null) {
    let revision = typeof __VOUCH_DETECTION_REVISION__ === 'string' ? __VOUCH_DETECTION_REVISION__ : null;
    if (revision === null) {
      try {
        revision = hashSourceTree(fileURLToPath(new URL('./detection/', import.meta.url)));
      } catch {
        revision = 'unknown';
      }
    }
    detectionRevision = revision;
  }
  return `${VERSION}+detection.${detectionRevision.slice(0, 16)}`;
}
