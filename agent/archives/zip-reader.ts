/**
 * Reader for `.zip`, by random access (`ArchiveInput.openRange`): the central directory, local
 * headers and small members come through a 256 KiB read-ahead window; larger members are ranges
 * of their own. DOS timestamps are read as UTC so every agent records the same mtime.
 *
 * yauzl parses the structure, but names are decoded here (`decodeStrings: false`) and judged by
 * the safe-path module: yauzl would otherwise abort the whole archive on the first `..` name
 * instead of letting us report it and go on. Like yauzl's own non-strict mode, `\` in zip names
 * is read as `/` (Windows tools write it so). Every member is independent, so a bad member is a
 * read-error for that member and the next one is still read:
 * - a member whose data inflates beyond its declared size (yauzl counts), is shorter than it, or
 *   fails its CRC-32 (checked here; yauzl does not) is a read-error;
 * - a member declaring more than `maxRatio`× its compressed size (past 1 MiB) is not read, and
 *   members declaring more than `maxRatio`× the whole object (overlapping-member bombs) stop
 *   the read;
 * - encrypted members (traditional or AES) cannot be decrypted: their stored bytes are passed as
 *   the body with `encrypted: true`, so digests still pin them;
 * - unix symlinks (mode 0o120000) become `symlink` entries whose target is the member's content
 *   (at most 4 KiB), recorded and never followed;
 * - a member whose local header disagrees with its central directory record — another name,
 *   method, CRC or size — is `unsafe-entry` and not read: Python's zipfile refuses such a member,
 *   and streaming extractors, which read only local headers, would write the local name (a
 *   `../../x` behind a harmless central `safe.txt`);
 * - a stored member whose two sizes differ is a read-error for that member only (yauzl would
 *   abort the whole archive); sizes are checked here as the data streams, with the CRC.
 */
import { PassThrough, Readable, Transform } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import {
  fromRandomAccessReader,
  getFileNameLowLevel,
  RandomAccessReader,
  type Entry,
  type LocalFileHeader,
  type ZipFile,
} from 'yauzl';
import { describeError } from '../errors.js';
import type { ArchiveInput, ArchiveLimits, EntryReader, EntryVisitor, ReadSummary } from './entry-reader.js';
import type { EntryType } from '../model/manifest.js';
import { problem, ReadSession, type EntryHeader } from './read-session.js';
import { displayName, entryLabel } from './safe-path.js';

/** `.zip`. */
export const zipReader: EntryReader = { format: 'zip', read: readZip };

async function readZip(
  input: ArchiveInput,
  visitor: EntryVisitor,
  limits: ArchiveLimits,
): Promise<ReadSummary> {
  const session = new ReadSession(visitor, limits, 'skip');
  const reader = new InputRangeReader(input);
  let zip: ZipFile;
  try {
    zip = await openZip(input, reader);
  } catch (error) {
    session.stop(problem('read-error', '', `not a readable zip archive: ${describeError(error)}`));
    return session.finish();
  }
  try {
    await new ZipRead(zip, input, session, reader).run();
  } finally {
    zip.close();
  }
  return session.finish();
}

function openZip(input: ArchiveInput, reader: InputRangeReader): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    // Entry sizes are checked here (checkedData), per member: yauzl's check would abort the archive.
    const options = {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: false,
      strictFileNames: false,
    };
    fromRandomAccessReader(reader, input.size, options, (error, zip) =>
      error ? reject(error) : resolve(zip),
    );
  });
}

/** Reads up to this size go through the read-ahead windows. */
const SMALL_READ = 128 * 1024;
/** Bytes fetched per window: one range request covers many central directory records. */
const WINDOW = 256 * 1024;
/**
 * Windows kept: reading a zip alternates between the central directory (at the end) and each
 * member's local header and data (from the start); with one window every member cost two fresh
 * 256 KiB reads, with a few each region keeps its own.
 */
const WINDOWS = 4;

type Window = { start: number; bytes: Buffer };

/**
 * yauzl's view of an ArchiveInput: small reads (central directory records, local headers, small
 * members) are served from read-ahead windows, so listing a zip over S3 costs a request per
 * 256 KiB rather than two per member; larger member data comes as its own range.
 */
class InputRangeReader extends RandomAccessReader {
  /** Most recently used first. */
  private windows: Window[] = [];

  constructor(private readonly input: ArchiveInput) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const out = new PassThrough();
    const window = this.cached(start, end - start);
    if (window) {
      // Small members right after their local header: already fetched with it.
      return out.end(window.bytes.subarray(start - window.start, end - window.start));
    }
    this.input.openRange(start, end).then(
      (stream) => {
        stream.on('error', (error) => out.destroy(error));
        if (out.destroyed) {
          stream.destroy();
          return;
        }
        out.on('close', () => stream.destroy());
        stream.pipe(out);
      },
      (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
    );
    return out;
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null) => void,
  ): void {
    if (length > SMALL_READ) {
      super.read(buffer, offset, length, position, callback);
      return;
    }
    this.windowFor(position, length).then(
      (window) => {
        window.bytes.copy(buffer, offset, position - window.start, position - window.start + length);
        callback(null);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** Bytes [start, end) of the object, through the windows (for reads up to SMALL_READ). */
  async bytes(start: number, end: number): Promise<Buffer> {
    const window = await this.windowFor(start, end - start);
    return window.bytes.subarray(start - window.start, end - window.start);
  }

  private cached(position: number, length: number): Window | null {
    const index = this.windows.findIndex(
      (window) => position >= window.start && position + length <= window.start + window.bytes.length,
    );
    if (index < 0) return null;
    const [window] = this.windows.splice(index, 1);
    this.windows.unshift(window!);
    return window!;
  }

  private async windowFor(position: number, length: number): Promise<Window> {
    const cached = this.cached(position, length);
    if (cached) return cached;
    const end = Math.min(this.input.size, position + Math.max(length, WINDOW));
    if (position + length > end)
      throw new Error(
        `read of ${length} bytes at ${position} is past the end of the object (${this.input.size} bytes)`,
      );
    const stream = await this.input.openRange(position, end);
    const chunks: Buffer[] = [];
    let got = 0;
    for await (const chunk of stream) {
      const piece = chunk as Buffer;
      chunks.push(piece.subarray(0, Math.max(0, end - position - got)));
      got += piece.length;
      if (got >= end - position) break;
    }
    stream.destroy();
    if (got < end - position)
      throw new Error(`object ended after ${position + got} of ${this.input.size} bytes`);
    const window = { start: position, bytes: Buffer.concat(chunks) };
    this.windows.unshift(window);
    this.windows.length = Math.min(this.windows.length, WINDOWS);
    return window;
  }
}

const S_IFMT = 0o170000;
const FILE_TYPES: Record<number, EntryType> = {
  0o100000: 'file',
  0o040000: 'directory',
  0o120000: 'symlink',
  0o020000: 'device',
  0o060000: 'device',
  0o010000: 'fifo',
  0o140000: 'other', // socket
};
/** Hosts in "version made by" whose external attributes carry a unix mode: Unix, OS X. */
const UNIX_HOSTS = new Set([3, 19]);
const MSDOS_DIRECTORY = 0x10;
const MAX_LINK_TARGET = 4096;

/** Entry type and permission bits from the name and the external attributes. */
function typeOf(entry: Entry, name: string): { type: EntryType; mode?: number } {
  const unixMode = UNIX_HOSTS.has(entry.versionMadeBy >> 8)
    ? (entry.externalFileAttributes >>> 16) & 0xffff
    : 0;
  const mode = unixMode ? { mode: unixMode & 0o7777 } : {};
  if (name.endsWith('/')) return { type: 'directory', ...mode };
  if (unixMode) return { type: FILE_TYPES[unixMode & S_IFMT] ?? 'file', ...mode };
  if (entry.externalFileAttributes & MSDOS_DIRECTORY) return { type: 'directory' };
  return { type: 'file' };
}

const METHODS: Record<number, string> = {
  9: 'deflate64',
  12: 'bzip2',
  14: 'LZMA',
  93: 'zstd',
  95: 'xz',
  98: 'PPMd',
};

/** Member data errors in the words of a finding. */
function explainer(size: number): (error: Error) => string {
  return (error) => {
    if (/too many bytes/.test(error.message)) return `data inflates beyond its declared ${size} bytes`;
    if (/not enough bytes/.test(error.message)) return `data is shorter than its declared ${size} bytes`;
    if (
      typeof (error as { code?: unknown }).code === 'string' &&
      String((error as { code?: unknown }).code).startsWith('Z_')
    ) {
      return `data is corrupt: ${error.message}`;
    }
    return describeError(error);
  };
}

/** Passes data through and fails as soon as it runs past `size` bytes, or at the end unless it is exactly `size` bytes with CRC-32 `expected`. */
function checkedData(expected: number, size: number): Transform {
  let crc = 0;
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > size) {
        callback(new Error('too many bytes in the stream'));
        return;
      }
      crc = crc32(chunk, crc);
      callback(null, chunk);
    },
    flush(callback) {
      const computed = crc >>> 0;
      if (bytes < size) callback(new Error('not enough bytes in the stream'));
      else
        callback(
          computed === expected >>> 0
            ? null
            : new Error(`CRC-32 mismatch (stored ${hex(expected)}, computed ${hex(computed)})`),
        );
    },
  });
}

const DATA_DESCRIPTOR = 0x8;
const ZIP64_MARKER = 0xffffffff;

/** How a member's local header disagrees with its central directory record, or null (pure). */
export function localHeaderDisagreement(central: Entry, local: LocalFileHeader): string | null {
  if (!local.fileName.equals(central.fileNameRaw)) {
    return `its local header names it '${displayName(local.fileName.toString('utf8'))}': tools that read local headers (streaming extractors) would write that name`;
  }
  if (local.compressionMethod !== central.compressionMethod) {
    return `its local header says compression method ${local.compressionMethod}, the central directory ${central.compressionMethod}`;
  }
  if ((local.generalPurposeBitFlag & DATA_DESCRIPTOR) !== 0) return null; // sizes and CRC follow the data
  const differs = (a: number, b: number) => a !== ZIP64_MARKER && a !== b;
  if (
    differs(local.uncompressedSize, central.uncompressedSize) ||
    differs(local.compressedSize, central.compressedSize)
  ) {
    return `its local header declares ${local.uncompressedSize} bytes (${local.compressedSize} compressed), the central directory ${central.uncompressedSize} (${central.compressedSize} compressed)`;
  }
  if (local.crc32 !== central.crc32)
    return `its local header declares CRC-32 ${hex(local.crc32)}, the central directory ${hex(central.crc32)}`;
  return null;
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/** One read of one zip object. */
class ZipRead {
  private declaredOutput = 0;
  private last: string | null = null;
  private failure: Error | null = null;
  private waiting: { resolve: (entry: Entry | null) => void; reject: (error: Error) => void } | null = null;

  constructor(
    private readonly zip: ZipFile,
    private readonly input: ArchiveInput,
    private readonly session: ReadSession,
    private readonly reader: InputRangeReader,
  ) {
    zip.on('entry', (entry: Entry) => this.settle((waiting) => waiting.resolve(entry)));
    zip.on('end', () => this.settle((waiting) => waiting.resolve(null)));
    zip.on('error', (error: Error) => {
      this.failure ??= error;
      this.settle((waiting) => waiting.reject(error));
    });
  }

  async run(): Promise<void> {
    for (;;) {
      let entry: Entry | null;
      try {
        entry = await this.next();
      } catch (error) {
        const after = this.last ? ` after ${entryLabel(this.last)}` : '';
        this.session.stop(
          problem('read-error', '', `zip central directory is corrupt${after}: ${describeError(error)}`),
        );
        return;
      }
      if (!entry) return;
      await this.member(entry);
      if (this.session.stopped) return;
    }
  }

  private settle(
    action: (waiting: { resolve: (entry: Entry | null) => void; reject: (error: Error) => void }) => void,
  ): void {
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) action(waiting);
  }

  private next(): Promise<Entry | null> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.waiting = { resolve, reject };
      this.zip.readEntry();
    });
  }

  private async member(zipEntry: Entry): Promise<void> {
    const rawName = getFileNameLowLevel(
      zipEntry.generalPurposeBitFlag,
      zipEntry.fileNameRaw,
      zipEntry.extraFields,
      false,
    );
    this.last = rawName;
    let local: LocalFileHeader;
    try {
      local = await this.localHeader(zipEntry);
    } catch (error) {
      this.session.report(
        problem(
          'read-error',
          rawName,
          `${entryLabel(rawName)}: cannot read its local header: ${describeError(error)}`,
        ),
      );
      return;
    }
    const disagreement = localHeaderDisagreement(zipEntry, local);
    if (disagreement) {
      this.session.report(
        problem('unsafe-entry', rawName, `${entryLabel(rawName)}: ${disagreement}; not read`),
      );
      return;
    }
    const { type, mode } = typeOf(zipEntry, rawName);
    const encrypted = zipEntry.isEncrypted();
    const header: EntryHeader = {
      rawName,
      type,
      size: type === 'file' ? (encrypted ? zipEntry.compressedSize : zipEntry.uncompressedSize) : 0,
      mtime: zipEntry.getLastModDate({ timezone: 'UTC' }),
      ...(mode !== undefined ? { mode } : {}),
      ...(encrypted ? { encrypted } : {}),
    };
    if (type === 'symlink') {
      const target = await this.linkTarget(zipEntry, rawName, encrypted);
      if (target === null) return;
      header.linkTarget = target;
    }
    const entry = this.session.admit(header);
    if (!entry) return;
    this.last = entry.path;
    if (entry.type !== 'file') {
      await this.session.visit(entry);
      return;
    }
    const label = entryLabel(entry.path);
    if (!encrypted && zipEntry.compressionMethod !== 0 && zipEntry.compressionMethod !== 8) {
      const method = METHODS[zipEntry.compressionMethod] ?? 'unknown';
      this.session.report(
        problem(
          'read-error',
          entry.path,
          `${label}: compression method ${zipEntry.compressionMethod} (${method}) is not supported; not read`,
        ),
      );
      return;
    }
    if (
      !encrypted &&
      zipEntry.compressionMethod === 0 &&
      zipEntry.compressedSize !== zipEntry.uncompressedSize
    ) {
      this.session.report(
        problem(
          'read-error',
          entry.path,
          `${label}: stored (uncompressed) data declares ${zipEntry.compressedSize} bytes stored but ${zipEntry.uncompressedSize} bytes of content; not read`,
        ),
      );
      return;
    }
    if (!encrypted && this.session.ratioExceeded(zipEntry.uncompressedSize, zipEntry.compressedSize)) {
      this.session.report(
        problem(
          'read-error',
          entry.path,
          `${label} declares ${zipEntry.uncompressedSize} bytes from ${zipEntry.compressedSize} compressed bytes, more than ${this.session.limits.maxRatio}×; not read`,
        ),
      );
      return;
    }
    this.declaredOutput += entry.size;
    if (this.session.ratioExceeded(this.declaredOutput, this.input.size)) {
      this.session.stop(
        problem(
          'read-error',
          entry.path,
          `archive declares ${this.declaredOutput} bytes of content in ${this.input.size} bytes, more than ${this.session.limits.maxRatio}× (overlapping members?); stopped at ${label}`,
        ),
      );
      return;
    }
    let stream: Readable;
    try {
      stream = await this.openData(
        local.fileDataStart,
        zipEntry,
        !encrypted && zipEntry.compressionMethod === 8,
      );
    } catch (error) {
      this.session.report(
        problem('read-error', entry.path, `${label}: cannot open its data: ${describeError(error)}`),
      );
      return;
    }
    if (!encrypted) {
      const checked = checkedData(zipEntry.crc32, zipEntry.uncompressedSize);
      stream.on('error', (error) => checked.destroy(error));
      checked.on('close', () => stream.destroy());
      stream = stream.pipe(checked);
    }
    await this.session.visit(entry, {
      stream,
      abandon: 'destroy',
      sourceErrors: 'report',
      explain: explainer(entry.size),
    });
  }

  private localHeader(zipEntry: Entry): Promise<LocalFileHeader> {
    return new Promise((resolve, reject) =>
      this.zip.readLocalFileHeader(zipEntry, {}, (error, header) =>
        error ? reject(error) : resolve(header),
      ),
    );
  }

  /**
   * A member's data from where its local header ends (read once, above), inflated when `inflate`.
   * A small member is taken from the read-ahead window and inflated in one call: a zip of many
   * small files then costs no more per member than a tar (no stream or inflater per member).
   */
  private async openData(fileDataStart: number, zipEntry: Entry, inflate: boolean): Promise<Readable> {
    if (zipEntry.compressedSize <= SMALL_READ && zipEntry.uncompressedSize <= SMALL_READ) {
      const stored = await this.reader.bytes(fileDataStart, fileDataStart + zipEntry.compressedSize);
      if (!inflate) return Readable.from([stored], { objectMode: false });
      let data: Buffer;
      try {
        // One byte more than declared is enough to tell "inflates beyond its declared size".
        // An output chunk of the declared size, not zlib's 16 KiB default, for each small member.
        data = inflateRawSync(stored, {
          maxOutputLength: zipEntry.uncompressedSize + 1,
          chunkSize: Math.max(64, zipEntry.uncompressedSize + 1),
        });
      } catch (error) {
        const failure =
          (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
            ? new Error('too many bytes in the stream')
            : (error as Error);
        return new Readable({
          read() {
            this.destroy(failure);
          },
        });
      }
      return Readable.from([data], { objectMode: false });
    }
    return new Promise((resolve, reject) =>
      this.zip.openReadStreamLowLevel(
        fileDataStart,
        zipEntry.compressedSize,
        0,
        zipEntry.compressedSize,
        inflate,
        zipEntry.uncompressedSize,
        (error, stream) => (error ? reject(error) : resolve(stream)),
      ),
    );
  }

  /** A symlink member's target (its content), or null when it is reported as a problem. */
  private async linkTarget(zipEntry: Entry, rawName: string, encrypted: boolean): Promise<string | null> {
    const label = entryLabel(rawName);
    if (encrypted) {
      this.session.report(problem('read-error', rawName, `${label}: symlink target is encrypted; not read`));
      return null;
    }
    if (zipEntry.uncompressedSize > MAX_LINK_TARGET) {
      this.session.report(
        problem(
          'unsafe-entry',
          rawName,
          `${label}: symlink target is ${zipEntry.uncompressedSize} bytes long, over ${MAX_LINK_TARGET}`,
        ),
      );
      return null;
    }
    try {
      const stream = await this.zip.openReadStreamPromise(zipEntry);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    } catch (error) {
      this.session.report(
        problem(
          'read-error',
          rawName,
          `${label}: cannot read symlink target: ${explainer(zipEntry.uncompressedSize)(error as Error)}`,
        ),
      );
      return null;
    }
  }
}
