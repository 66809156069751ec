/**
 * The ledger on disk: `ledger/NNNNNNNN.ndjson` segments, one record per line, append-only.
 * Appends are fsynced. A crash mid-append leaves at most a torn last line (no newline), which
 * `open` cuts off; a complete line is never rewritten.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { nextRecord, type LedgerRecord, type LedgerRecordType } from '../evidence/ledger-record.js';
import { syncDirectory } from './atomic-write.js';

const SEGMENT = /^(\d{8})\.ndjson$/;
const SEGMENT_MAX_BYTES = 64 * 2 ** 20;

/** Append-only access to a state directory's ledger. Only the lock holder may append. */
export interface LedgerStore {
  /** Appends one record (hash-chained to the head) and returns it once it is on disk. */
  append<T>(type: LedgerRecordType, data: T): Promise<LedgerRecord<T>>;
  /** The last record's seq and hash, or null for an empty ledger. */
  head(): { seq: number; hash: string } | null;
  close(): Promise<void>;
}

async function segmentFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names.filter((name) => SEGMENT.test(name)).sort().map((name) => path.join(dir, name));
}

/** Every record in stored order (read-only; needs no lock). Lines that are not JSON are yielded as null. */
export async function* readLedger(stateDir: string): AsyncGenerator<LedgerRecord | null> {
  for (const file of await segmentFiles(path.join(stateDir, 'ledger'))) {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.length === 0) continue;
      try {
        yield JSON.parse(line) as LedgerRecord;
      } catch {
        yield null;
      }
    }
  }
}

/** Cuts a torn (newline-less) tail off a segment; returns the last complete line. */
async function repairTail(file: string): Promise<string | null> {
  const { size } = await stat(file);
  if (size === 0) return null;
  const handle = await open(file, 'r');
  try {
    const window = Math.min(size, 1 << 20);
    const buffer = Buffer.alloc(window);
    await handle.read(buffer, 0, window, size - window);
    const text = buffer.toString('utf8');
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline !== text.length - 1) {
      await truncate(file, size - window + Buffer.byteLength(text.slice(0, lastNewline + 1)));
    }
    const complete = text.slice(0, lastNewline + 1).trimEnd();
    return complete.length ? complete.slice(complete.lastIndexOf('\n') + 1) : null;
  } finally {
    await handle.close();
  }
}

/** Opens the ledger for appending (the caller holds the state lock). */
export async function openLedger(stateDir: string): Promise<LedgerStore> {
  const dir = path.join(stateDir, 'ledger');
  await mkdir(dir, { recursive: true });
  const files = await segmentFiles(dir);
  let head: { seq: number; hash: string } | null = null;
  let current = files.at(-1) ?? path.join(dir, '00000001.ndjson');
  if (files.length) {
    const last = await repairTail(current);
    if (last) {
      const record = JSON.parse(last) as LedgerRecord;
      head = { seq: record.seq, hash: record.hash };
    }
  }
  let handle: FileHandle | null = null;
  let size = files.length ? (await stat(current)).size : 0;
  let queue: Promise<unknown> = Promise.resolve();

  async function writeLine(line: string): Promise<void> {
    if (size + line.length > SEGMENT_MAX_BYTES && size > 0) {
      await handle?.close();
      handle = null;
      const number = Number(SEGMENT.exec(path.basename(current))![1]) + 1;
      current = path.join(dir, `${String(number).padStart(8, '0')}.ndjson`);
      size = 0;
    }
    if (!handle) {
      handle = await open(current, 'a', 0o644);
      await syncDirectory(dir);
    }
    await handle.write(line);
    await handle.datasync();
    size += Buffer.byteLength(line);
  }

  return {
    append<T>(type: LedgerRecordType, data: T) {
      // Appends are serialised so concurrent scans of several sets chain in one order.
      const result = queue.then(async () => {
        const record = nextRecord(head, type, data);
        await writeLine(`${JSON.stringify(record)}\n`);
        head = { seq: record.seq, hash: record.hash };
        return record;
      });
      queue = result.catch(() => undefined);
      return result;
    },
    head: () => head,
    async close() {
      await queue;
      await handle?.close();
      handle = null;
    },
  };
}
