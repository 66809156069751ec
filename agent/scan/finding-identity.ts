/**
 * Gives a snapshot's findings their content identity (`contentId`): the digest of the entry each
 * names, as this scan read it, so an acceptance covers exactly those bytes and a file that changes
 * again is judged again (verdicts/acceptance.ts). One pass over the scan's entries in path order,
 * and only when there are findings to name.
 */
import type { DigestAlgorithm } from '../model/manifest.js';
import type { ManifestEntry } from '../model/manifest.js';
import type { Finding } from '../model/findings.js';

/** The identity of what an entry holds: `ALGORITHM:HEX` for a file, `link:TARGET` for a link; undefined otherwise. */
export function contentIdOf(
  entry: Pick<ManifestEntry, 'type' | 'digest' | 'linkTarget'>,
  algorithm: DigestAlgorithm,
): string | undefined {
  if (entry.type === 'file' && entry.digest) return `${algorithm}:${entry.digest}`;
  if ((entry.type === 'symlink' || entry.type === 'hardlink') && entry.linkTarget !== undefined)
    return `link:${entry.linkTarget}`;
  return undefined;
}

/**
 * Sets `contentId` on `findings` (in place) whose path is an entry of `entries` (sorted by path,
 * read once, stopped early once every named path was found) or the snapshot's archive object.
 */
export async function attachContentIds(
  findings: readonly Finding[],
  entries: () => AsyncIterable<ManifestEntry>,
  algorithm: DigestAlgorithm,
  object?: { key: string; contentId?: string },
): Promise<void> {
  const wanted = new Map<string, Finding[]>();
  for (const finding of findings) {
    if (finding.path === '' || finding.contentId !== undefined) continue;
    if (object?.contentId && finding.path === object.key) {
      finding.contentId = object.contentId;
      continue;
    }
    const list = wanted.get(finding.path);
    if (list) list.push(finding);
    else wanted.set(finding.path, [finding]);
  }
  if (wanted.size === 0) return;
  let left = wanted.size;
  for await (const entry of entries()) {
    const named = wanted.get(entry.path);
    if (!named) continue;
    const id = contentIdOf(entry, algorithm);
    if (id) for (const finding of named) finding.contentId = id;
    if (--left === 0) break;
  }
}
