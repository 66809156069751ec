/** Messages between the analysis pool and its workers (see analysis-worker.ts). */
import type { AnalysisRequest, AnalysisResult } from './entry-analysis.js';

/** Main thread → worker. */
export type WorkerMessageIn =
  | { type: 'start'; id: number; request: AnalysisRequest }
  /** `length` bytes of the entry are in ring slot `slot`. */
  | { type: 'chunk'; id: number; slot: number; length: number }
  | { type: 'end'; id: number }
  | { type: 'cancel'; id: number }
  /**
   * Whole small entries packed into ring slot `slot`: entry `items[i]` is `length` bytes from
   * `offset` of the slot. Answered by one `batch` message once every item is analysed.
   */
  | { type: 'batch'; slot: number; items: BatchItem[] };

/** One whole entry of a batch. */
export interface BatchItem {
  id: number;
  request: AnalysisRequest;
  offset: number;
  length: number;
}

/** One entry's outcome in a batch answer: its result, or why it failed. */
export type BatchOutcome = { id: number; result: AnalysisResult } | { id: number; message: string };

/** Worker → main thread. */
export type WorkerMessageOut =
  /** Ring slot `slot` has been consumed and may be refilled. */
  | { type: 'free'; slot: number }
  | { type: 'result'; id: number; result: AnalysisResult }
  | { type: 'failed'; id: number; message: string }
  /** Every item of the batch in slot `slot` is done (the slot is free again). */
  | { type: 'batch'; slot: number; outcomes: BatchOutcome[] };
