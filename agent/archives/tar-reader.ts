/**
 * Readers for `tar`, `tar.gz` (`.tgz`), `tar.zst`, `tar.xz`, `tar.bz2` and `tar.lz4`: one
 * sequential pass over the object.
 *
 * bytes ─► count compressed bytes ─► decompress (gzip | zstd | xz | bzip2 | lz4) ─► ratio cap ─► tar-stream ─► entries
 *
 * tar-stream parses ustar, GNU (long names) and PAX; whatever name it settles on (a PAX `path`
 * included) goes through the read session's name guard like any other. A PAX global header (`g`)
 * applies to every member after it, as GNU tar applies it (tar-stream would apply it only to
 * members with their own `x` header): a `path=../../x` there is what tar lists and restores for
 * each following member, so that is what is judged. Caps are checked on each
 * header before its data is read. The decompressor is drained to its end even after the tar's
 * end-of-archive blocks, so a bad gzip CRC or zstd checksum in the trailer is still reported.
 * When the bytes stop early or are corrupt, everything before the damage is still visited and
 * the problem names the entry being read: "archive ended inside entry 'x' after N of M bytes".
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as createExtract, type Extract, type Header } from 'tar-stream';
import { describeError } from '../errors.js';
import { decompressor, type Compression } from './decompress.js';
import { DecompressError } from './decompress-error.js';
import type { ArchiveInput, ArchiveLimits, EntryReader, EntryVisitor, ReadSummary } from './entry-reader.js';
import type { EntryType } from '../model/manifest.js';
import { problem, ReadSession, type ByteSource } from './read-session.js';
import { displayName, entryLabel } from './safe-path.js';

/** The tar family's formats. */
export type TarFormat = 'tar' | 'tar.gz' | 'tar.zst' | 'tar.xz' | 'tar.bz2' | 'tar.lz4';

const COMPRESSION: Record<TarFormat, Compression | null> = {
  tar: null,
  'tar.gz': 'gzip',
  'tar.zst': 'zstd',
  'tar.xz': 'xz',
  'tar.bz2': 'bzip2',
  'tar.lz4': 'lz4',
};

/** A reader for one of the tar family's formats. */
export function createTarReader(format: TarFormat): EntryReader {
  return {
    format,
    read: (input, visitor, limits) => readTar(input, visitor, limits, COMPRESSION[format]),
  };
}

/** Plain `.tar`. */
export const tarReader = createTarReader('tar');
/** `.tar.gz` and `.tgz`. */
export const tarGzReader = createTarReader('tar.gz');
/** `.tar.zst` and `.tzst`. */
export const tarZstReader = createTarReader('tar.zst');
/** `.tar.xz` and `.txz` (through xz). */
export const tarXzReader = createTarReader('tar.xz');
/** `.tar.bz2`, `.tbz2` and `.tbz` (through bzip2). */
export const tarBz2Reader = createTarReader('tar.bz2');
/** `.tar.lz4` (through lz4). */
export const tarLz4Reader = createTarReader('tar.lz4');

async function readTar(
  input: ArchiveInput,
  visitor: EntryVisitor,
  limits: ArchiveLimits,
  compression: Compression | null,
): Promise<ReadSummary> {
  const session = new ReadSession(visitor, limits, 'stop');
  await new TarRead(session, input, compression).run();
  return session.finish();
}

const TYPES: Partial<Record<string, EntryType>> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'hardlink',
  symlink: 'symlink',
  directory: 'directory',
  'character-device': 'device',
  'block-device': 'device',
  fifo: 'fifo',
};

/**
 * The entry type of a header. tar-stream gives null for typeflags it does not know: GNU
 * incremental dumps ('D', named `dir/`) are directories; the rest (sparse files, volume labels,
 * …) are `other`, which is never restored.
 */
function entryType(header: Header): EntryType {
  if (header.type) return TYPES[header.type] ?? 'other';
  return header.name.endsWith('/') ? 'directory' : 'other';
}

/** Unwinds the pipeline after the read was stopped; never reported. */
class StopSignal extends Error {
  override name = 'StopSignal';
}

/** Where in the tar stream the last header's data starts (tar-stream sets it; not in its types). */
function dataOffsetOf(header: Header): number | undefined {
  const offset = (header as Header & { byteOffset?: unknown }).byteOffset;
  return typeof offset === 'number' ? offset : undefined;
}

/** Lets an entry's stream run to its end without anyone reading it. */
function drain(stream: ByteSource): Promise<void> {
  return new Promise((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
    stream.on('data', () => {});
    stream.resume();
  });
}

const END_MARKER = 1024;

/** tar-stream's extractor internals this reader relies on (tar-stream 3.x; pinned in package.json). */
interface ExtractInternals {
  _pax: Record<string, string> | null;
  _paxGlobal: Record<string, string> | null;
  _applyLongHeaders(): void;
}

/** An extractor that applies PAX global headers to every following member, as GNU tar does. */
function createGnuCompatibleExtract(): Extract {
  const extract = createExtract();
  const internals = extract as unknown as ExtractInternals;
  const apply = internals._applyLongHeaders;
  if (typeof apply !== 'function' || !('_paxGlobal' in internals))
    throw new Error('tar-stream changed: PAX global headers cannot be applied');
  internals._applyLongHeaders = function applyWithGlobal(this: ExtractInternals) {
    // A member with its own `x` header already got the global keys merged in by tar-stream.
    if (this._paxGlobal && !this._pax) this._pax = { ...this._paxGlobal };
    apply.call(this);
  };
  return extract;
}

/** One read of one tar object. */
class TarRead {
  private readonly extract: Extract = createGnuCompatibleExtract();
  private readonly extractClosed: Promise<void>;
  private extractError: Error | null = null;
  private closed = false;
  private internal: { error: unknown } | null = null;
  private pending: Promise<void> = Promise.resolve();
  private source: Readable | null = null;
  /** Compressed bytes read, decompressed bytes produced, tar bytes handed to tar-stream. */
  private compressedBytes = 0;
  private outputBytes = 0;
  private fed = 0;
  /** The last `END_MARKER` tar bytes: a complete archive ends with two zero blocks. */
  private tail: Buffer = Buffer.alloc(0);
  private current: { path: string; size: number; dataStart: number } | null = null;

  constructor(
    private readonly session: ReadSession,
    private readonly input: ArchiveInput,
    private readonly compression: Compression | null,
  ) {
    this.extract.on('entry', (header, stream, next) => {
      // Destroying the extractor destroys the entry stream too, visited or not: never unhandled.
      stream.on('error', () => {});
      // A streamx readable: it has the on/pause/resume/destroy a ByteSource needs, typed generically.
      this.pending = this.onEntry(header, stream as unknown as ByteSource).then(
        (go) => (go ? next() : this.halt()),
        (error: unknown) => {
          this.internal ??= { error };
          this.halt();
        },
      );
    });
    this.extract.on('error', (error: Error) => {
      if (!(error instanceof StopSignal)) this.extractError ??= error;
    });
    this.extractClosed = new Promise((resolve) =>
      this.extract.on('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  async run(): Promise<void> {
    try {
      this.source = await this.input.open();
    } catch (error) {
      this.session.stop(problem('read-error', '', `cannot open ${this.input.name}: ${describeError(error)}`));
      return;
    }
    // pipeline reports its errors; this keeps a late destroy (see halt) from being unhandled.
    this.source.on('error', () => {});
    let failure: unknown = null;
    try {
      await this.pump(this.source);
    } catch (error) {
      if (!(error instanceof StopSignal)) failure = error;
    }
    // Let tar-stream finish what it was given, so entries before any damage are still visited.
    if (this.session.stopped || this.internal) this.halt();
    else if (!this.closed) this.extract.end(null);
    await this.extractClosed;
    await this.pending;
    if (this.internal) throw this.internal.error;
    if (!this.session.stopped) this.reportEnd(failure);
  }

  /** Stops everything now: tar-stream, its entry streams and the object stream. */
  private halt(): void {
    const signal = new StopSignal('read stopped');
    if (!this.closed) this.extract.destroy(signal);
    this.source?.destroy(signal);
  }

  private async pump(source: Readable): Promise<void> {
    const sink = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
      for await (const chunk of chunks) {
        this.outputBytes += chunk.length;
        if (this.compression && this.session.ratioExceeded(this.outputBytes, this.compressedBytes)) {
          this.stopForRatio();
          throw new StopSignal('ratio');
        }
        if (!(await this.write(chunk))) throw new StopSignal('tar stream closed');
      }
    };
    if (!this.compression) {
      await pipeline(source, sink);
      return;
    }
    const count = (chunks: AsyncIterable<Buffer>) => this.countCompressed(chunks);
    await pipeline(source, count, decompressor(this.compression), sink);
  }

  private async *countCompressed(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      this.compressedBytes += chunk.length;
      yield chunk;
    }
  }

  /** Hands tar bytes to tar-stream; false once it has closed. */
  private async write(chunk: Buffer): Promise<boolean> {
    if (this.closed) return false;
    this.fed += chunk.length;
    this.tail =
      chunk.length >= END_MARKER
        ? chunk.subarray(chunk.length - END_MARKER)
        : Buffer.concat([this.tail, chunk]).subarray(-END_MARKER);
    if (this.extract.write(chunk)) return true;
    return new Promise((resolve) => {
      const drained = () => settle(true);
      const closed = () => settle(false);
      const settle = (open: boolean) => {
        this.extract.off('drain', drained);
        this.extract.off('close', closed);
        resolve(open);
      };
      this.extract.on('drain', drained);
      this.extract.on('close', closed);
    });
  }

  /** Handles one header; resolves to whether tar-stream may go on to the next. */
  private async onEntry(header: Header, stream: ByteSource): Promise<boolean> {
    const type = entryType(header);
    const size = type === 'directory' ? 0 : (header.size ?? 0);
    this.current = { path: header.name, size, dataStart: dataOffsetOf(header) ?? this.fed };
    const linked = type === 'symlink' || type === 'hardlink';
    const entry = this.session.admit({
      rawName: header.name,
      type,
      size,
      ...(header.mode !== undefined ? { mode: header.mode & 0o7777 } : {}),
      ...(header.mtime ? { mtime: header.mtime } : {}),
      ...(linked ? { linkTarget: header.linkname ?? '' } : {}),
    });
    if (this.session.stopped) return false;
    if (entry) this.current.path = entry.path;
    if (entry?.type === 'file') {
      await this.session.visit(entry, { stream, abandon: 'drain', sourceErrors: 'archive' });
    } else {
      if (entry) await this.session.visit(entry);
      await drain(stream);
    }
    return !this.session.stopped;
  }

  /** Where the read is: inside an entry's data (with bytes available of declared), or after one. */
  private position(): { inside: boolean; path: string; got: number; size: number } | null {
    const current = this.current;
    if (!current) return null;
    const got = Math.min(current.size, Math.max(0, this.fed - current.dataStart));
    return { inside: got < current.size, path: current.path, got, size: current.size };
  }

  private stopForRatio(): void {
    const at = this.position();
    const where = at?.inside
      ? `; stopped inside ${entryLabel(at.path)}`
      : at
        ? `; stopped after ${entryLabel(at.path)}`
        : '';
    this.session.stop(
      problem(
        'read-error',
        at?.inside ? at.path : '',
        `archive expands more than ${this.session.limits.maxRatio}× (${this.outputBytes} bytes from ${this.compressedBytes} compressed bytes)${where}`,
      ),
    );
  }

  /** After the object was read to its end (or failed): says what went wrong, if anything. */
  private reportEnd(failure: unknown): void {
    const at = this.position();
    const after = at ? ` after ${entryLabel(at.path)}` : ' before the first entry';
    if (failure !== null) {
      const truncated = failure instanceof DecompressError && failure.truncated;
      const cause =
        failure instanceof DecompressError
          ? failure.message
          : `reading ${this.input.name} failed: ${describeError(failure)}`;
      if (at?.inside) {
        const detail = truncated
          ? `archive ended inside ${entryLabel(at.path)} after ${at.got} of ${at.size} bytes (${cause})`
          : `${entryLabel(at.path)}: ${cause} (after ${at.got} of ${at.size} bytes)`;
        this.session.stop(problem('read-error', at.path, detail));
      } else {
        this.session.stop(
          problem(
            'read-error',
            '',
            truncated ? `archive ended unexpectedly${after} (${cause})` : `${cause}${after}`,
          ),
        );
      }
      return;
    }
    if (this.extractError) {
      if (/unexpected end of data/i.test(this.extractError.message)) {
        if (at?.inside) {
          this.session.stop(
            problem(
              'read-error',
              at.path,
              `archive ended inside ${entryLabel(at.path)} after ${at.got} of ${at.size} bytes`,
            ),
          );
        } else {
          this.session.stop(
            problem('read-error', '', `archive ended unexpectedly inside a tar header or padding${after}`),
          );
        }
      } else {
        this.session.stop(
          problem('read-error', '', `tar data is corrupt${after}: ${this.extractError.message}`),
        );
      }
      return;
    }
    if (this.fed === 0) {
      this.session.stop(problem('read-error', '', `${displayName(this.input.name)} holds no tar data`));
      return;
    }
    if (this.tail.length < END_MARKER || this.tail.some((byte) => byte !== 0)) {
      this.session.stop(
        problem(
          'read-error',
          '',
          `archive ends without the end-of-archive marker (two zero blocks): it was probably cut${after}`,
        ),
      );
    }
  }
}
