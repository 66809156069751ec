/**
 * Reader for `.7z` archives, through the host's 7-Zip (`7zz`, Debian 7zip; or p7zip's `7z`).
 * 7z needs random access (its header is at the end) and compresses members together in solid
 * blocks, so members are not read one by one: vouch lists the archive (`7zz l -slt`), checks
 * every name, type and size against the safe-path module and the caps, then lets 7-Zip stream
 * every member's bytes to its stdout in archive order (`7zz x -so`) and cuts that stream at the
 * listed sizes. 7-Zip never writes anything to disk, so its own path handling is never trusted.
 *
 * Each member's CRC-32 from the listing is checked against the bytes cut for it, so a stream
 * that does not line up with the listing cannot pass silently; the stream must end exactly where
 * the listing says. A listing that cannot be parsed unambiguously (a name with a line break could
 * forge fields) is refused as a whole.
 *
 * Encrypted archives (7z AES) need the policy's `snapshots.passwordFile`: the password is fed to
 * 7-Zip on stdin (never on its command line, where `ps` would show it). Without it, or with a
 * wrong one, the read stops with a read-error naming the problem.
 *
 * 7z from a store without local files (S3) is first copied to a private temporary file (read
 * once, which is also the object's digest pass).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { describeError } from '../errors.js';
import { runTool, toolOutput, ToolFailedError } from '../tools/tool-process.js';
import type { ArchiveInput, ArchiveLimits, EntryReader, EntryVisitor, ReadSummary } from './entry-reader.js';
import type { EntryType } from '../model/manifest.js';
import { problem, ReadSession, type EntryHeader } from './read-session.js';
import { entryLabel } from './safe-path.js';

/** One member as `7zz l -slt` lists it. */
export interface SevenZipMember {
  path: string;
  size: number;
  type: EntryType;
  /** Unix permission bits, when the archive stores them. */
  mode?: number;
  mtime?: Date;
  /** CRC-32 of the member's bytes (absent for directories and empty files). */
  crc?: number;
  encrypted: boolean;
}

/** A listing that cannot be trusted to describe the archive. */
export class SevenZipListingError extends Error {
  override name = 'SevenZipListingError';
}

/** Fields `7zz l -slt` prints per member (newer versions add more; unknown ones are ignored only if well-formed). */
const FIELD = /^([A-Z][A-Za-z ]{0,30}) = (.*)$/;

/** Symlink targets longer than this are refused (the target is read before the entry is admitted). */
const MAX_LINK_TARGET = 4096;

const TYPE_BY_MODE: Record<string, EntryType> = {
  '-': 'file',
  d: 'directory',
  l: 'symlink',
  c: 'device',
  b: 'device',
  p: 'fifo',
  s: 'other',
};

/** Unix mode string (`-rw-r--r--`, `lrwxrwxrwx`) as permission bits. */
function modeBits(text: string): number {
  let bits = 0;
  for (let i = 1; i < 10; i++) if (text[i] !== '-') bits |= 1 << (9 - i);
  if ('sS'.includes(text[3] ?? '')) bits |= 0o4000;
  if ('sS'.includes(text[6] ?? '')) bits |= 0o2000;
  if ('tT'.includes(text[9] ?? '')) bits |= 0o1000;
  return bits;
}

/** Parses 7-Zip's `Modified` (local time of the 7zz process, which vouch runs in UTC). */
function parseModified(text: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction] = match;
  const ms = fraction ? Math.floor(Number(`0.${fraction}`) * 1000) : 0;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
}

/**
 * Parses `7zz l -slt -ba` output (pure). Every member block starts with `Path = `; every line is
 * `Key = Value`; no key repeats within a block. Anything else throws SevenZipListingError.
 */
export function parseSevenZipListing(text: string): SevenZipMember[] {
  const members: SevenZipMember[] = [];
  const blocks = text
    .replace(/\r\n/g, '\n')
    .split(/\n\n+/)
    .filter((block) => block.trim() !== '');
  for (const block of blocks) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n').filter((each) => each !== '')) {
      const match = FIELD.exec(line);
      if (!match)
        throw new SevenZipListingError(
          `unexpected line in 7-Zip's listing (${JSON.stringify(line.slice(0, 80))}): a member name with a line break?`,
        );
      if (fields.has(match[1]!))
        throw new SevenZipListingError(
          `field ${match[1]} appears twice for one member: a member name with a line break?`,
        );
      if (fields.size === 0 && match[1] !== 'Path')
        throw new SevenZipListingError(
          `a member's listing does not start with its path (${JSON.stringify(line.slice(0, 80))})`,
        );
      fields.set(match[1]!, match[2]!);
    }
    const size = fields.get('Size') ?? '';
    if (!/^\d+$/.test(size))
      throw new SevenZipListingError(
        `member ${JSON.stringify(fields.get('Path'))} has no size in 7-Zip's listing`,
      );
    const attributes = fields.get('Attributes') ?? '';
    const unix = /(?:^|\s)([-dlcbps][-rwxsStT]{9})$/.exec(attributes)?.[1];
    const folder = fields.get('Folder') === '+' || /^D/.test(attributes);
    const type: EntryType = unix ? (TYPE_BY_MODE[unix[0]!] ?? 'other') : folder ? 'directory' : 'file';
    const crc = fields.get('CRC');
    const mtime = parseModified(fields.get('Modified') ?? '');
    members.push({
      path: fields.get('Path')!,
      size: Number(size),
      type: folder && type === 'file' ? 'directory' : type,
      ...(unix ? { mode: modeBits(unix) } : {}),
      ...(mtime ? { mtime } : {}),
      ...(crc && /^[0-9A-F]{8}$/i.test(crc) ? { crc: Number.parseInt(crc, 16) } : {}),
      encrypted: fields.get('Encrypted') === '+',
    });
  }
  return members;
}

/** Bytes of one stream handed out in consecutive slices of given lengths. */
class StreamCursor {
  private readonly iterator: AsyncIterator<Buffer>;
  private leftover: Buffer = Buffer.alloc(0);
  /** Bytes handed out so far. */
  taken = 0;

  constructor(stream: Readable) {
    this.iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** The next `length` bytes, in pieces; throws when the stream ends first (or fails). */
  async *take(length: number): AsyncGenerator<Buffer> {
    let remaining = length;
    while (remaining > 0) {
      if (this.leftover.length === 0) {
        const next = await this.iterator.next();
        if (next.done) throw new Error(`7-Zip's output ended ${remaining} bytes early`);
        this.leftover = next.value;
      }
      const piece = this.leftover.subarray(0, remaining);
      this.leftover = this.leftover.subarray(piece.length);
      remaining -= piece.length;
      this.taken += piece.length;
      yield piece;
    }
  }

  /** Reads `length` bytes into one buffer (small members: symlink targets). */
  async read(length: number): Promise<Buffer> {
    const pieces: Buffer[] = [];
    for await (const piece of this.take(length)) pieces.push(piece);
    return Buffer.concat(pieces);
  }

  /** Whether the stream has more bytes after what was taken (it must not), draining it to its end (or error). */
  async atEnd(): Promise<boolean> {
    if (this.leftover.length > 0) return false;
    const next = await this.iterator.next();
    if (next.done) return true;
    await this.iterator.return?.();
    return false;
  }

  async close(): Promise<void> {
    await this.iterator.return?.().catch(() => undefined);
  }
}

/** The archive as a local file: the store's own file, or a private copy. */
async function localCopy(input: ArchiveInput): Promise<{ file: string; release: () => Promise<void> }> {
  if (input.localFile) {
    const file = await input.localFile();
    if (file) return { file, release: async () => {} };
  }
  const dir = await mkdtemp(path.join(input.scratchDir ?? tmpdir(), 'vouch-7z-'));
  const file = path.join(dir, 'archive.7z');
  try {
    await pipeline(await input.open(), createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { file, release: () => rm(dir, { recursive: true, force: true }) };
}

/** 7-Zip's environment: UTC (listing times are local), and no locale surprises in names. */
function sevenZipEnv(): NodeJS.ProcessEnv {
  return { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' };
}

/** What 7-Zip said, for a read-error. */
function toolMessage(error: unknown): string {
  return error instanceof ToolFailedError ? `7-Zip: ${error.stderr || error.message}` : describeError(error);
}

async function readSevenZip(
  input: ArchiveInput,
  visitor: EntryVisitor,
  limits: ArchiveLimits,
): Promise<ReadSummary> {
  const session = new ReadSession(visitor, limits, 'stop');
  let copy: { file: string; release: () => Promise<void> };
  try {
    copy = await localCopy(input);
  } catch (error) {
    session.stop(problem('read-error', '', `cannot open ${input.name}: ${describeError(error)}`));
    return session.finish();
  }
  try {
    let password: string | null = null;
    if (input.passwordFile) {
      try {
        password = (await readFile(input.passwordFile, 'utf8')).split(/\r?\n/)[0]!;
      } catch (error) {
        session.stop(
          problem(
            'read-error',
            '',
            `cannot read the password file ${input.passwordFile}: ${describeError(error)}`,
          ),
        );
        return session.finish();
      }
    }
    // 7-Zip asks for a password on stdin: the password, or end-of-file (it then gives up).
    const stdin = password !== null ? `${password}\n` : '';
    const options = { env: sevenZipEnv(), stdin };
    let members: SevenZipMember[];
    try {
      const listing = (
        await runTool('7z', ['l', '-slt', '-ba', '-sccUTF-8', '--', copy.file], options)
      ).toString('utf8');
      // 7-Zip prints its password prompt on stdout, before the listing.
      members = parseSevenZipListing(listing.replace(/^\s*Enter password[^\n]*\n/, ''));
    } catch (error) {
      const said = toolMessage(error);
      // Without a password, 7-Zip's prompt for one reads end-of-file and it stops ("Break signaled").
      const locked =
        error instanceof ToolFailedError &&
        (/encrypted archive|password/i.test(said) || (password === null && /break signaled/i.test(said)));
      const detail = locked
        ? password === null
          ? `the archive's names are encrypted and the set has no snapshots.passwordFile (${said})`
          : `wrong password in ${input.passwordFile} (${said})`
        : error instanceof SevenZipListingError
          ? `cannot list ${input.name}: ${error.message}`
          : `cannot list ${input.name}: ${said}`;
      session.stop(problem('read-error', '', detail));
      return session.finish();
    }
    if (password === null && members.some((member) => member.encrypted)) {
      const first = members.find((member) => member.encrypted)!;
      session.stop(
        problem(
          'read-error',
          '',
          `${members.filter((member) => member.encrypted).length} entries are encrypted (7z AES, e.g. ${entryLabel(first.path)}) and the set has no snapshots.passwordFile to read them`,
        ),
      );
      return session.finish();
    }
    await extract(session, copy.file, members, options, input);
  } finally {
    await copy.release();
  }
  return session.finish();
}

/** Streams every member's bytes out of 7-Zip and visits the admitted entries. */
async function extract(
  session: ReadSession,
  file: string,
  members: readonly SevenZipMember[],
  options: { env: NodeJS.ProcessEnv; stdin: string },
  input: ArchiveInput,
): Promise<void> {
  const stream = toolOutput('7z', ['x', '-so', '-sccUTF-8', '-bd', '--', file], options);
  stream.on('error', () => {}); // read through the cursor, which reports it
  const abort = () => stream.destroy(new Error('read aborted'));
  if (input.signal?.aborted) abort();
  input.signal?.addEventListener('abort', abort, { once: true });
  const cursor = new StreamCursor(stream);
  const archiveSize = Math.max(input.size, 1);
  let current: SevenZipMember | null = null;
  try {
    for (const member of members) {
      // Checked per member too: an abort must stop the read even when 7-Zip's output is already buffered.
      if (input.signal?.aborted) throw new Error('read aborted');
      current = member;
      const carriesData = member.type !== 'directory' && member.size > 0;
      const hasBody = member.type === 'file';
      if (carriesData && session.ratioExceeded(cursor.taken + member.size, archiveSize)) {
        session.stop(
          problem(
            'read-error',
            member.path,
            `archive expands more than ${session.limits.maxRatio}× (${cursor.taken + member.size} bytes from ${input.size} bytes); stopped at ${entryLabel(member.path)}`,
          ),
        );
        return;
      }
      const header: EntryHeader = {
        rawName: member.path,
        type: member.type,
        size: member.type === 'symlink' ? 0 : member.size,
        ...(member.mode !== undefined ? { mode: member.mode } : {}),
        ...(member.mtime ? { mtime: member.mtime } : {}),
      };
      if (member.type === 'symlink') {
        if (member.size > MAX_LINK_TARGET) {
          session.report(
            problem(
              'unsafe-entry',
              member.path,
              `${entryLabel(member.path)}: symlink target of ${member.size} bytes is over ${MAX_LINK_TARGET}; not read`,
            ),
          );
          for await (const _piece of cursor.take(member.size));
          continue;
        }
        const target = await cursor.read(member.size);
        checkCrc(member, target);
        header.linkTarget = target.toString('utf8');
      }
      const entry = session.admit(header);
      if (session.stopped) return;
      if (!entry || !hasBody) {
        if (member.type !== 'symlink' && carriesData) for await (const _piece of cursor.take(member.size));
        if (entry) await session.visit(entry);
        continue;
      }
      const body = Readable.from(checkedBytes(member, cursor.take(member.size)), {
        objectMode: false,
        highWaterMark: 256 * 1024,
      });
      let failure: { error: Error } | null = null;
      body.on('error', (error) => (failure ??= { error }));
      // An abandoned body is drained to its end, so the next member starts where it should.
      await session.visit(entry, { stream: body, abandon: 'drain', sourceErrors: 'archive' });
      const failed = failure as { error: Error } | null;
      if (failed) throw failed.error;
    }
    current = null;
    if (!(await cursor.atEnd()))
      session.stop(
        problem(
          'read-error',
          '',
          `7-Zip wrote more bytes than ${input.name}'s listing declares; the archive is inconsistent`,
        ),
      );
  } catch (error) {
    const at = current;
    const detail = at ? `${entryLabel(at.path)}: ${toolMessage(error)}` : toolMessage(error);
    session.stop(
      problem(
        'read-error',
        at?.path ?? '',
        /wrong password/i.test(detail) ? `${detail} (check snapshots.passwordFile)` : detail,
      ),
    );
  } finally {
    input.signal?.removeEventListener('abort', abort);
    await cursor.close();
    stream.destroy();
  }
}

function checkCrc(member: SevenZipMember, bytes: Buffer): void {
  if (member.crc !== undefined && crc32(bytes) >>> 0 !== member.crc) {
    throw new Error(
      `CRC-32 mismatch (listed ${member.crc.toString(16).padStart(8, '0')}): 7-Zip's output does not match its listing`,
    );
  }
}

/** Passes a member's bytes on and fails at its end when their CRC-32 is not the listed one. */
async function* checkedBytes(member: SevenZipMember, pieces: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  let crc = 0;
  for await (const piece of pieces) {
    crc = crc32(piece, crc);
    yield piece;
  }
  if (member.crc !== undefined && crc >>> 0 !== member.crc) {
    throw new Error(
      `CRC-32 mismatch (listed ${member.crc.toString(16).padStart(8, '0')}, read ${(crc >>> 0).toString(16).padStart(8, '0')})`,
    );
  }
}

/** `.7z` through 7-Zip. */
export const sevenZipReader: EntryReader = {
  format: '7z',
  read: readSevenZip,
};
