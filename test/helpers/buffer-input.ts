/**
 * ArchiveInputs for tests (over a buffer, a file, or a generated stream) and a visitor that
 * records what a reader passed it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type {
  ArchiveEntry,
  ArchiveInput,
  ArchiveProblem,
  EntryVisitor,
} from '../../agent/archives/entry-reader.js';

function* pieces(buffer: Buffer, size = 64 * 1024): Generator<Buffer> {
  for (let at = 0; at < buffer.length; at += size) yield buffer.subarray(at, at + size);
}

/** An ArchiveInput over bytes in memory, served in 64 KiB chunks like a file. */
export function bufferInput(name: string, buffer: Buffer): ArchiveInput {
  return {
    name,
    size: buffer.length,
    open: async () => Readable.from(pieces(buffer)),
    openRange: async (start, end) => Readable.from(pieces(buffer.subarray(start, end))),
  };
}

/** An ArchiveInput over a file on disk. */
export async function fileInput(path: string): Promise<ArchiveInput> {
  const { size } = await stat(path);
  return {
    name: path,
    size,
    open: async () => createReadStream(path),
    openRange: async (start, end) =>
      end > start ? createReadStream(path, { start, end: end - 1 }) : Readable.from([]),
  };
}

/** A sequential-only ArchiveInput whose bytes are generated afresh on every open. */
export function generatedInput(
  name: string,
  size: number,
  generate: () => AsyncIterable<Buffer>,
): ArchiveInput {
  return {
    name,
    size,
    open: async () => Readable.from(generate()),
    openRange: async () => {
      throw new Error('generatedInput: no ranges');
    },
  };
}

/** An entry as recorded, with the SHA-256 and length of its body for files. */
export type RecordedEntry = ArchiveEntry & { sha256?: string; bodyBytes?: number };

/** A visitor that records entries (or only counts them) and problems. */
export interface RecordingVisitor extends EntryVisitor {
  entries: RecordedEntry[];
  problems: ArchiveProblem[];
  count: number;
  /** Entry paths, in order. */
  paths(): string[];
}

/** Records every entry with its body digest; `countOnly` keeps nothing per entry (memory tests). */
export function recordingVisitor(options: { countOnly?: boolean } = {}): RecordingVisitor {
  const visitor: RecordingVisitor = {
    entries: [],
    problems: [],
    count: 0,
    paths: () => visitor.entries.map((entry) => entry.path),
    async entry(entry, body) {
      visitor.count += 1;
      const recorded: RecordedEntry = { ...entry };
      if (body) {
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of body) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
        }
        recorded.sha256 = hash.digest('hex');
        recorded.bodyBytes = bytes;
      }
      if (!options.countOnly) visitor.entries.push(recorded);
    },
    problem(problem) {
      visitor.problems.push(problem);
    },
  };
  return visitor;
}

/** SHA-256 of a buffer, hex. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
