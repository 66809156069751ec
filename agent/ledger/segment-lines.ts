/**
 * The one reader of the ledger's on-disk line framing: a segment file is records, one per line,
 * each ending in `\n` (record-line.ts says what the bytes of a line must be; ledger-record.ts
 * parses one). The store, verification, the console's index and the acceptance index all split
 * segments here.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { MAX_RECORD_LINE_BYTES } from './record-line.js';

/** One line of a segment, as stored. */
export interface SegmentLine {
  /** The line's bytes without its newline; null when it is longer than MAX_RECORD_LINE_BYTES (counted, not kept). */
  bytes: Buffer | null;
  /** Its length in bytes, without the newline. */
  length: number;
  /** Byte offset of its first byte in the file. */
  offset: number;
  /** False for a last line without its newline (a crash mid-append, or a write still in progress). */
  terminated: boolean;
}

/**
 * Every line of `file` from byte `start` up to (not including) byte `end` (the whole file when
 * unset), blank ones included, in time linear in the bytes read and memory bounded by the longest
 * line kept. A last piece without a newline is yielded with `terminated: false` when non-empty.
 */
export async function* readSegmentLines(file: string, start = 0, end?: number): AsyncGenerator<SegmentLine> {
  if (end !== undefined && end <= start) return;
  let parts: Buffer[] = [];
  let length = 0;
  let lineStart = start;
  let position = start;
  const stream = createReadStream(file, {
    start,
    ...(end === undefined ? {} : { end: end - 1 }),
    highWaterMark: 1 << 20,
  });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, from);
      const piece = chunk.subarray(from, newline === -1 ? chunk.length : newline);
      length += piece.length;
      if (length <= MAX_RECORD_LINE_BYTES) {
        if (piece.length) parts.push(piece);
      } else parts = [];
      if (newline === -1) break;
      yield {
        bytes: length <= MAX_RECORD_LINE_BYTES ? Buffer.concat(parts, length) : null,
        length,
        offset: lineStart,
        terminated: true,
      };
      lineStart = position + newline + 1;
      parts = [];
      length = 0;
      from = newline + 1;
    }
    position += chunk.length;
  }
  if (length > 0)
    yield {
      bytes: length <= MAX_RECORD_LINE_BYTES ? Buffer.concat(parts, length) : null,
      length,
      offset: lineStart,
      terminated: false,
    };
}

/** Where a reader of the ledger stopped: just past the last complete line it read. */
export interface LedgerPosition {
  /** Segment file name (`00000001.ndjson`). */
  segment: string;
  /** Byte offset in it. */
  offset: number;
}

/**
 * The complete lines of `files` (segments, oldest first) after `from` that contain one of
 * `markers`, in order, each with the position just past it; the position past the last complete
 * line of each segment comes last (`line: null`). Chunks holding no marker are skipped without
 * being split into lines (the acceptance index looks for triage records; most of a ledger is scans).
 */
export async function* linesAfter(
  files: readonly string[],
  from: LedgerPosition | null,
  markers: readonly Buffer[],
): AsyncGenerator<{ line: Buffer | null; end: LedgerPosition }> {
  const first = from ? files.findIndex((file) => path.basename(file) === from.segment) : 0;
  for (const [position, file] of files.slice(first).entries()) {
    const segment = path.basename(file);
    let offset = position === 0 && from ? from.offset : 0;
    let pending: Buffer = Buffer.alloc(0);
    for await (const chunk of createReadStream(file, { start: offset })) {
      pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
      const complete = pending.lastIndexOf(0x0a) + 1;
      if (complete === 0) continue;
      const lines = pending.subarray(0, complete);
      if (markers.some((marker) => lines.includes(marker))) {
        for (let start = 0; start < complete;) {
          const newline = lines.indexOf(0x0a, start);
          const line = lines.subarray(start, newline);
          if (markers.some((marker) => line.includes(marker)))
            yield { line, end: { segment, offset: offset + newline + 1 } };
          start = newline + 1;
        }
      }
      offset += complete;
      pending = pending.subarray(complete);
    }
    // A torn last line (a crash mid-append) is read once it is complete.
    yield { line: null, end: { segment, offset } };
  }
}
