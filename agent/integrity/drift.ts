/**
 * Drift: differences between a snapshot and its baseline. Backups are immutable, so every
 * difference is a finding. Pure functions; the scanner feeds them entries as it reads.
 */
import { ARCHIVE_ENCRYPTED } from '../model/content.js';
import type { Finding } from '../model/findings.js';
import type { ManifestEntry, ObjectIdentity } from '../model/manifest.js';

function shortDigest(digest: string | undefined): string {
  return digest ? digest.slice(0, 12) : 'none';
}

/**
 * ", now password-protected by the archive" when the entry is stored encrypted by its archive
 * (zip -P) while its baseline was not — the reason its size and digest changed; '' otherwise.
 */
function sealedSince(baseline: ManifestEntry, current: ManifestEntry): string {
  if (current.content?.container !== ARCHIVE_ENCRYPTED || baseline.content?.container === ARCHIVE_ENCRYPTED)
    return '';
  return `now password-protected by the archive (stored encrypted; the baseline held it readable${baseline.content ? ` as ${baseline.content.type}` : ''})`;
}

/** Compares one entry with its baseline; null when identical. */
export function entryDrift(baseline: ManifestEntry, current: ManifestEntry): Finding | null {
  if (baseline.type !== current.type) {
    return {
      kind: 'drift-modified',
      path: current.path,
      severity: 'critical',
      detail: `was a ${baseline.type}, now a ${current.type}`,
    };
  }
  if (baseline.type === 'symlink' || baseline.type === 'hardlink') {
    return baseline.linkTarget === current.linkTarget
      ? null
      : {
          kind: 'drift-modified',
          path: current.path,
          severity: 'critical',
          detail: `link target changed from ${baseline.linkTarget ?? '?'} to ${current.linkTarget ?? '?'}`,
        };
  }
  if (baseline.type !== 'file') return null;
  const sealed = sealedSince(baseline, current);
  if (sealed && (current.size !== baseline.size || current.digest !== baseline.digest)) {
    return {
      kind: current.size < baseline.size ? 'drift-truncated' : 'drift-modified',
      path: current.path,
      severity: 'critical',
      detail: `${sealed}: ${baseline.size} bytes ${shortDigest(baseline.digest)}… → ${current.size} bytes ${shortDigest(current.digest)}…`,
    };
  }
  if (current.size < baseline.size && current.digest !== baseline.digest) {
    return {
      kind: 'drift-truncated',
      path: current.path,
      severity: 'critical',
      detail: `truncated from ${baseline.size} to ${current.size} bytes`,
    };
  }
  if (current.size !== baseline.size || current.digest !== baseline.digest) {
    return {
      kind: 'drift-modified',
      path: current.path,
      severity: 'critical',
      detail: `content changed: ${baseline.size} bytes ${shortDigest(baseline.digest)}… → ${current.size} bytes ${shortDigest(current.digest)}…`,
    };
  }
  return null;
}

/** A baseline entry that is gone. */
export function missingEntry(baseline: ManifestEntry): Finding {
  return {
    kind: 'drift-missing',
    path: baseline.path,
    severity: 'critical',
    detail: `${baseline.type} of ${baseline.size} bytes in the baseline is missing`,
  };
}

/** An entry the baseline did not have. */
export function addedEntry(current: ManifestEntry): Finding {
  return {
    kind: 'drift-added',
    path: current.path,
    severity: 'critical',
    detail: `${current.type} of ${current.size} bytes appeared after the baseline`,
  };
}

/**
 * The parts of an object's identity that differ from the baseline, as `field old → new`.
 * Modification time alone is not drift (a copy or `touch` changes it) but it is a reason to re-read.
 */
export function objectIdentityChanges(
  baseline: ObjectIdentity,
  current: ObjectIdentity,
  includeMtime = false,
): string[] {
  const changes: string[] = [];
  if (baseline.size !== current.size) changes.push(`size ${baseline.size} → ${current.size}`);
  if (baseline.etag && current.etag && baseline.etag !== current.etag)
    changes.push(`ETag ${baseline.etag} → ${current.etag}`);
  if (baseline.versionId && current.versionId && baseline.versionId !== current.versionId) {
    changes.push(`VersionId ${baseline.versionId} → ${current.versionId}`);
  }
  if (includeMtime && baseline.mtime !== current.mtime)
    changes.push(`modified ${baseline.mtime} → ${current.mtime}`);
  if (baseline.digest && current.digest && baseline.digest !== current.digest) {
    changes.push(`digest ${shortDigest(baseline.digest)}… → ${shortDigest(current.digest)}…`);
  }
  return changes;
}

/** A finding for an immutable object that the store now reports differently; null if unchanged. */
export function objectDrift(baseline: ObjectIdentity, current: ObjectIdentity): Finding | null {
  const changes = objectIdentityChanges(baseline, current);
  if (changes.length === 0) return null;
  return {
    kind: 'drift-object-changed',
    path: current.key,
    severity: 'critical',
    detail: `object rewritten after its baseline: ${changes.join(', ')}`,
  };
}
