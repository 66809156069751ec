/**
 * Worker side of the analysis pool: runs EntryAnalysis on bytes the main thread copies into this
 * worker's shared ring of slots, and hands each slot back as soon as it is consumed.
 *
 * Messages in (in order per entry): `start`, then `chunk` (a slot and a length), then `end` or
 * `cancel`; or, for whole small entries, one `batch` of many entries packed into one slot.
 * Or `files`: local files this worker opens, checks and reads itself (local-file.ts) into one
 * reused buffer, whole or in chunks, analysing as it reads — only the paths come in and only the
 * results go out.
 * Messages out: `free` (a slot may be reused), `result`, `failed`; `batch` (all its outcomes
 * and the slot back in one message); `files` (all its outcomes).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EntryAnalysis, type AnalysisRequest, type AnalysisResult } from './entry-analysis.js';
import { readLocalFile } from '../fs/local-file.js';
import type {
  BatchItem,
  BatchOutcome,
  FileItem,
  FileOutcome,
  WorkerMessageIn,
  WorkerMessageOut,
} from './analysis-protocol.js';

const port = parentPort!;
const { ring: shared, slotBytes } = workerData as { ring: SharedArrayBuffer; slotBytes: number };
const ring = new Uint8Array(shared);
/** Per entry, the analysis once started; messages for an entry run strictly in order on it. */
const sessions = new Map<number, Promise<EntryAnalysis | null>>();
/** Entries whose start failed: `end` must answer `failed` again (the first may have come before anyone waited). */
const startFailures = new Map<number, string>();
/** Entries cancelled while steps for them were still queued: those steps must not touch their copy. */
const cancelled = new Set<number>();

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function send(message: WorkerMessageOut): void {
  port.postMessage(message);
}

function start(id: number, request: AnalysisRequest): void {
  sessions.set(
    id,
    EntryAnalysis.start(request).catch((error: unknown) => {
      startFailures.set(id, messageOf(error));
      send({ type: 'failed', id, message: messageOf(error) });
      return null;
    }),
  );
}

function then(id: number, step: (analysis: EntryAnalysis) => void): void {
  const session = sessions.get(id);
  if (!session) return;
  sessions.set(
    id,
    session.then((analysis) => {
      if (analysis && !cancelled.has(id)) step(analysis);
      return analysis;
    }),
  );
}

/** Analyses every entry of a batch in order, then answers once (results and the slot together). */
async function runBatch(slot: number, items: BatchItem[]): Promise<void> {
  const outcomes: BatchOutcome[] = [];
  for (const item of items) {
    try {
      const analysis = await EntryAnalysis.start(item.request);
      const start = slot * slotBytes + item.offset;
      outcomes.push({ id: item.id, result: analysis.whole(ring.subarray(start, start + item.length)) });
    } catch (error) {
      outcomes.push({ id: item.id, message: messageOf(error) });
    }
  }
  send({ type: 'batch', slot, outcomes });
}

/**
 * The buffer local files are read into, reused file after file: grown to the largest whole read
 * (at most LOCAL_CHUNK_BYTES + 1), which is also the chunk buffer of larger files.
 */
let fileBuffer: Buffer = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads and analyses one local file (the worker's fileBuffer may be replaced by a larger one).
 * With `rereadable`, a large file whose bytes may keep an earlier judgement is only digested on
 * this read, and read again to be measured when the digest differs (EntryAnalysis StartOptions).
 */
async function analyseFile(item: FileItem, rereadable: boolean): Promise<FileOutcome> {
  let analysis: EntryAnalysis;
  try {
    analysis = await EntryAnalysis.start(item.request, { rereadable });
  } catch (error) {
    return { id: item.id, message: messageOf(error) };
  }
  const read = readLocalFile(item.file, fileBuffer, (chunk) => analysis.update(chunk));
  if ('fallback' in read) {
    analysis.cancel();
    return { id: item.id, fallback: read.fallback };
  }
  if (read.buffer.length > fileBuffer.length) fileBuffer = read.buffer;
  let result: AnalysisResult;
  try {
    result = read.chunked ? analysis.finish() : analysis.whole(read.buffer.subarray(0, read.length));
  } catch (error) {
    return { id: item.id, message: messageOf(error) };
  }
  if (!result.remeasure) return { id: item.id, result };
  return analyseFile(item, false);
}

/** Reads and analyses every file of a `files` message in order, then answers once. */
async function runFiles(items: FileItem[]): Promise<void> {
  const outcomes: FileOutcome[] = [];
  for (const item of items) outcomes.push(await analyseFile(item, true));
  send({ type: 'files', outcomes });
}

/** Batches run one after another, so a later batch never overtakes an earlier one. */
let batches: Promise<void> = Promise.resolve();

port.on('message', (message: WorkerMessageIn) => {
  switch (message.type) {
    case 'batch': {
      const { slot, items } = message;
      batches = batches.then(() => runBatch(slot, items));
      return;
    }
    case 'files': {
      const { items } = message;
      batches = batches.then(() => runFiles(items));
      return;
    }
    case 'start':
      start(message.id, message.request);
      return;
    case 'chunk': {
      const { id, slot, length } = message;
      then(id, (analysis) => analysis.update(ring.subarray(slot * slotBytes, slot * slotBytes + length)));
      // Free the slot once this chunk (and everything queued before it) has been consumed.
      const session = sessions.get(id);
      if (session) void session.then(() => send({ type: 'free', slot }));
      else send({ type: 'free', slot });
      return;
    }
    case 'end': {
      const { id } = message;
      const session = sessions.get(id);
      sessions.delete(id);
      void session?.then((analysis) => {
        if (!analysis) {
          send({ type: 'failed', id, message: startFailures.get(id) ?? 'analysis did not start' });
          startFailures.delete(id);
          return;
        }
        try {
          send({ type: 'result', id, result: analysis.finish() });
        } catch (error) {
          send({ type: 'failed', id, message: messageOf(error) });
        }
      });
      return;
    }
    case 'cancel': {
      const { id } = message;
      const session = sessions.get(id);
      sessions.delete(id);
      startFailures.delete(id);
      cancelled.add(id);
      void session?.then((analysis) => {
        analysis?.cancel();
        cancelled.delete(id);
      });
      return;
    }
  }
});
