/**
 * Puts a snapshot's entries in path order with bounded memory — an external merge sort. Entries
 * stay in memory up to `runEntries`; past that, each full buffer is sorted and written to a
 * temporary run file (gzip NDJSON in `dir`), and `sorted()` merges the runs with a read window
 * per run in memory. A snapshot of a million entries costs runs on disk, not a million objects
 * in memory; a small one never touches the disk.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { describeError } from '../errors.js';
import type { ManifestEntry } from '../model/manifest.js';
import { comparePaths } from '../integrity/path-order.js';

/**
 * Entries held in memory before a run is written (≈ 5 MB of lines with detection's measurements).
 * Runs read back in windows of up to 64 KiB, so more of them cost little and this is sized for
 * memory: 20,000 put a whole-`/usr` scan's peak ~14 MiB higher for no speed.
 */
export const RUN_ENTRIES = 8_000;

/**
 * Lines per piece a run is written in: a run goes to its gzip stream a few dozen KiB at a time, so
 * writing it never holds the whole run again as one string and one buffer (~3 MB each for 8,000
 * entries with detection's measurements).
 */
const LINES_PER_PIECE = 128;

/**
 * Bytes of run files read (and inflated) at once during the merge, shared by the runs: each
 * reads a window of this over the number of runs, between RUN_READ_MIN_BYTES and
 * RUN_READ_MAX_BYTES. Each window is held about three times (the read, the inflated text, its
 * lines), so the budget is small: 4 MiB made a 25-run archive scan ~35 MB larger and slower.
 */
const RUN_READ_BUDGET = 2 ** 20;
const RUN_READ_MIN_BYTES = 16 * 1024;
const RUN_READ_MAX_BYTES = 64 * 1024;

/** A sorted run's lines, LINES_PER_PIECE per piece. */
function* runPieces(held: Held[]): Generator<string> {
  for (let start = 0; start < held.length; start += LINES_PER_PIECE) {
    let piece = '';
    for (const [, line] of held.slice(start, start + LINES_PER_PIECE)) piece += `${line}\n`;
    yield piece;
  }
}

/** An entry held in memory: its path and its JSON line (compact: two strings, no object graph). */
type Held = [path: string, line: string];

const byPath = (a: Held, b: Held) => comparePaths(a[0], b[0]);

/** Reads one run file back in order, `windowBytes` of the file (and of its text) at a time. */
async function* readRun(file: string, windowBytes: number): AsyncGenerator<ManifestEntry[]> {
  const gunzip = createGunzip({ chunkSize: windowBytes });
  // `pipe` does not forward a read error: the merge would wait forever instead of failing.
  const source = createReadStream(file, { highWaterMark: windowBytes }).on('error', (error) =>
    gunzip.destroy(error),
  );
  const text = source.pipe(gunzip).setEncoding('utf8');
  let partial = '';
  try {
    for await (const piece of text as AsyncIterable<string>) {
      const lines = (partial + piece).split('\n');
      partial = lines.pop()!;
      const entries: ManifestEntry[] = [];
      for (const line of lines) if (line) entries.push(JSON.parse(line) as ManifestEntry);
      if (entries.length > 0) yield entries;
    }
    if (partial) yield [JSON.parse(partial) as ManifestEntry];
  } catch (error) {
    throw new Error(`cannot read back the scan's entry spool ${file}: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/** Entries of the in-memory run parsed at a time when it is merged. */
const PARSE_SLICE = 512;

/** A min-heap of run heads, ordered by path (ties by run number, so the merge is stable). */
class RunHeap {
  private readonly items: { entry: ManifestEntry; run: number }[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: { entry: ManifestEntry; run: number }): void {
    const items = this.items;
    items.push(item);
    for (let child = items.length - 1; child > 0;) {
      const parent = (child - 1) >> 1;
      if (this.less(items[parent]!, items[child]!)) break;
      [items[parent], items[child]] = [items[child]!, items[parent]!];
      child = parent;
    }
  }

  pop(): { entry: ManifestEntry; run: number } {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      for (let parent = 0; ;) {
        const left = 2 * parent + 1;
        const right = left + 1;
        let smallest = parent;
        if (left < items.length && this.less(items[left]!, items[smallest]!)) smallest = left;
        if (right < items.length && this.less(items[right]!, items[smallest]!)) smallest = right;
        if (smallest === parent) break;
        [items[parent], items[smallest]] = [items[smallest]!, items[parent]!];
        parent = smallest;
      }
    }
    return top;
  }

  private less(a: { entry: ManifestEntry; run: number }, b: { entry: ManifestEntry; run: number }): boolean {
    const order = comparePaths(a.entry.path, b.entry.path);
    return order < 0 || (order === 0 && a.run < b.run);
  }
}

/** A snapshot's entries, to be read back in path order. */
export class EntrySpool {
  private buffer: Held[] = [];
  private readonly runs: string[] = [];
  private count = 0;
  private readonly dir: string;
  private writing: Promise<void> = Promise.resolve();

  /** Run files go in a fresh folder under `tempRoot` (removed by `dispose()`). */
  constructor(
    tempRoot: string,
    private readonly runEntries = RUN_ENTRIES,
  ) {
    this.dir = path.join(tempRoot, `spool-${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** Entries added. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds an entry (any order). Returns undefined when it only joined the run in memory, or, when it
   * filled the run, a promise that resolves once memory is back under the bound (the run before
   * is written). Synchronous in the common case: a read adds one entry per file, and a promise
   * per entry was measurable garbage on trees of small files.
   */
  add(entry: ManifestEntry): Promise<void> | undefined {
    this.buffer.push([entry.path, JSON.stringify(entry)]);
    this.count++;
    return this.buffer.length >= this.runEntries ? this.spill() : undefined;
  }

  /** Every entry in path order; may be called again (the runs stay until `dispose()`). */
  async *sorted(): AsyncGenerator<ManifestEntry> {
    for await (const batch of this.sortedBatches()) yield* batch;
  }

  /**
   * `sorted()` in batches (none empty, each in path order after the one before): one
   * asynchronous step per batch for a consumer that merges with other sorted streams.
   */
  async *sortedBatches(): AsyncGenerator<ManifestEntry[]> {
    await this.writing;
    this.buffer.sort(byPath);
    // The run in memory is parsed a slice at a time, as the runs on disk are read a window at a time.
    const inMemory = (async function* (held: Held[]) {
      for (let at = 0; at < held.length; at += PARSE_SLICE) {
        const slice = held.slice(at, at + PARSE_SLICE);
        yield slice.map(([, line]) => JSON.parse(line) as ManifestEntry);
      }
    })(this.buffer);
    if (this.runs.length === 0) {
      yield* inMemory;
      return;
    }
    const windowBytes = Math.max(
      RUN_READ_MIN_BYTES,
      Math.min(RUN_READ_MAX_BYTES, Math.floor(RUN_READ_BUDGET / this.runs.length)),
    );
    // Each run is consumed from the batch it last gave: an asynchronous step per window, not per entry.
    const cursors = [...this.runs.map((file) => readRun(file, windowBytes)), inMemory].map((source) => ({
      source,
      batch: [] as ManifestEntry[],
      at: 0,
    }));
    const take = async (cursor: (typeof cursors)[number]): Promise<ManifestEntry | undefined> => {
      while (cursor.at === cursor.batch.length) {
        const next = await cursor.source.next();
        if (next.done) return undefined;
        cursor.batch = next.value;
        cursor.at = 0;
      }
      return cursor.batch[cursor.at++];
    };
    const heap = new RunHeap();
    try {
      for (const [run, cursor] of cursors.entries()) {
        const first = await take(cursor);
        if (first) heap.push({ entry: first, run });
      }
      let out: ManifestEntry[] = [];
      while (heap.size > 0) {
        const head = heap.pop();
        out.push(head.entry);
        const cursor = cursors[head.run]!;
        // The common case, another entry in the batch at hand, takes no asynchronous step.
        let next: ManifestEntry | undefined;
        if (cursor.at < cursor.batch.length) next = cursor.batch[cursor.at++];
        else {
          // Before waiting on a run, what is merged so far goes out.
          if (out.length > 0) yield out;
          out = [];
          next = await take(cursor);
        }
        if (next) {
          head.entry = next;
          heap.push(head);
        }
        if (out.length >= PARSE_SLICE) {
          yield out;
          out = [];
        }
      }
      if (out.length > 0) yield out;
    } finally {
      await Promise.all(cursors.map(async ({ source }) => source.return(undefined)));
    }
  }

  /** Removes the run files (what cannot be removed is left to the next run's clean-up of the temporary folder). */
  async dispose(): Promise<void> {
    await this.writing.catch(() => undefined);
    this.buffer = [];
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  private async spill(): Promise<void> {
    const held = this.buffer.sort(byPath);
    this.buffer = [];
    const file = path.join(this.dir, `run-${String(this.runs.length).padStart(5, '0')}.ndjson.gz`);
    this.runs.push(file);
    const previous = this.writing;
    // One run is compressed while the next fills; wait for the one before so at most two exist in memory.
    const writing = (async () => {
      await previous;
      try {
        await mkdir(this.dir, { recursive: true });
        await pipeline(Readable.from(runPieces(held)), createGzip({ level: 1 }), createWriteStream(file));
      } catch (error) {
        throw new Error(`cannot write the scan's entry spool ${file}: ${describeError(error)}`, {
          cause: error,
        });
      }
    })();
    // Its failure is the next spill's, sorted()'s or dispose()'s to report; until one of them
    // awaits it, it must not count as unhandled (that ended the process: ENOSPC past 20,000 entries).
    writing.catch(() => undefined);
    this.writing = writing;
    await previous;
  }
}
