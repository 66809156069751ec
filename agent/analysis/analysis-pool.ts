/**
 * Runs entry analyses (digests, content features) in worker threads, so reading and
 * decompressing on the main thread overlap with hashing on the other cores.
 *
 * Bytes cross to a worker through a fixed ring of shared-memory slots per worker: the main thread
 * copies each chunk into a free slot (coalescing small chunks), the worker consumes it and frees
 * it. Memory is therefore constant — RING_SLOTS × SLOT_BYTES per worker — whatever the entry
 * size; when every slot is in use, `update()` waits (back-pressure reaches the reader).
 * Transferring the chunks' own buffers instead was measured: it leaves freed chunks to a worker
 * heap that rarely collects and tripled peak RSS.
 *
 * Small entries (at most one slot) are not streamed: the caller hands over a whole entry, and
 * every whole entry queued in one turn of the event loop is packed into one slot and posted as one
 * `batch` message, answered by one message — two messages per batch instead of five per entry,
 * and the main thread keeps only the reading.
 *
 * Small local files do not even cross as bytes: `analyzeFile` posts only their paths (a recipe,
 * local-file.ts), and the worker opens, checks, reads and analyses them — one message each way
 * per batch of files, no file-system call for them on the main thread.
 *
 * Workers start on first use, hold no event-loop reference while idle (a CLI run exits on its
 * own), and a worker that dies fails its entries with an error instead of hanging them.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { LocalFile } from '../fs/local-file.js';
import type { BatchItem, FileItem, WorkerMessageIn, WorkerMessageOut } from './analysis-protocol.js';
import type { AnalysisRequest, AnalysisResult } from './entry-analysis.js';
import { workerEntry } from '../worker-entry.js';
import { reassertCompactHeap } from '../tools/heap-growth.js';

const SLOT_BYTES = 2 ** 20;
/**
 * Young generation of each worker's heap. V8's default (up to 3 × 16 MiB per isolate) lets the
 * short-lived garbage of thousands of small analyses pile up to tens of MiB per thread before a
 * scavenge; 4 MiB measured peak RSS down by ~60 MiB on the 36k-file /usr tree (issue 13) for a
 * few per cent more CPU in the workers.
 */
export const WORKER_YOUNG_GENERATION_MB = 4;
const RING_SLOTS = 8;

/** The largest entry `analyzeWhole` takes: one slot. */
export const WHOLE_MAX_BYTES = SLOT_BYTES;

/** A whole small entry waiting to be packed into a batch. */
interface WholeEntry {
  request: AnalysisRequest;
  bytes: Uint8Array;
  resolve: (result: AnalysisResult) => void;
  reject: (error: Error) => void;
}

/** One entry's analysis running in a worker. */
export interface PooledAnalysis {
  /** Copies the chunk to the worker; resolves (or returns) once the caller may pass the next one. */
  update(chunk: Uint8Array): Promise<void> | void;
  /** The result once the worker has seen every byte. */
  finish(): Promise<AnalysisResult>;
  /** Abandons the analysis (its stream failed); the worker drops it. */
  cancel(): void;
}

/** A local file waiting to be posted in a `files` message. */
interface QueuedFile {
  request: AnalysisRequest;
  file: LocalFile;
  resolve: (result: AnalysisResult | null) => void;
  reject: (error: unknown) => void;
  /** The read's stop request: a file still queued when it fires is dropped, never read. */
  signal?: AbortSignal;
}

/** Files per `files` message, at most. */
export const FILES_PER_MESSAGE = 32;
/**
 * Files posted to one worker and not yet answered, at most: a worker answers a whole message at
 * once, so it needs more messages queued behind the one it works on, or it idles for the main
 * thread's round trip (answer, bookkeeping, next post) after every message — measured as the
 * scan's idle time on a tree of small files (issue 13). Three messages' worth keeps it busy
 * through the main thread's longer turns (a spool spill, a listing batch).
 */
export const FILES_AHEAD_PER_WORKER = 3 * FILES_PER_MESSAGE;
/**
 * Bytes of local files (their reserved `maxBytes`) posted to one worker and not yet answered, at
 * most — except that a worker with none out may take one file of any size the source hands out
 * (fs-source.ts: WORKER_READ_MAX_BYTES). A worker reads its files one after another and answers
 * them together, so this bounds how long a stop request waits for the files already handed to a
 * worker (about a second of SHA-256 and detection per worker), and spreads large files over the
 * workers instead of queueing several behind one. Small files count 1 MiB each (a whole read), so
 * FILES_AHEAD_PER_WORKER of them fit.
 */
export const FILE_BYTES_AHEAD_PER_WORKER = 256 * 2 ** 20;

interface Pending {
  resolve: (result: AnalysisResult) => void;
  /**
   * A local file's `fallback` outcome (the worker could not read it cleanly): called with null,
   * for the caller to read the file through the source (the file's own resolve, no closure).
   */
  fallback?: (result: null) => void;
  /** A local file's reserved bytes, counted in its worker's `fileBytesOut`. */
  bytes?: number;
  reject: (error: Error) => void;
}

class PoolWorker {
  readonly worker: Worker;
  readonly ring: Uint8Array;
  readonly free: number[] = Array.from({ length: RING_SLOTS }, (_, slot) => slot);
  readonly waiting: (() => void)[] = [];
  readonly pending = new Map<number, Pending>();
  /** Entries started and not yet finished or cancelled. */
  active = 0;
  /** Local files posted in `files` messages and not yet answered. */
  filesOut = 0;
  /** Reserved bytes of the local files out (FILE_BYTES_AHEAD_PER_WORKER). */
  fileBytesOut = 0;
  dead: Error | null = null;

  constructor(
    onDeath: (worker: PoolWorker) => void,
    private readonly onFilesAnswered: () => void,
  ) {
    const shared = new SharedArrayBuffer(SLOT_BYTES * RING_SLOTS);
    this.ring = new Uint8Array(shared);
    const [entry, options] = workerEntry('analysis-worker', import.meta.url);
    this.worker = new Worker(entry, {
      ...options,
      workerData: { ring: shared, slotBytes: SLOT_BYTES },
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    // A new isolate resets V8's young-generation growth factor (heap-growth.ts).
    this.worker.once('online', reassertCompactHeap);
    this.worker.on('message', (message: WorkerMessageOut) => this.receive(message));
    this.worker.on('error', (error) => this.die(error, onDeath));
    this.worker.on('exit', (code) =>
      this.die(new Error(`analysis worker exited with code ${code}`), onDeath),
    );
    // After the listeners: adding a 'message' listener refs the worker's port again.
    this.worker.unref();
  }

  /** A free slot, waiting for one if all are in use. */
  async slot(): Promise<number> {
    while (this.free.length === 0) {
      if (this.dead) throw this.dead;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    if (this.dead) throw this.dead;
    return this.free.pop()!;
  }

  post(message: WorkerMessageIn): void {
    if (this.dead) throw this.dead;
    this.worker.postMessage(message);
  }

  begin(): void {
    if (this.active++ === 0) this.worker.ref();
  }

  end(): void {
    if (--this.active === 0) this.worker.unref();
  }

  private receive(message: WorkerMessageOut): void {
    if (message.type === 'free') {
      this.free.push(message.slot);
      this.waiting.shift()?.();
      return;
    }
    if (message.type === 'batch') {
      this.free.push(message.slot);
      this.waiting.shift()?.();
      for (const outcome of message.outcomes) {
        const pending = this.pending.get(outcome.id);
        if (!pending) continue;
        this.pending.delete(outcome.id);
        if ('result' in outcome) pending.resolve(outcome.result);
        else pending.reject(new Error(`entry analysis failed: ${outcome.message}`));
      }
      this.end();
      return;
    }
    if (message.type === 'files') {
      this.filesOut -= message.outcomes.length;
      for (const outcome of message.outcomes) {
        const pending = this.pending.get(outcome.id);
        if (!pending) continue;
        this.pending.delete(outcome.id);
        this.fileBytesOut -= pending.bytes ?? 0;
        if ('result' in outcome) pending.resolve(outcome.result);
        else if ('fallback' in outcome) pending.fallback?.(null);
        else pending.reject(new Error(`entry analysis failed: ${outcome.message}`));
      }
      this.end();
      this.onFilesAnswered();
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.type === 'result') pending.resolve(message.result);
    else pending.reject(new Error(`entry analysis failed: ${message.message}`));
  }

  private die(error: Error, onDeath: (worker: PoolWorker) => void): void {
    if (this.dead) return;
    this.dead = new Error(`analysis worker failed: ${error.message}`, { cause: error });
    for (const pending of this.pending.values()) pending.reject(this.dead);
    this.pending.clear();
    for (const wake of this.waiting.splice(0)) wake();
    onDeath(this);
  }
}

/** Workers shared by every scan in this process. */
export class AnalysisPool {
  private workers: PoolWorker[] = [];
  private nextId = 1;
  /** Whole entries not yet packed into a batch. */
  private queue: WholeEntry[] = [];
  private pumpScheduled = false;
  private pumping = false;
  /** Local files not yet posted (every worker has FILES_AHEAD_PER_WORKER out). */
  private files: QueuedFile[] = [];
  private filesScheduled = false;

  /** `size` workers; by default one per core (the main thread mostly waits on I/O). */
  constructor(private size = Math.max(1, Math.min(availableParallelism(), 8))) {}

  /**
   * Starts the pool's workers now (they idle, unreferenced, until entries come): their start-up
   * then overlaps the caller's discovery and listing instead of delaying the first entries.
   */
  warm(): void {
    while (this.workers.length < this.size) this.spawn();
  }

  /** Changes how many workers new entries may be spread over. */
  resize(size: number): void {
    this.size = Math.max(1, size);
  }

  /** Starts analysing one entry in the least busy worker. */
  analyze(request: AnalysisRequest): PooledAnalysis {
    const worker = this.pick();
    const id = this.nextId++;
    worker.begin();
    worker.post({ type: 'start', id, request });
    let filling: { slot: number; length: number } | null = null;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      worker.end();
    };
    const flush = () => {
      if (!filling) return;
      worker.post({ type: 'chunk', id, slot: filling.slot, length: filling.length });
      filling = null;
    };
    return {
      async update(chunk) {
        let offset = 0;
        while (offset < chunk.length) {
          filling ??= { slot: await worker.slot(), length: 0 };
          const take = Math.min(chunk.length - offset, SLOT_BYTES - filling.length);
          worker.ring.set(chunk.subarray(offset, offset + take), filling.slot * SLOT_BYTES + filling.length);
          filling.length += take;
          offset += take;
          if (filling.length === SLOT_BYTES) flush();
        }
      },
      finish() {
        return new Promise<AnalysisResult>((resolve, reject) => {
          try {
            flush();
            worker.pending.set(id, {
              resolve: (result) => (close(), resolve(result)),
              reject: (error) => (close(), reject(error)),
            });
            worker.post({ type: 'end', id });
          } catch (error) {
            close();
            reject(error);
          }
        });
      },
      cancel() {
        if (closed) return;
        if (filling) {
          worker.free.push(filling.slot);
          worker.waiting.shift()?.();
          filling = null;
        }
        if (!worker.dead) worker.post({ type: 'cancel', id });
        close();
      },
    };
  }

  /**
   * Analyses one whole entry of at most WHOLE_MAX_BYTES bytes in a worker, in a batch with the
   * other whole entries queued in the same turn of the event loop. `bytes` must not change until
   * the promise settles.
   */
  analyzeWhole(request: AnalysisRequest, bytes: Uint8Array): Promise<AnalysisResult> {
    if (bytes.length > WHOLE_MAX_BYTES)
      return Promise.reject(
        new RangeError(`a whole entry takes at most ${WHOLE_MAX_BYTES} bytes, not ${bytes.length}`),
      );
    return new Promise<AnalysisResult>((resolve, reject) => {
      this.queue.push({ request, bytes, resolve, reject });
      if (!this.pumpScheduled && !this.pumping) {
        this.pumpScheduled = true;
        setImmediate(() => void this.pump());
      }
    });
  }

  /**
   * Reads the small local file `file` in a worker and analyses it there, in one message with other
   * queued files. Resolves with null when the worker could not read it cleanly (the caller then
   * reads it through the source's `open()`). Files wait in a queue while every worker has
   * FILES_AHEAD_PER_WORKER out; each answer tops its worker up again, in full messages.
   *
   * Once `signal` fires, the file is dropped if it is still queued (rejected with the signal's
   * reason, like `signal.throwIfAborted()`), so a stop request waits only for the files already
   * posted to a worker (FILE_BYTES_AHEAD_PER_WORKER), never for the rest of a snapshot's queue.
   */
  analyzeFile(
    request: AnalysisRequest,
    file: LocalFile,
    signal?: AbortSignal,
  ): Promise<AnalysisResult | null> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<AnalysisResult | null>((resolve, reject) => {
      const queued: QueuedFile = { request, file, resolve, reject };
      if (signal) queued.signal = signal;
      this.files.push(queued);
      if (!this.filesScheduled) {
        this.filesScheduled = true;
        setImmediate(() => this.postFiles());
      }
    });
  }

  /**
   * Posts queued files to the workers with the fewest files out, until the queue is empty or every
   * worker has FILES_AHEAD_PER_WORKER out. A message takes FILES_PER_MESSAGE files, or an even
   * share of the queue when it is shorter than that for every worker (a small tree, the end of a
   * listing): messages do not shrink as answers come back piecemeal while files are waiting.
   */
  private postFiles(): void {
    this.filesScheduled = false;
    this.dropStopped();
    while (this.files.length > 0) {
      const worker = this.fileWorker();
      if (!worker) return;
      const room = FILES_AHEAD_PER_WORKER - worker.filesOut;
      const share =
        this.files.length >= FILES_PER_MESSAGE * this.size
          ? FILES_PER_MESSAGE
          : Math.ceil(this.files.length / this.size);
      const take = filesWithin(this.files, Math.max(1, Math.min(room, share)), worker.fileBytesOut);
      // The next file waits for this worker to drain (it is the least loaded one).
      if (take === 0) return;
      const queued = this.files.splice(0, take);
      let bytes = 0;
      const items: FileItem[] = queued.map((entry) => {
        const id = this.nextId++;
        bytes += entry.file.maxBytes;
        worker.pending.set(id, {
          resolve: entry.resolve,
          reject: entry.reject,
          fallback: entry.resolve,
          bytes: entry.file.maxBytes,
        });
        return { id, request: entry.request, file: entry.file };
      });
      worker.begin();
      worker.filesOut += items.length;
      worker.fileBytesOut += bytes;
      try {
        worker.post({ type: 'files', items });
      } catch (error) {
        worker.end();
        worker.filesOut -= items.length;
        worker.fileBytesOut -= bytes;
        for (const item of items) {
          worker.pending.get(item.id)?.reject(error as Error);
          worker.pending.delete(item.id);
        }
      }
    }
  }

  /** Rejects, without reading them, the queued files whose read was stopped. */
  private dropStopped(): void {
    if (!this.files.some((entry) => entry.signal?.aborted)) return;
    const kept: QueuedFile[] = [];
    for (const entry of this.files) {
      if (entry.signal?.aborted) entry.reject(entry.signal.reason);
      else kept.push(entry);
    }
    this.files = kept;
  }

  /** Packs the queued whole entries into slots, one batch message per slot, until none is left. */
  private async pump(): Promise<void> {
    this.pumpScheduled = false;
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const worker = this.pick();
        let slot: number;
        try {
          slot = await worker.slot();
        } catch (error) {
          for (const entry of this.queue.splice(0)) entry.reject(error as Error);
          return;
        }
        const items: BatchItem[] = [];
        let used = 0;
        while (this.queue.length > 0 && used + this.queue[0]!.bytes.length <= SLOT_BYTES) {
          const entry = this.queue.shift()!;
          const id = this.nextId++;
          worker.ring.set(entry.bytes, slot * SLOT_BYTES + used);
          items.push({ id, request: entry.request, offset: used, length: entry.bytes.length });
          worker.pending.set(id, { resolve: entry.resolve, reject: entry.reject });
          used += entry.bytes.length;
        }
        worker.begin();
        try {
          worker.post({ type: 'batch', slot, items });
        } catch (error) {
          worker.end();
          for (const item of items) {
            worker.pending.get(item.id)?.reject(error as Error);
            worker.pending.delete(item.id);
          }
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private pick(): PoolWorker {
    if (this.workers.length < this.size) {
      const idle = this.workers.find((worker) => worker.active === 0);
      if (idle) return idle;
      return this.spawn();
    }
    return this.workers.reduce((best, candidate) => (candidate.active < best.active ? candidate : best));
  }

  /**
   * The worker with the fewest bytes of local files out, then the fewest files (starting one while
   * fewer than `size` run and all have some); null when all are full.
   */
  private fileWorker(): PoolWorker | null {
    if (this.workers.length < this.size && this.workers.every((worker) => worker.filesOut > 0))
      return this.spawn();
    const best = this.workers.reduce<PoolWorker | null>(
      (least, candidate) =>
        least &&
        (least.fileBytesOut < candidate.fileBytesOut ||
          (least.fileBytesOut === candidate.fileBytesOut && least.filesOut <= candidate.filesOut))
          ? least
          : candidate,
      null,
    );
    return best && best.filesOut < FILES_AHEAD_PER_WORKER && best.fileBytesOut < FILE_BYTES_AHEAD_PER_WORKER
      ? best
      : null;
  }

  private spawn(): PoolWorker {
    const worker = new PoolWorker(
      (dead) => {
        this.workers = this.workers.filter((w) => w !== dead);
        // Files queued behind the dead worker's full share go to the others (or a new one).
        if (this.files.length > 0) this.postFiles();
      },
      () => {
        if (this.files.length > 0) this.postFiles();
      },
    );
    this.workers.push(worker);
    return worker;
  }
}

/**
 * How many of the queued files (from the front, at most `count`) one message may take for a worker
 * with `bytesOut` reserved bytes out: while they fit under FILE_BYTES_AHEAD_PER_WORKER, or the
 * first file alone when the worker has nothing out (a file larger than the bound still goes, to an
 * idle worker). Pure.
 */
export function filesWithin(
  queue: readonly { file: { maxBytes: number } }[],
  count: number,
  bytesOut: number,
): number {
  let take = 0;
  let bytes = bytesOut;
  while (take < count && take < queue.length) {
    const next = queue[take]!.file.maxBytes;
    if (bytes + next > FILE_BYTES_AHEAD_PER_WORKER && !(take === 0 && bytesOut === 0)) break;
    bytes += next;
    take++;
  }
  return take;
}

let shared: AnalysisPool | null = null;
let configuredSize: number | null = null;

/** Workers for the process-wide pool by default: one per core, at most 8. */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

/**
 * Sets the process-wide pool's size (null: one per core, at most 8). Takes effect for workers
 * started from now on: a pool that already has more keeps them until they exit.
 */
export function configureAnalysisPool(workers: number | null): void {
  configuredSize = workers;
  shared?.resize(workers ?? defaultPoolSize());
}

/** The process-wide pool. */
export function analysisPool(): AnalysisPool {
  shared ??= new AnalysisPool(configuredSize ?? defaultPoolSize());
  return shared;
}
