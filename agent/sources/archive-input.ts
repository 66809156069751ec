/** Adapts a source object to the ArchiveInput that entry readers consume. */
import { Transform, type Readable } from 'node:stream';
import type { ArchiveInput } from '../archives/entry-reader.js';
import type { ChunkSink } from '../integrity/digest.js';
import { readConditions, type BackupSource, type ObjectBody, type SourceObject } from './backup-source.js';

/** What the store said about the bytes it served (set once the first read opens). */
export interface ServedIdentity {
  etag?: string;
  versionId?: string;
}

/**
 * An ArchiveInput over `object`. Every sequential `open()` feeds `tap` (e.g. the whole-object
 * digest) so the archive is hashed in the same pass that reads its entries. Every read is pinned
 * to the listed version (`ifMatch` its validator): a zip's central directory and members, or a
 * resumed body, never come from two versions of the object.
 */
export function archiveInputFor(
  source: BackupSource,
  object: SourceObject,
  tap?: ChunkSink,
  served: ServedIdentity = {},
  extras: Pick<ArchiveInput, 'scratchDir' | 'passwordFile'> = {},
): ArchiveInput {
  const pin = readConditions(object);
  const remember = (body: ObjectBody) => {
    if (body.etag) served.etag = body.etag;
    if (body.versionId) served.versionId = body.versionId;
    return body.stream;
  };
  return {
    name: `${source.location.replace(/\/$/, '')}/${object.key}`,
    size: object.size,
    async open(): Promise<Readable> {
      const stream = remember(await source.open(object.key, undefined, pin));
      if (!tap) return stream;
      const tapped = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          tap.update(chunk);
          callback(null, chunk);
        },
      });
      stream.on('error', (error) => tapped.destroy(error));
      return stream.pipe(tapped);
    },
    async openRange(start: number, end: number): Promise<Readable> {
      return remember(await source.open(object.key, { start, end }, pin));
    },
    ...(source.localPath ? { localFile: () => source.localPath!(object.key, pin) } : {}),
    ...extras,
  };
}

/** Wraps an input so that an abort destroys every stream it opened and refuses new ones. */
export function abortableInput(input: ArchiveInput, signal: AbortSignal | undefined): ArchiveInput {
  if (!signal) return input;
  const guard = async (open: () => Promise<Readable>): Promise<Readable> => {
    signal.throwIfAborted();
    const stream = await open();
    const onAbort = () => stream.destroy(new Error('read aborted'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
    return stream;
  };
  return {
    ...input,
    open: () => guard(() => input.open()),
    openRange: (start, end) => guard(() => input.openRange(start, end)),
    ...(input.localFile ? { localFile: () => (signal.throwIfAborted(), input.localFile!()) } : {}),
    signal,
  };
}
