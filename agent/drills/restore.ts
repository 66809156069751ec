/**
 * Restores one snapshot (or a sample, or the files a recovery takes from it) into a drill's
 * restore directory or a recovery's target directory.
 *
 * fetch    archive snapshots in a remote store (S3) are downloaded into the drill's directory
 *          first, hashed as they arrive: the fetch phase is the transfer a real restore pays.
 *          Offline volumes and directory snapshots are read where they are (fetch = 0).
 * extract  the archive (or the directory's files) goes through the same safe entry readers as a
 *          scan into a RestoreWriter, which writes and hashes each file in one pass.
 *
 * Never throws for bad backup content: a hostile or damaged snapshot comes back as problems and
 * `complete: false`. An abort destroys every open stream and stops at the next entry.
 */
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArchiveInput, ArchiveProblem, ReadSummary } from '../archives/entry-reader.js';
import { readPlainEntries } from '../archives/plain-reader.js';
import { readerFor } from '../archives/registry.js';
import type { SetPolicy } from '../config/resolve-policy.js';
import type { DigestAlgorithm } from '../model/manifest.js';
import { describeError } from '../errors.js';
import { createDigester, type ChunkSink } from '../integrity/digest.js';
import { abortableInput, archiveInputFor } from '../sources/archive-input.js';
import { readConditions, type BackupSource, type SourceObject } from '../sources/backup-source.js';
import { createFsSource } from '../sources/fs-source.js';
import { problemPath, type Snapshot } from '../sources/snapshot-discovery.js';
import type { PhaseTimer } from './phase-timer.js';
import { RestoreWriter, type RestoredEntry } from './restore-writer.js';
import type { DrillWorkspace } from './workspace.js';

/** Files of a directory snapshot restored at once (hides per-object store latency). */
const PARALLEL_FILE_READS = 4;

/** What a restore needs. */
export interface RestoreRequest {
  set: SetPolicy;
  source: BackupSource;
  snapshot: Snapshot;
  /** Where files go (`restoreDir`: exists, written only by this restore) and remote archives are fetched to (`fetchDir`). */
  workspace: Pick<DrillWorkspace, 'restoreDir' | 'fetchDir'>;
  /** Digest algorithm: the baseline's, so restored files compare with it. */
  algorithm: DigestAlgorithm;
  select: (path: string) => boolean;
  timer: PhaseTimer;
  signal?: AbortSignal;
  /** Source bytes as they are read (progress bars). */
  progress?: (bytes: number) => void;
  /** Owner of restored files (the sandbox user, when vouch runs as root). */
  owner?: { uid: number; gid: number };
}

/** What a restore did. */
export interface RestoreOutcome {
  entries: Map<string, RestoredEntry>;
  /** Entries and content bytes the snapshot holds (what a full restore writes). */
  seen: { entries: number; bytes: number };
  /** Entries and bytes this drill restored. */
  restored: { entries: number; bytes: number };
  /** Problems (unsafe entries, read errors), the first 200 in full. */
  problems: ArchiveProblem[];
  problemCount: number;
  /** False when the reader had to stop early. */
  complete: boolean;
  /** The archive object as read: bytes and digest (in `algorithm`), when it was read sequentially. */
  object: { bytes: number; digest: string | null } | null;
}

/** Downloads a remote archive into the drill's fetch directory, hashing it on the way. */
async function fetchArchive(
  request: RestoreRequest,
  object: SourceObject,
  digest: ChunkSink,
): Promise<{ dir: string; name: string; bytes: number }> {
  const name = path.basename(object.key);
  const body = await request.source.open(object.key, undefined, readConditions(object));
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      digest.update(chunk);
      bytes += chunk.length;
      request.progress?.(chunk.length);
      callback(null, chunk);
    },
  });
  await pipeline(
    body.stream,
    tap,
    createWriteStream(path.join(request.workspace.fetchDir, name), { flags: 'wx', mode: 0o600 }),
    {
      ...(request.signal ? { signal: request.signal } : {}),
    },
  );
  return { dir: request.workspace.fetchDir, name, bytes };
}

/** Where a reader may copy an archive (7z from a remote store), and the password of encrypted ones. */
function archiveExtras(request: RestoreRequest): Pick<ArchiveInput, 'scratchDir' | 'passwordFile'> {
  return {
    scratchDir: request.workspace.fetchDir,
    ...(request.set.archivePasswordFile ? { passwordFile: request.set.archivePasswordFile } : {}),
  };
}

/** Restores `request.snapshot`; timings go to `request.timer` (fetch, extract). */
export async function restoreSnapshot(request: RestoreRequest): Promise<RestoreOutcome> {
  const { snapshot, set, signal } = request;
  const writer = new RestoreWriter({
    root: request.workspace.restoreDir,
    algorithm: request.algorithm,
    select: request.select,
    ...(signal ? { signal } : {}),
    ...(request.owner ? { owner: request.owner } : {}),
  });
  let summary: ReadSummary = { entries: 0, bytes: 0, complete: false };
  let object: RestoreOutcome['object'] = null;
  try {
    if (snapshot.layout === 'archive') {
      const digester = await createDigester(request.algorithm);
      let input: ArchiveInput;
      let objectBytes = 0;
      if (set.source.kind === 's3') {
        const fetched = await request.timer.time('fetch', () =>
          fetchArchive(request, snapshot.object, digester),
        );
        objectBytes = fetched.bytes;
        const local = createFsSource(fetched.dir);
        const { validator: _remote, pinnedVersion: _version, ...listed } = snapshot.object;
        input = archiveInputFor(
          local,
          { ...listed, key: fetched.name, size: fetched.bytes },
          undefined,
          {},
          archiveExtras(request),
        );
      } else {
        // Read in place; tar family objects are hashed in the same sequential pass.
        const tap: ChunkSink | undefined =
          snapshot.format === 'zip'
            ? undefined
            : {
                update: (chunk) => {
                  digester.update(chunk);
                  objectBytes += chunk.length;
                  request.progress?.(chunk.length);
                },
              };
        input = archiveInputFor(request.source, snapshot.object, tap, {}, archiveExtras(request));
      }
      summary = await request.timer.time('extract', () =>
        readerFor(snapshot.format).read(abortableInput(input, signal), writer, set.limits),
      );
      const sequential = set.source.kind === 's3' || snapshot.format !== 'zip';
      object = {
        bytes: objectBytes || snapshot.object.size,
        digest:
          sequential && snapshot.object.size > 0 && objectBytes === snapshot.object.size
            ? digester.hex()
            : null,
      };
    } else {
      const prefix = snapshot.prefix;
      const members = (async function* () {
        for await (const member of request.source.list(prefix)) {
          if (signal?.aborted) return;
          yield { ...member, key: member.key.slice(prefix.length) };
        }
      })();
      summary = await request.timer.time('extract', () =>
        readPlainEntries(
          members,
          async (key, member) => {
            signal?.throwIfAborted();
            const stream = (await request.source.open(prefix + key, undefined, readConditions(member)))
              .stream;
            if (request.progress) stream.on('data', (chunk: Buffer) => request.progress!(chunk.length));
            return stream;
          },
          writer,
          set.limits,
          PARALLEL_FILE_READS,
        ),
      );
    }
  } catch (error) {
    writer.problem({
      kind: 'read-error',
      path: problemPath(snapshot),
      detail: describeError(error),
    });
    summary = { ...summary, complete: false };
  }
  return {
    entries: writer.entries,
    seen: writer.seen,
    restored: writer.restored,
    problems: writer.problems,
    problemCount: writer.problemCount,
    complete: summary.complete,
    object,
  };
}
