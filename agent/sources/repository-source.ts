/**
 * What restic and borg sources share: a backup tool's repository read through the tool itself
 * (its crypto, its integrity checks, its locking), with its snapshots listed by the tool and each
 * snapshot streamed as one tar (`restic dump --archive tar`, `borg export-tar`) into vouch's own
 * tar reader — so names, types and sizes pass the same safe-path rules and caps as any archive.
 *
 * Why a tar stream rather than `restic ls --json` plus one read per file: measured on 1,000 files
 * of /usr/share/doc (19 MiB, `npm run bench:restic` repeats it), one `restic dump --archive tar`
 * takes ~1.2 s for all of them while each per-file `restic dump` takes ~0.9 s (it loads the index
 * every time): per-file reads would be ~700× slower.
 *
 * The tools' failures become RepositoryErrors that name the set and say what to do: a wrong or
 * missing password, a locked repository, a path that is no repository, a prompt the tool could
 * not ask, a missing binary. A failure part-way through a snapshot (a damaged pack or segment)
 * ends the tar stream with the tool's own message, which the scan reports as a read-error of the
 * entry being read.
 */
import { Readable } from 'node:stream';
import { SourceError, VouchError } from '../errors.js';
import {
  ToolFailedError,
  ToolMissingError,
  toolOutput,
  type ToolName,
  type ToolOptions,
} from '../tools/tool-process.js';
import type {
  BackupSource,
  ByteRange,
  ObjectBody,
  RepositorySnapshot,
  SourceObject,
} from './backup-source.js';

/**
 * Bytes of a snapshot's tar stream read ahead of the scan, so the tool keeps decrypting and
 * decompressing while vouch analyses the entries before (on 2 cores, both run at once instead of
 * taking turns through a 64 KiB pipe).
 */
const READ_AHEAD_BYTES = 16 * 2 ** 20;

/** Why a repository could not be read. */
export type RepositoryProblem =
  | 'missing-tool'
  | 'wrong-password'
  | 'no-password'
  | 'locked'
  | 'not-a-repository'
  | 'needs-confirmation'
  | 'failed';

/** A backup tool could not read the repository; the message names the set and what to do. */
export class RepositoryError extends VouchError {
  override name = 'RepositoryError';
  constructor(
    readonly problem: RepositoryProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The tool-specific parts of a repository source. */
export interface RepositoryTool {
  tool: Extract<ToolName, 'restic' | 'borg'>;
  /** `restic:/srv/restic-repo`, `borg:ssh://…`. */
  location: string;
  /** The set this source belongs to, for messages. */
  set?: string;
  /** The repository's snapshots (any order). */
  listSnapshots(): Promise<RepositorySnapshot[]>;
  /** Arguments that stream the snapshot whose `object.key` is `key` as a tar to stdout. */
  tarArguments(key: string): string[];
  /** The tool's environment and stdin. */
  toolOptions(): ToolOptions;
  /** What kind of failure the tool's stderr describes. */
  classify(stderr: string): RepositoryProblem;
  /** What to tell the user for each kind of failure. */
  advice: Partial<Record<RepositoryProblem, string>>;
}

/** Turns a tool failure into a RepositoryError naming the set and saying what to do (pure apart from the error). */
export function explainRepositoryFailure(
  repository: Pick<RepositoryTool, 'tool' | 'location' | 'set' | 'classify' | 'advice'>,
  error: unknown,
  /** Say which set and repository (false when the message goes inside a SourceError that does). */
  named = true,
): Error {
  if (error instanceof RepositoryError) return error;
  const where = named ? `${repository.set ? `set ${repository.set}: ` : ''}${repository.location}: ` : '';
  if (error instanceof ToolMissingError)
    return new RepositoryError('missing-tool', `${where}${error.message}`, { cause: error });
  if (!(error instanceof ToolFailedError)) return error instanceof Error ? error : new Error(String(error));
  const problem = repository.classify(error.stderr);
  const headline: Record<RepositoryProblem, string> = {
    'missing-tool': 'the tool is missing',
    'wrong-password': 'wrong password',
    'no-password': 'no password',
    locked: 'the repository is locked by another process',
    'not-a-repository': 'no repository there',
    'needs-confirmation': `${repository.tool} wanted to ask a question`,
    failed: '',
  };
  const advice = repository.advice[problem];
  // The tool's own words verbatim (describeError then does not repeat the cause).
  const said = problem === 'failed' ? error.message : `${headline[problem]}: ${error.message}`;
  return new RepositoryError(problem, `${where}${said}${advice ? `; ${advice}` : ''}`, { cause: error });
}

/** Picks vouch ids for restic snapshots: the short id, or the full id where short ids collide (pure). */
export function uniqueShortIds(ids: readonly { id: string; shortId: string }[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const { shortId } of ids) counts.set(shortId, (counts.get(shortId) ?? 0) + 1);
  return new Map(ids.map(({ id, shortId }) => [id, counts.get(shortId)! > 1 ? id : shortId]));
}

/** The SourceObject standing for one repository snapshot (`key` what `open()` takes, `etag` the tool's id). */
export function snapshotObject(key: string, toolId: string, time: Date): SourceObject {
  return { key, size: 0, mtime: time, kind: 'file', etag: toolId, validator: toolId };
}

/** A BackupSource over a backup tool's repository (see the module comment). */
export function repositorySource(repository: RepositoryTool): BackupSource {
  const explain = (error: unknown) => explainRepositoryFailure(repository, error);
  const snapshots = async (): Promise<RepositorySnapshot[]> => {
    try {
      const listed = await repository.listSnapshots();
      return [...listed].sort(
        (a, b) => a.time.getTime() - b.time.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
    } catch (error) {
      throw explain(error);
    }
  };
  return {
    location: repository.location,
    snapshots,
    async *list(prefix = ''): AsyncIterable<SourceObject> {
      const objects = (await snapshots())
        .map((snapshot) => snapshot.object)
        .filter((object) => object.key.startsWith(prefix));
      yield* objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async open(key: string, range?: ByteRange): Promise<ObjectBody> {
      if (range)
        throw new SourceError(
          repository.location,
          key,
          `${repository.tool} snapshots are read as one stream, not in ranges`,
          true,
        );
      let output: Readable;
      try {
        output = toolOutput(repository.tool, repository.tarArguments(key), repository.toolOptions());
      } catch (error) {
        throw new SourceError(
          repository.location,
          key,
          explainRepositoryFailure(repository, error, false).message,
          true,
          { cause: error },
        );
      }
      async function* explained(): AsyncGenerator<Buffer> {
        try {
          for await (const chunk of output as AsyncIterable<Buffer>) yield chunk;
        } catch (error) {
          throw explainRepositoryFailure(repository, error, false);
        } finally {
          output.destroy();
        }
      }
      return { stream: Readable.from(explained(), { objectMode: false, highWaterMark: READ_AHEAD_BYTES }) };
    },
    async close(): Promise<void> {
      // Every tool process ends with its read.
    },
  };
}
