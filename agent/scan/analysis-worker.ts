/**
 * Worker side of the analysis pool: runs EntryAnalysis on bytes the main thread copies into this
 * worker's shared ring of slots, and hands each slot back as soon as it is consumed.
 *
 * Messages in (in order per entry): `start`, then `chunk` (a slot and a length), then `end` or
 * `cancel`. Messages out: `free` (a slot may be reused), `result`, `failed`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EntryAnalysis, type AnalysisRequest } from './entry-analysis.js';
import type { WorkerMessageIn, WorkerMessageOut } from './analysis-protocol.js';

const port = parentPort!;
const { ring: shared, slotBytes } = workerData as { ring: SharedArrayBuffer; slotBytes: number };
const ring = new Uint8Array(shared);
/** Per entry, the analysis once started; messages for an entry run strictly in order on it. */
const sessions = new Map<number, Promise<EntryAnalysis | null>>();

function send(message: WorkerMessageOut): void {
  port.postMessage(message);
}

function start(id: number, request: AnalysisRequest): void {
  sessions.set(
    id,
    EntryAnalysis.start(request).catch((error: unknown) => {
      send({ type: 'failed', id, message: error instanceof Error ? error.message : String(error) });
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
      if (analysis) step(analysis);
      return analysis;
    }),
  );
}

port.on('message', (message: WorkerMessageIn) => {
  switch (message.type) {
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
      const session = sessions.get(message.id);
      sessions.delete(message.id);
      void session?.then((analysis) => {
        if (analysis) send({ type: 'result', id: message.id, result: analysis.finish() });
      });
      return;
    }
    case 'cancel':
      sessions.delete(message.id);
      return;
  }
});
