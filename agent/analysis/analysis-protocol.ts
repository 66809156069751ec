/** Messages between the analysis pool and its workers (see analysis-worker.ts). */
import type { LocalFile } from '../fs/local-file.js';
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
  | { type: 'batch'; slot: number; items: BatchItem[] }
  /** Small local files the worker reads itself (local-file.ts), then analyses; answered by one `files` message. */
  | { type: 'files'; items: FileItem[] };

/** One local file of a `files` message. */
export interface FileItem {
  id: number;
  request: AnalysisRequest;
  file: LocalFile;
}

/** One file's outcome: its result, `fallback` (read it through the source instead), or why the analysis failed. */
export type FileOutcome =
  { id: number; result: AnalysisResult } | { id: number; fallback: string } | { id: number; message: string };

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
  | { type: 'batch'; slot: number; outcomes: BatchOutcome[] }
  /** Every file of a `files` message is done. */
  | { type: 'files'; outcomes: FileOutcome[] };
