/**
 * When a directory snapshot was replaced rather than drifted (pure). An archive snapshot is
 * replaced when its one object is rewritten; a directory snapshot has many members, and a few of
 * them changing is ordinary drift (each its own finding). It counts as replaced — the
 * `drift-object-changed` finding that the set lifts to `snapshot-replaced` — when MORE THAN HALF
 * of its baselined members changed identity (type, size, content digest, or the store's ETag or
 * VersionId) or vanished, and those are at least MIN_REPLACED_MEMBERS or every baselined member:
 * the member set as a whole is no longer the one the baseline recorded (ransomware encrypting
 * every file in place, a job re-uploading the folder with other content). A few files of a small
 * snapshot changing (3 of 4) stay drift findings.
 */
import type { Finding } from '../model/findings.js';
import type { ManifestEntry } from '../model/manifest.js';

/** Baselined members, and how many of them changed identity or vanished; members new since the baseline. */
export interface MemberTally {
  baselined: number;
  changed: number;
  vanished: number;
  added: number;
}

/** A fresh tally. */
export const emptyTally = (): MemberTally => ({ baselined: 0, changed: 0, vanished: 0, added: 0 });

/** Share of baselined members that must have changed or vanished (strictly more than this). */
export const REPLACED_FRACTION = 0.5;
/** Members that must have changed or vanished, unless every baselined member did. */
export const MIN_REPLACED_MEMBERS = 8;

/** Whether a member is no longer the one its baseline entry recorded. */
export function memberIdentityChanged(baseline: ManifestEntry, current: ManifestEntry): boolean {
  if (baseline.type !== current.type || baseline.size !== current.size) return true;
  if (baseline.type === 'file' && baseline.digest !== current.digest) return true;
  if (baseline.linkTarget !== current.linkTarget) return true;
  if (baseline.etag !== undefined && current.etag !== undefined && baseline.etag !== current.etag)
    return true;
  if (
    baseline.versionId !== undefined &&
    current.versionId !== undefined &&
    baseline.versionId !== current.versionId
  )
    return true;
  return false;
}

/**
 * Counts one joined pair of the read (`current`) and the baseline (`baseline`) into `tally`. A
 * baselined member absent from the read counts as vanished only when the read was complete.
 */
export function tallyMember(
  tally: MemberTally,
  baseline: ManifestEntry | undefined,
  current: ManifestEntry | undefined,
  complete: boolean,
): void {
  if (baseline && current) {
    tally.baselined++;
    if (memberIdentityChanged(baseline, current)) tally.changed++;
  } else if (baseline) {
    tally.baselined++;
    if (complete) tally.vanished++;
  } else if (current) {
    tally.added++;
  }
}

/** Whether the tally says the directory was replaced (see the module comment). */
export function directoryReplaced(tally: MemberTally): boolean {
  const gone = tally.changed + tally.vanished;
  return (
    tally.baselined > 0 &&
    gone > tally.baselined * REPLACED_FRACTION &&
    (gone >= MIN_REPLACED_MEMBERS || gone === tally.baselined)
  );
}

/**
 * The snapshot's `drift-object-changed` finding for a replaced directory (path: its prefix;
 * contentId: the current listing's fingerprint, so a later, different replacement is a new
 * finding), or null when the members merely drifted.
 */
export function directoryReplacement(
  prefix: string,
  tally: MemberTally,
  listingFingerprint?: string,
): Finding | null {
  if (!directoryReplaced(tally)) return null;
  const gone = tally.changed + tally.vanished;
  const added = tally.added ? `, ${tally.added} new` : '';
  return {
    kind: 'drift-object-changed',
    path: prefix,
    severity: 'critical',
    detail: `object rewritten after its baseline: ${gone} of ${tally.baselined} baselined members changed identity or vanished (${tally.changed} rewritten, ${tally.vanished} gone${added}): the directory's member set was replaced, not drifted`,
    ...(listingFingerprint ? { contentId: `listing:${listingFingerprint}` } : {}),
  };
}
