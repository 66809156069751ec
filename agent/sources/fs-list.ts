/**
 * The main-thread side of a filesystem source's listing: the walk runs in a worker thread of the
 * source's own (fs-list-worker.ts), which sends the listed objects in batches, so listing a tree
 * of many small files costs this thread one message per batch rather than a thread-pool round
 * trip per file and per directory.
 *
 * One worker per source (per set), started on first use and holding no event-loop reference
 * while no batch is awaited: a hung mount blocks only the listings of the set that reads it, as
 * a hung readdir did before. At most LIST_AHEAD + 1 batches of one listing are in memory (the one
 * being consumed and those listed ahead of it).
 */
import { Worker } from 'node:worker_threads';
import type { ListedEntry, ListRequest, ListResponse } from './fs-list-protocol.js';
import { workerEntry } from '../worker-entry.js';
import { reassertCompactHeap } from '../tools/heap-growth.js';

/** Objects per batch. */
export const LIST_BATCH = 512;
/**
 * Batches asked for ahead of the one being consumed. With one, the worker listed a batch and then
 * waited for the main thread to start on it before listing the next: the two threads took turns
 * (issue 13's timeline); with three it lists on while the main thread is busy.
 */
export const LIST_AHEAD = 3;

/** A listing failure as the worker reported it: message and code of the fs error, plus where. */
export class ListFailure extends Error {
  constructor(
    readonly key: string,
    readonly action: string,
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** A source's listing worker. */
export class FsLister {
  private worker: Worker | null = null;
  private nextId = 1;
  /** Per listing, the requests not yet answered, in the order they were posted (the worker answers in order). */
  private readonly waiting = new Map<
    number,
    { resolve: (response: ListResponse) => void; reject: (error: Error) => void }[]
  >();

  /**
   * Walks `directory` (key `dirKey`, names starting with `namePrefix`) in key order, not into the
   * top-level folders `skip` names (a walk from the root only), a batch of entries at a time (one
   * asynchronous step per batch, not per entry); throws ListFailure after the entries before it.
   */
  async *batches(
    directory: string,
    dirKey: string,
    namePrefix: string,
    skip?: readonly string[],
  ): AsyncGenerator<ListedEntry[]> {
    const id = this.nextId++;
    this.post({
      type: 'start',
      id,
      directory,
      dirKey,
      namePrefix,
      ...(skip?.length ? { skip: [...skip] } : {}),
    });
    let finished = false;
    const ahead: Promise<ListResponse>[] = [];
    try {
      for (;;) {
        // The worker lists the next batches while this one is consumed.
        while (ahead.length < LIST_AHEAD + 1) ahead.push(this.request(id));
        const response = await ahead.shift()!;
        if (response.type === 'error' || response.done) {
          finished = true;
          this.forget(id); // the worker ended the walk: requests past its end get no answer
        }
        if (response.type === 'error') {
          if (response.entries.length) yield response.entries;
          throw new ListFailure(response.key, response.action, response.message, response.code);
        }
        if (response.entries.length) yield response.entries;
        if (response.done) return;
      }
    } finally {
      if (!finished && this.worker) {
        this.post({ type: 'stop', id });
        this.forget(id);
      }
    }
  }

  /** Stops the worker (the source is closed). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private request(id: number): Promise<ListResponse> {
    return new Promise<ListResponse>((resolve, reject) => {
      const queue = this.waiting.get(id) ?? [];
      queue.push({ resolve, reject });
      this.waiting.set(id, queue);
      this.post({ type: 'more', id, max: LIST_BATCH });
      this.worker!.ref();
    });
  }

  /** Drops a listing's unanswered requests (it ended or was stopped); the worker idles unreferenced when none is left. */
  private forget(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker?.unref();
  }

  private post(message: ListRequest): void {
    this.started().postMessage(message);
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = takeSpare() ?? spawnListingWorker();
    worker.on('message', (response: ListResponse) => {
      const queue = this.waiting.get(response.id);
      const waiter = queue?.shift();
      if (queue?.length === 0) this.waiting.delete(response.id);
      if (this.waiting.size === 0) worker.unref();
      waiter?.resolve(response);
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const queue of this.waiting.values()) for (const waiter of queue) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', (error) =>
      fail(new Error(`listing worker failed: ${error.message}`, { cause: error })),
    );
    worker.on('exit', (code) => fail(new Error(`listing worker exited with code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

/** A listing worker, started and unreferenced, with no listener of the lister's yet. */
function spawnListingWorker(): Worker {
  const [entry, options] = workerEntry('fs-list-worker', import.meta.url);
  // A small young generation: the walk's garbage (one Stats per name) is all short-lived.
  const worker = new Worker(entry, { ...options, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  // A new isolate resets V8's young-generation growth factor (heap-growth.ts).
  worker.once('online', reassertCompactHeap);
  worker.unref();
  return worker;
}

/** The worker prestartListingWorker started, until a lister takes it (or it dies idle). */
let spare: { worker: Worker; drop: () => void } | null = null;

/**
 * Starts a listing worker now for the next lister that needs one (at most one waits): its
 * start-up — an isolate and the walk's modules, ~0.1 s — then overlaps what the caller does before
 * it lists (a scan: the state lock, the ledger, the run marker, the set index) instead of
 * delaying the first listing. It idles unreferenced until taken, so it never keeps the process
 * alive; call it only where a listing follows (a scan of a filesystem set). Returns the worker
 * waiting to be taken.
 */
export function prestartListingWorker(): Worker {
  if (spare) return spare.worker;
  const worker = spawnListingWorker();
  // Until taken, a failure only discards it: the lister that needs a worker starts its own.
  const drop = () => {
    if (spare?.worker === worker) spare = null;
  };
  worker.once('error', drop);
  worker.once('exit', drop);
  spare = { worker, drop };
  return worker;
}

/** The spare worker, if one is alive, for a lister to attach its listeners to. */
function takeSpare(): Worker | null {
  const taken = spare;
  if (!taken) return null;
  spare = null;
  taken.worker.off('error', taken.drop);
  taken.worker.off('exit', taken.drop);
  return taken.worker;
}
