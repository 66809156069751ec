/**
 * Reads one entry's stream to its end and analyses it in the analysis pool: a large entry streamed
 * to a worker as it is read, so that reading and analysing (and a restore's writing) overlap; a
 * small one gathered whole and sent in a batch with others (one message for many entries); a
 * small restore (a file to write) inline on this thread. Rejects with
 * the stream's error (the caller names the entry); a failed stream never leaves work behind in a
 * worker or a file open.
 */
import type { Readable } from 'node:stream';
import type { ChunkSink } from '../integrity/digest.js';
import { analysisPool, WHOLE_MAX_BYTES, type PooledAnalysis } from './analysis-pool.js';
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
export async function analyzeStream(
  stream: Readable,
  request: AnalysisRequest,
  options: AnalyzeOptions = {},
): Promise<AnalysisResult> {
  return (await readForAnalysis(stream, request, options)).result;
}

/** A stream read to its end, whose analysis may still be running. */
export interface ReadForAnalysis {
  /** The analysis; rejects when it fails after the read (a worker's failure). */
  result: Promise<AnalysisResult>;
  /** Bytes this thread holds for it until it settles (a small entry's copy; 0 otherwise). */
  held: number;
}

/**
 * Reads every byte of `stream` into its analysis and resolves once the stream is consumed, with
 * the analysis still running — so a reader can go on to the next entry while the pool works on
 * this one (archive members, S3 objects). Rejects with the stream's error, leaving nothing behind.
 * The caller must handle `result`'s rejection.
 */
export async function readForAnalysis(
  stream: Readable,
  request: AnalysisRequest,
  options: AnalyzeOptions = {},
): Promise<ReadForAnalysis> {
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
    return { result: analysis.finish(), held: 0 };
  }
  if (!request.copyTo) return readWhole(stream, request, sinks, options.sizeHint ?? 0);
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
  return { result: Promise.resolve(analysis.finish()), held: 0 };
}

/**
 * A small entry: its bytes are copied into one buffer (readers may reuse their chunks) and
 * analysed whole in a batch; if the stream turns out longer than a batch takes, it continues as a
 * streamed analysis.
 */
async function readWhole(
  stream: Readable,
  request: AnalysisRequest,
  sinks: ChunkSink[],
  sizeHint: number,
): Promise<ReadForAnalysis> {
  let buffer = Buffer.allocUnsafe(Math.min(Math.max(sizeHint, 0), WHOLE_MAX_BYTES));
  let length = 0;
  let streamed: PooledAnalysis | null = null;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      for (const sink of sinks) sink.update(chunk);
      if (streamed) {
        await streamed.update(chunk);
        continue;
      }
      if (length + chunk.length > WHOLE_MAX_BYTES) {
        streamed = analysisPool().analyze(request);
        await streamed.update(buffer.subarray(0, length));
        await streamed.update(chunk);
        continue;
      }
      if (length + chunk.length > buffer.length) {
        const grown = Buffer.allocUnsafe(
          Math.min(Math.max(buffer.length * 2, length + chunk.length), WHOLE_MAX_BYTES),
        );
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      buffer.set(chunk, length);
      length += chunk.length;
    }
  } catch (error) {
    streamed?.cancel();
    throw error;
  }
  if (streamed) return { result: streamed.finish(), held: 0 };
  return { result: analysisPool().analyzeWhole(request, buffer.subarray(0, length)), held: buffer.length };
}
