/**
 * pg_dump's custom format (`pg_dump -Fc`, archive versions 1.12–1.16): the header (PGDMP, version,
 * integer and offset sizes, format 1, compression, creation time, database and server versions),
 * the table of contents (every entry's strings, section, dependencies and data offset), then the
 * data blocks to the end of the file — each a block type, the dump id of a TOC entry, and
 * length-prefixed chunks; zlib-compressed blocks must inflate. Often the most important file of a
 * backup: a dump whose first 4 KiB were encrypted has no header, one a failed job cut short ends
 * inside a block, and one hit anywhere else breaks a length, a dump id or a zlib stream.
 */
import { inflateSync } from 'node:zlib';
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import {
  Damage,
  guardedValidator,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from './validator-kit.js';

const BLK_DATA = 1;
const BLK_BLOBS = 3;
/** Longest string a TOC entry holds that is taken seriously (definitions of huge functions fit). */
const MAX_STRING = 64 * 2 ** 20;
const MAX_TOC_ENTRIES = 10_000_000;

/** What the parser asks for next: `bytes` more bytes (handed over when `keep`, skipped otherwise). */
type Need = { bytes: number; keep: boolean };

class PgDumpWalk implements FormatWalk {
  private readonly parser: Generator<Need, void, Uint8Array>;
  private need: Need | null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Entry offset of the next byte the parser will be handed. */
  private position = 0;
  private ended = false;
  /** The parser waits for the next block's type byte: the file may end here. */
  private betweenBlocks = false;
  private blocks = 0;

  constructor(private readonly limits: ValidatorLimits) {
    this.parser = this.parse();
    this.need = this.parser.next().value ?? null;
  }

  update(chunk: Uint8Array): void {
    let data = chunk;
    while (data.length > 0) {
      if (!this.need) throw new Damage('data after the end of the dump', this.position);
      if (!this.need.keep) {
        const skip = Math.min(this.need.bytes, data.length);
        this.need.bytes -= skip;
        this.position += skip;
        data = data.subarray(skip);
        if (this.need.bytes === 0) this.advance(new Uint8Array(0));
        continue;
      }
      const take = Math.min(this.need.bytes - this.pendingBytes, data.length);
      this.pending.push(data.slice(0, take));
      this.pendingBytes += take;
      data = data.subarray(take);
      if (this.pendingBytes === this.need.bytes) {
        const bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
        this.pending = [];
        this.pendingBytes = 0;
        this.position += bytes.length;
        this.advance(bytes);
      }
    }
  }

  finish(): StructureVerdict {
    if (!this.ended && !(this.betweenBlocks && this.pendingBytes === 0))
      throw new Damage(
        this.blocks === 0
          ? 'dump ends inside its header or table of contents'
          : `dump ends inside data block ${this.blocks}`,
        this.position + this.pendingBytes,
      );
    return { status: 'valid', checkedBytes: this.position, parts: this.blocks };
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.position, { parts: this.blocks });
  }

  private advance(bytes: Uint8Array): void {
    const next = this.parser.next(bytes);
    this.need = next.done ? null : next.value;
    if (next.done) this.ended = true;
  }

  /** The format, as a parser that yields what it needs and receives the bytes. */
  private *parse(): Generator<Need, void, Uint8Array> {
    const take = function* (bytes: number): Generator<Need, Uint8Array, Uint8Array> {
      return bytes === 0 ? new Uint8Array(0) : yield { bytes, keep: true };
    };
    const head = yield* take(11);
    if (Buffer.from(head.subarray(0, 5)).toString('latin1') !== 'PGDMP')
      throw new Damage('no PGDMP magic', 0);
    const [major, minor] = [head[5]!, head[6]!];
    const intSize = head[8]!;
    const offSize = head[9]!;
    if (major !== 1 || minor < 12 || minor > 16)
      throw new Unsupported(`pg_dump archive version ${major}.${minor} is not checked`);
    if (intSize < 1 || intSize > 8 || offSize < 1 || offSize > 8)
      throw new Damage(`dump declares ${intSize}-byte integers and ${offSize}-byte offsets`, 8);
    if (head[10] !== 1) throw new Unsupported(`pg_dump archive format ${head[10]} is not the custom format`);
    let at = 11;
    const int = function* (what: string): Generator<Need, number, Uint8Array> {
      const bytes = yield* take(1 + intSize);
      const start = at;
      at += bytes.length;
      if (bytes[0]! > 1) throw new Damage(`${what}: integer sign byte is ${bytes[0]}`, start);
      let value = 0;
      for (let i = intSize; i >= 1; i--) value = value * 256 + bytes[i]!;
      return bytes[0] ? -value : value;
    };
    const string = function* (what: string): Generator<Need, void, Uint8Array> {
      const length = yield* int(`${what} length`);
      if (length < -1 || length > MAX_STRING)
        throw new Damage(`${what}: string length ${length}`, at - intSize - 1);
      if (length > 0) {
        yield { bytes: length, keep: false };
        at += length;
      }
    };
    // Compression: an algorithm byte from 1.15 on, a zlib level before.
    let zlib: boolean;
    if (minor >= 15) {
      const [algorithm] = yield* take(1);
      at += 1;
      if (algorithm! > 3) throw new Damage(`unknown compression algorithm ${algorithm}`, at - 1);
      zlib = algorithm === 1;
    } else {
      const level = yield* int('compression level');
      if (level < -1 || level > 9) throw new Damage(`compression level ${level}`, at - intSize - 1);
      zlib = level !== 0;
    }
    for (const field of ['seconds', 'minutes', 'hours', 'day', 'month', 'year', 'dst'])
      yield* int(`creation time (${field})`);
    for (const field of ['database name', 'server version', 'pg_dump version']) yield* string(field);
    const entries = yield* int('TOC entry count');
    if (entries < 0 || entries > MAX_TOC_ENTRIES)
      throw new Damage(`TOC entry count ${entries}`, at - intSize - 1);
    const withData = new Set<number>();
    for (let entry = 1; entry <= entries; entry++) {
      const entryAt = at;
      const dumpId = yield* int(`TOC entry ${entry} dump id`);
      if (dumpId <= 0) throw new Damage(`TOC entry ${entry}: dump id ${dumpId}`, entryAt);
      const hasData = yield* int(`TOC entry ${entry} data flag`);
      for (const field of ['table oid', 'oid', 'tag', 'description'])
        yield* string(`TOC entry ${entry} ${field}`);
      const section = yield* int(`TOC entry ${entry} section`);
      if (section < 1 || section > 4)
        throw new Damage(`TOC entry ${entry}: section ${section}`, at - intSize - 1);
      for (const field of ['definition', 'drop statement', 'copy statement', 'namespace', 'tablespace'])
        yield* string(`TOC entry ${entry} ${field}`);
      if (minor >= 14) yield* string(`TOC entry ${entry} table access method`);
      if (minor >= 16) yield* int(`TOC entry ${entry} relkind`);
      yield* string(`TOC entry ${entry} owner`);
      yield* string(`TOC entry ${entry} with-oids flag`);
      for (let dependency = 0; ; dependency++) {
        const length = yield* int(`TOC entry ${entry} dependency`);
        if (length === -1) break;
        if (length < 0 || length > 32 || dependency > 1_000_000)
          throw new Damage(`TOC entry ${entry}: dependency string length ${length}`, at - intSize - 1);
        yield { bytes: length, keep: false };
        at += length;
      }
      // The custom format's data pointer: a state byte (offset not set, set, no data), then the offset.
      const pointer = yield* take(1 + offSize);
      at += pointer.length;
      if (pointer[0]! < 1 || pointer[0]! > 3)
        throw new Damage(`TOC entry ${entry}: data pointer state ${pointer[0]}`, at - pointer.length);
      if (hasData) withData.add(dumpId);
    }
    // Data blocks, to the end of the file.
    for (;;) {
      this.betweenBlocks = true;
      const type = yield { bytes: 1, keep: true };
      this.betweenBlocks = false;
      const blockAt = at;
      at += 1;
      this.blocks++;
      if (type[0] !== BLK_DATA && type[0] !== BLK_BLOBS)
        throw new Damage(`data block ${this.blocks}: type ${type[0]}`, blockAt);
      const dumpId = yield* int(`data block ${this.blocks} dump id`);
      if (!withData.has(dumpId))
        throw new Damage(
          `data block ${this.blocks}: dump id ${dumpId} has no data in the table of contents`,
          blockAt,
        );
      const streams = type[0] === BLK_BLOBS ? Infinity : 1;
      for (let stream = 0; stream < streams; stream++) {
        if (type[0] === BLK_BLOBS) {
          const oid = yield* int(`data block ${this.blocks} large object oid`);
          if (oid === 0) break;
        }
        const compressed: Uint8Array[] = [];
        let held = 0;
        const streamAt = at;
        for (;;) {
          const length = yield* int(`data block ${this.blocks} chunk length`);
          if (length === 0) break;
          if (length < 0 || length > 2 ** 31)
            throw new Damage(`data block ${this.blocks}: chunk length ${length}`, at - intSize - 1);
          const keep = zlib && held + length <= this.limits.maxDecodeBytes;
          if (keep) {
            compressed.push(yield* take(length));
            held += length;
          } else {
            yield { bytes: length, keep: false };
            held = Infinity;
          }
          at += length;
        }
        if (zlib && held !== Infinity && held > 0) {
          try {
            inflateSync(Buffer.concat(compressed), { maxOutputLength: this.limits.maxOutputBytes });
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'ERR_BUFFER_TOO_LARGE' || (error as RangeError).name === 'RangeError') continue;
            // Inflated to its end with a wrong Adler-32: damage inside this block, the framing holds.
            const localized =
              code === 'Z_DATA_ERROR' && /incorrect data check/.test((error as Error).message)
                ? { localized: { damagedBytes: held } }
                : {};
            throw new Damage(
              `data block ${this.blocks} does not inflate: ${(error as Error).message}`,
              streamAt,
              { cause: error, ...localized },
            );
          }
        }
      }
    }
  }
}

/** pg_dump custom format: PGDMP, archive major version 1. */
export const pgDumpValidator: ValidatorDefinition = {
  type: 'pg-dump',
  matches: (head) =>
    head.length >= 11 && Buffer.from(head.subarray(0, 5)).toString('latin1') === 'PGDMP' && head[5] === 1,
  create: (_size: number, limits: ValidatorLimits): StructureValidator =>
    guardedValidator(new PgDumpWalk(limits)),
};
