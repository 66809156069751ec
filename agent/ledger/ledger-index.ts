/**
 * An in-memory index of the ledger for the web console: per stored record its segment, byte
 * offset and length, seq, kind, set and snapshot, in compact columns (about 40 bytes a record).
 * It lets the evidence page count, filter and page through a ledger of millions of records and
 * read only the records it shows, and finds the records of one snapshot without a full replay.
 *
 * The ledger is append-only, so the index follows it incrementally: when only the last segment
 * grew (or new segments appeared) and the last indexed line is still where it was, just the new
 * bytes are read. Anything else — a segment that shrank, was replaced or edited in place — is
 * rebuilt from scratch, so an edited ledger is shown as it is now stored. A torn last line (a
 * crash mid-append) is not indexed until it is complete.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { parseRecordLine, type LedgerRecord } from './ledger-record.js';
import { readSegmentLines } from './segment-lines.js';
import { segmentFiles } from './ledger-store.js';

/** Which records to show. Unset fields match everything. */
export interface LedgerFilter {
  set?: string | undefined;
  kind?: string | undefined;
  snapshot?: string | undefined;
}

/** One stored record as read back. */
export interface StoredRecord {
  /** 0-based position in stored order. */
  position: number;
  seq: number;
  segment: string;
  /** The line as stored (what an auditor downloads). */
  raw: string;
  /** The parsed record, or null when the line is not a JSON record. */
  record: LedgerRecord | null;
}

/** The index of one state directory's ledger. */
export interface LedgerIndex {
  /** Brings the index up to date with the ledger on disk (cheap when nothing changed). */
  refresh(): Promise<void>;
  /** Records indexed. */
  size(): number;
  /** Set names and record kinds that occur, sorted. */
  sets(): string[];
  kinds(): string[];
  /** Records matching `filter`. */
  count(filter: LedgerFilter): number;
  /** Matching records newest first, skipping `offset`, at most `limit`. */
  page(filter: LedgerFilter, offset: number, limit: number): Promise<StoredRecord[]>;
  /** How many matching records are newer than the (first stored) record with `seq`; null when it does not match or is not stored. */
  newerThan(seq: number, filter: LedgerFilter): number | null;
  /** Every matching record, oldest first. */
  all(filter: LedgerFilter): Promise<StoredRecord[]>;
  /** The record stored at `position`, or null past the end. */
  at(position: number): Promise<StoredRecord | null>;
}

/** Growable columns of numbers. */
class Columns {
  length = 0;
  segment = new Uint16Array(1024);
  offset = new Float64Array(1024);
  bytes = new Uint32Array(1024);
  seq = new Float64Array(1024);
  kind = new Uint16Array(1024);
  set = new Uint32Array(1024);
  snapshot = new Uint32Array(1024);

  push(
    segment: number,
    offset: number,
    bytes: number,
    seq: number,
    kind: number,
    set: number,
    snapshot: number,
  ): void {
    if (this.length === this.seq.length) this.grow();
    const i = this.length++;
    this.segment[i] = segment;
    this.offset[i] = offset;
    this.bytes[i] = bytes;
    this.seq[i] = seq;
    this.kind[i] = kind;
    this.set[i] = set;
    this.snapshot[i] = snapshot;
  }

  private grow(): void {
    const size = this.seq.length * 2;
    const copy = <T extends Uint16Array | Uint32Array | Float64Array>(from: T, make: (n: number) => T): T => {
      const to = make(size);
      to.set(from);
      return to;
    };
    this.segment = copy(this.segment, (n) => new Uint16Array(n));
    this.offset = copy(this.offset, (n) => new Float64Array(n));
    this.bytes = copy(this.bytes, (n) => new Uint32Array(n));
    this.seq = copy(this.seq, (n) => new Float64Array(n));
    this.kind = copy(this.kind, (n) => new Uint16Array(n));
    this.set = copy(this.set, (n) => new Uint32Array(n));
    this.snapshot = copy(this.snapshot, (n) => new Uint32Array(n));
  }
}

/** Strings stored once, numbered from 1 (0 means none). */
class Interned {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [''];

  id(value: unknown): number {
    if (typeof value !== 'string') return 0;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(value, id);
      this.values.push(value);
    }
    return id;
  }

  find(value: string): number | undefined {
    return this.ids.get(value);
  }
}

interface SegmentState {
  file: string;
  size: number;
  mtimeMs: number;
  /** Bytes up to the end of the last complete line. */
  indexed: number;
}

const NEWLINE = 0x0a;

class Index implements LedgerIndex {
  private columns = new Columns();
  private kindNames = new Interned();
  private setNames = new Interned();
  private snapshotNames = new Interned();
  private segments: SegmentState[] = [];
  private lastLine: { segment: number; offset: number; raw: string } | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly stateDir: string) {}

  refresh(): Promise<void> {
    // One refresh at a time; callers arriving meanwhile wait for it and then look again.
    const run = async () => {
      await this.catchUp();
    };
    const next = (this.refreshing ?? Promise.resolve()).then(run, run);
    this.refreshing = next.finally(() => {
      if (this.refreshing === next) this.refreshing = null;
    });
    return next;
  }

  private reset(): void {
    this.columns = new Columns();
    this.kindNames = new Interned();
    this.setNames = new Interned();
    this.snapshotNames = new Interned();
    this.segments = [];
    this.lastLine = null;
  }

  private async lastLineStillThere(): Promise<boolean> {
    if (!this.lastLine) return true;
    const segment = this.segments[this.lastLine.segment];
    if (!segment) return false;
    const expected = Buffer.from(this.lastLine.raw, 'utf8');
    let handle: FileHandle | null = null;
    try {
      handle = await open(segment.file, 'r');
      const actual = Buffer.alloc(expected.length + 1);
      const { bytesRead } = await handle.read(actual, 0, actual.length, this.lastLine.offset);
      return (
        bytesRead === actual.length &&
        actual[expected.length] === NEWLINE &&
        actual.subarray(0, expected.length).equals(expected)
      );
    } catch {
      return false;
    } finally {
      await handle?.close();
    }
  }

  private async catchUp(): Promise<void> {
    const files = await segmentFiles(this.stateDir);
    const stats = await Promise.all(
      files.map(async (file) => ({
        file,
        ...(await stat(file).then((s) => ({ size: s.size, mtimeMs: s.mtimeMs }))),
      })),
    );
    let appendOnly = this.segments.length <= stats.length;
    for (let i = 0; appendOnly && i < this.segments.length; i++) {
      const known = this.segments[i]!;
      const now = stats[i]!;
      const last = i === this.segments.length - 1;
      if (known.file !== now.file) appendOnly = false;
      else if (!last && (known.size !== now.size || known.mtimeMs !== now.mtimeMs)) appendOnly = false;
      else if (last && (now.size < known.size || (now.size === known.size && now.mtimeMs !== known.mtimeMs)))
        appendOnly = false;
    }
    if (appendOnly && !(await this.lastLineStillThere())) appendOnly = false;
    if (!appendOnly) this.reset();
    for (let i = 0; i < stats.length; i++) {
      const now = stats[i]!;
      const known = this.segments[i];
      if (known && known.size === now.size && known.mtimeMs === now.mtimeMs) continue;
      const state = known ?? { file: now.file, size: 0, mtimeMs: 0, indexed: 0 };
      if (!known) this.segments.push(state);
      await this.readSegment(i, state, now.size);
      state.size = now.size;
      state.mtimeMs = now.mtimeMs;
    }
  }

  /**
   * Indexes the lines added since the last read, in time linear in their length: each chunk is
   * searched once, and a line over the record limit is indexed as malformed without being kept.
   */
  private async readSegment(segmentNumber: number, state: SegmentState, size: number): Promise<void> {
    if (size <= state.indexed) return;
    let indexed = state.indexed;
    for await (const line of readSegmentLines(state.file, state.indexed, size)) {
      if (!line.terminated) break;
      if (line.length > 0)
        this.add(
          segmentNumber,
          line.offset,
          line.bytes === null ? null : line.bytes.toString('utf8'),
          line.length,
        );
      indexed = line.offset + line.length + 1;
    }
    state.indexed = indexed;
  }

  /** Indexes one line; `raw` is null for a line over the record limit (`bytes` long). */
  private add(segment: number, offset: number, raw: string | null, bytes: number): void {
    const record = raw === null ? null : parseRecordLine(raw);
    const data =
      record && typeof record.data === 'object' && record.data !== null
        ? (record.data as { set?: unknown; snapshot?: unknown })
        : {};
    this.columns.push(
      segment,
      offset,
      bytes,
      typeof record?.seq === 'number' ? record.seq : Number.NaN,
      this.kindNames.id(record ? String(record.type) : 'malformed'),
      this.setNames.id(data.set),
      this.snapshotNames.id(data.snapshot),
    );
    this.lastLine = { segment, offset, raw: raw ?? `(a line of ${bytes} bytes, over the record limit)` };
  }

  size(): number {
    return this.columns.length;
  }

  sets(): string[] {
    return this.setNames.values.slice(1).sort();
  }

  kinds(): string[] {
    return this.kindNames.values.slice(1).sort();
  }

  /** A predicate over positions, or null when the filter names something never recorded (nothing matches). */
  private matcher(filter: LedgerFilter): ((position: number) => boolean) | null {
    const want = (names: Interned, value: string | undefined) =>
      value === undefined || value === '' ? 0 : (names.find(value) ?? -1);
    const set = want(this.setNames, filter.set);
    const kind = want(this.kindNames, filter.kind);
    const snapshot = want(this.snapshotNames, filter.snapshot);
    if (set < 0 || kind < 0 || snapshot < 0) return null;
    const c = this.columns;
    return (i) =>
      (set === 0 || c.set[i] === set) &&
      (kind === 0 || c.kind[i] === kind) &&
      (snapshot === 0 || c.snapshot[i] === snapshot);
  }

  count(filter: LedgerFilter): number {
    const match = this.matcher(filter);
    if (!match) return 0;
    let n = 0;
    for (let i = 0; i < this.columns.length; i++) if (match(i)) n++;
    return n;
  }

  newerThan(seq: number, filter: LedgerFilter): number | null {
    const match = this.matcher(filter);
    if (!match) return null;
    // When a seq repeats (a replayed record), the first stored one counts.
    let first = -1;
    for (let i = 0; i < this.columns.length; i++) {
      if (this.columns.seq[i] === seq && match(i)) {
        first = i;
        break;
      }
    }
    if (first < 0) return null;
    let newer = 0;
    for (let i = this.columns.length - 1; i > first; i--) if (match(i)) newer++;
    return newer;
  }

  async page(filter: LedgerFilter, offset: number, limit: number): Promise<StoredRecord[]> {
    const match = this.matcher(filter);
    if (!match) return [];
    const positions: number[] = [];
    let skipped = 0;
    for (let i = this.columns.length - 1; i >= 0 && positions.length < limit; i--) {
      if (!match(i)) continue;
      if (skipped < offset) skipped++;
      else positions.push(i);
    }
    return this.read(positions);
  }

  async all(filter: LedgerFilter): Promise<StoredRecord[]> {
    const match = this.matcher(filter);
    if (!match) return [];
    const positions: number[] = [];
    for (let i = 0; i < this.columns.length; i++) if (match(i)) positions.push(i);
    return this.read(positions);
  }

  async at(position: number): Promise<StoredRecord | null> {
    if (!Number.isInteger(position) || position < 0 || position >= this.columns.length) return null;
    return (await this.read([position]))[0] ?? null;
  }

  private async read(positions: readonly number[]): Promise<StoredRecord[]> {
    const handles = new Map<number, FileHandle>();
    try {
      const out: StoredRecord[] = [];
      for (const position of positions) {
        const segment = this.columns.segment[position]!;
        let handle = handles.get(segment);
        if (!handle) {
          handle = await open(this.segments[segment]!.file, 'r');
          handles.set(segment, handle);
        }
        const buffer = Buffer.alloc(this.columns.bytes[position]!);
        await handle.read(buffer, 0, buffer.length, this.columns.offset[position]);
        const raw = buffer.toString('utf8');
        out.push({
          position,
          seq: this.columns.seq[position]!,
          segment: path.basename(this.segments[segment]!.file),
          raw,
          record: parseRecordLine(raw),
        });
      }
      return out;
    } finally {
      await Promise.all([...handles.values()].map((handle) => handle.close()));
    }
  }
}

const indexes = new Map<string, Index>();

/** The (shared, lazily built) index of `stateDir`'s ledger; call `refresh()` before reading it. */
export function ledgerIndex(stateDir: string): LedgerIndex {
  let index = indexes.get(stateDir);
  if (!index) indexes.set(stateDir, (index = new Index(stateDir)));
  return index;
}
