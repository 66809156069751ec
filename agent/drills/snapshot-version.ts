/**
 * `ID@VERSION`: a snapshot request naming one stored version of its archive object (an S3
 * VersionId) — how the original of an archive overwritten after its baseline is read back, which
 * is what Object Lock kept it for. `splitVersion` parses requests (pure); `resolveSnapshotVersion`
 * asks the store for that version and returns the snapshot as that version, its reads pinned to it.
 *
 * Errors are SnapshotVersionErrors (usage errors, exit 2) naming set, snapshot and version: a
 * version of a pick rule (`latest@V`), of a directory snapshot, on a store that keeps no versions,
 * or a version the store does not hold. A drill or recovery asked for one is not run (nothing is
 * recorded): a mistyped version must not demote the snapshot.
 */
import { ConfigError, VersionNotFoundError, describeError } from '../errors.js';
import type { BackupSource } from '../sources/backup-source.js';
import type { ArchiveSnapshot, Snapshot } from '../sources/snapshot-discovery.js';
import { ID_PREFIX, PICK_RULES } from './pick-snapshot.js';

/** A request for a snapshot version that cannot be served. Exit 2. */
export class SnapshotVersionError extends ConfigError {
  override name = 'SnapshotVersionError';
}

/**
 * Splits `ID@VERSION` at its last `@` into the snapshot request and the version; a request
 * without `@` (or with nothing on either side of it) has no version. `latest@V`, `random@V` and
 * `last-clean@V` are refused: a version belongs to one snapshot, named by id.
 */
export function splitVersion(set: string, request: string): { request: string; version: string | null } {
  const at = request.lastIndexOf('@');
  if (at <= 0 || at === request.length - 1) return { request, version: null };
  const id = request.slice(0, at);
  const version = request.slice(at + 1);
  if ((PICK_RULES as readonly string[]).includes(id)) {
    throw new SnapshotVersionError(
      `set ${set}: --snapshot ${request}: a version belongs to one snapshot; name it by id (ID@${version}, or ${ID_PREFIX}ID@${version})`,
    );
  }
  return { request: id, version };
}

/** The version's name in messages: `ID@VERSION`. */
export const versionRef = (snapshot: string, version: string) => `${snapshot}@${version}`;

/**
 * The snapshot as version `version` of its archive object: size, ETag and mtime as the store
 * reports that version, every read naming it. Throws SnapshotVersionError (see the module comment).
 */
export async function resolveSnapshotVersion(
  set: string,
  source: BackupSource,
  snapshot: Snapshot,
  version: string,
): Promise<ArchiveSnapshot> {
  const ref = versionRef(snapshot.id, version);
  if (snapshot.layout !== 'archive') {
    throw new SnapshotVersionError(
      `set ${set}: snapshot ${ref}: ${snapshot.id} is a directory snapshot; @VERSION reads one version of an archive object`,
    );
  }
  if (!source.headVersion) {
    throw new SnapshotVersionError(
      `set ${set}: snapshot ${ref}: the store ${source.location} keeps no object versions (only S3 buckets with versioning do); drop @${version}`,
    );
  }
  try {
    const object = await source.headVersion(snapshot.object.key, version);
    return { ...snapshot, object: { ...object, pinnedVersion: true } };
  } catch (error) {
    if (error instanceof VersionNotFoundError) {
      const why = error.unversioned
        ? 'the store does not keep versions of it (is versioning enabled on the bucket?)'
        : `the store holds no such version of ${snapshot.object.key}`;
      throw new SnapshotVersionError(`set ${set}: snapshot ${ref}: ${why} — ${describeError(error)}`, [], {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Whether the baseline recorded for a snapshot describes version `version` of its archive: the
 * manifest header's object (or the set index's baseline) names that VersionId.
 */
export function baselineIsOfVersion(baselineVersion: string | undefined, version: string): boolean {
  return baselineVersion !== undefined && baselineVersion === version;
}
