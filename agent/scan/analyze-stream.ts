/**
 * Reads one entry's stream to its end and analyses it: inline for small entries, in the analysis
 * pool for large ones so that reading and analysing (and a restore's writing) overlap. Rejects with
 * the stream's error (the caller names the entry); a failed stream never leaves work behind in a
 * worker or a file open.
 */
import type { Readable } from 'node:stream';
import type { ChunkSink } from '../integrity/digest.js';
import { analysisPool } from './analysis-pool.js';
import { EntryAnalysis, type AnalysisRequest, type AnalysisResult } from './entry-analysis.js';

/** Entries at least this large (declared size) are analysed in a worker thread. */
export const POOLED_MIN_BYTES = 2 ** 20;

/** Options of one entry's analysis. */
export interface AnalyzeOptions {
  /** Declared size; decides inline or pooled. */
  sizeHint?: number;
  /** Sees every chunk on this thread (progress counters). */
  sinks?: ChunkSink[];
}

/** Analyses every byte of `stream`. */
export async function analyzeStream(stream: Readable, request: AnalysisRequest, options: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const sinks = options.sinks ?? [];
  if ((options.sizeHint ?? 0) >= POOLED_MIN_BYTES) {
    const analysis = analysisPool().analyze(request);
    try {
      for await (const chunk of stream as AsyncIterable<Uint8Array>) {
        for (const sink of sinks) sink.update(chunk);
        await analysis.update(chunk);
      }
    } catch (error) {
      analysis.cancel();
      throw error;
    }
    return analysis.finish();
  }
  const analysis = await EntryAnalysis.start(request);
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      for (const sink of sinks) sink.update(chunk);
      analysis.update(chunk);
    }
  } catch (error) {
    analysis.cancel();
    throw error;
  }
  return analysis.finish();
}
