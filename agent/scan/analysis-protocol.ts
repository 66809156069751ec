/** Messages between the analysis pool and its workers (see analysis-worker.ts). */
import type { AnalysisRequest, AnalysisResult } from './entry-analysis.js';

/** Main thread → worker. */
export type WorkerMessageIn =
  | { type: 'start'; id: number; request: AnalysisRequest }
  /** `length` bytes of the entry are in ring slot `slot`. */
  | { type: 'chunk'; id: number; slot: number; length: number }
  | { type: 'end'; id: number }
  | { type: 'cancel'; id: number };

/** Worker → main thread. */
export type WorkerMessageOut =
  /** Ring slot `slot` has been consumed and may be refilled. */
  | { type: 'free'; slot: number }
  | { type: 'result'; id: number; result: AnalysisResult }
  | { type: 'failed'; id: number; message: string };
