/**
 * The ledger on disk: `ledger/NNNNNNNN.ndjson` segments, one signed record per line, append-only,
 * plus `ledger/head.json`, the signed head (the newest record's seq and hash).
 *
 * Appends from any number of processes (a scan, drills of several sets, the daemon) chain in one
 * order: each takes the short `ledger/append.lock`, re-reads the tail when another writer moved
 * it, appends and fsyncs the line, then rewrites the head. A crash mid-append leaves at most a
 * torn last line (no newline), which the next writer cuts off; a complete line is never
 * rewritten. A head that is *ahead* of the ledger means records were cut off the end: appending
 * then would hide that, so it is refused.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { nextRecord, type LedgerRecord, type LedgerRecordType } from '../evidence/ledger-record.js';
import { signHead, signRecord, type LedgerHead } from '../evidence/record-signature.js';
import {
  loadOrCreateSigningKey,
  prepareNextKey,
  promoteNextKey,
  settleInterruptedRotation,
  type PublicKeyInfo,
  type SigningKey,
} from '../evidence/signing-key.js';
import { VouchError } from '../errors.js';
import { syncDirectory, writeFileAtomic } from './atomic-write.js';
import { acquireLockFile } from './lock-file.js';

const SEGMENT = /^(\d{8})\.ndjson$/;
const SEGMENT_MAX_BYTES = 64 * 2 ** 20;
/** How long an append waits for another writer's append (appends take milliseconds). */
const APPEND_LOCK_WAIT_MS = 120_000;

/** What a key rotation did. */
export interface KeyRotation {
  previous: PublicKeyInfo;
  current: PublicKeyInfo;
  /** The `key-rotation` record, signed by the previous key. */
  record: LedgerRecord;
}

/** Append-only access to a state directory's ledger. Safe to use from several processes at once. */
export interface LedgerStore {
  /** Appends one record (hash-chained to the head, signed) and returns it once it is on disk. */
  append<T>(type: LedgerRecordType, data: T): Promise<LedgerRecord<T>>;
  /** The last record's seq and hash as of this store's last open or append, or null for an empty ledger. */
  head(): { seq: number; hash: string } | null;
  /**
   * Replaces the signing key: a `key-rotation` record signed by the old key introduces the new
   * one, whose private key then replaces the old (which is deleted). Old records stay verifiable
   * by the old public key kept in `keys/public/`.
   */
  rotateKey(): Promise<KeyRotation>;
  close(): Promise<void>;
}

/** The signed head says the ledger had records that are gone. */
export class LedgerTruncatedError extends VouchError {
  override name = 'LedgerTruncatedError';
}

/** `STATE/ledger`. */
export function ledgerDir(stateDir: string): string {
  return path.join(stateDir, 'ledger');
}

/** `STATE/ledger/head.json`. */
export function headPath(stateDir: string): string {
  return path.join(ledgerDir(stateDir), 'head.json');
}

/** The ledger's segment files, oldest first. */
export async function segmentFiles(stateDir: string): Promise<string[]> {
  const dir = ledgerDir(stateDir);
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names.filter((name) => SEGMENT.test(name)).sort().map((name) => path.join(dir, name));
}

/** Every record in stored order (read-only; needs no lock). Lines that are not JSON are yielded as null. */
export async function* readLedger(stateDir: string): AsyncGenerator<LedgerRecord | null> {
  for (const file of await segmentFiles(stateDir)) {
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

/** The signed head, or null when there is none (yet). Throws when it exists but is not JSON. */
export async function readHead(stateDir: string): Promise<LedgerHead | null> {
  let text: string;
  try {
    text = await readFile(headPath(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return JSON.parse(text) as LedgerHead;
}

/** Cuts a torn (newline-less) tail off a segment; returns the last complete line. */
async function repairTail(file: string): Promise<string | null> {
  const { size } = await stat(file);
  if (size === 0) return null;
  const handle = await open(file, 'r');
  try {
    // Read backwards from the end, doubling the window until it holds the whole last complete
    // line (a record can be larger than any fixed window).
    for (let window = Math.min(size, 1 << 20); ; window = Math.min(size, window * 2)) {
      const buffer = Buffer.alloc(window);
      await handle.read(buffer, 0, window, size - window);
      const lastNewline = buffer.lastIndexOf(0x0a);
      const lineStart = lastNewline < 0 ? -1 : buffer.lastIndexOf(0x0a, lastNewline - 1);
      if (lineStart < 0 && window < size) continue;
      if (lastNewline !== buffer.length - 1) {
        await truncate(file, size - window + lastNewline + 1);
      }
      if (lastNewline < 0) return null;
      const line = buffer.toString('utf8', lineStart + 1, lastNewline).trim();
      return line.length ? line : null;
    }
  } finally {
    await handle.close();
  }
}

/** Where the ledger ends, as last read. */
interface Tail {
  file: string;
  size: number;
  last: LedgerRecord | null;
}

function numberedSegment(dir: string, number: number): string {
  return path.join(dir, `${String(number).padStart(8, '0')}.ndjson`);
}

/** Opens the ledger for appending. Needs no other lock: appends take the ledger's own. */
export async function openLedger(stateDir: string): Promise<LedgerStore> {
  const dir = ledgerDir(stateDir);
  await mkdir(dir, { recursive: true });
  let tail: Tail | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  /** The current tail, re-read (and a torn line cut) only when another writer moved it. */
  async function currentTail(): Promise<Tail> {
    const files = await segmentFiles(stateDir);
    const file = files.at(-1) ?? numberedSegment(dir, 1);
    const size = files.length ? (await stat(file)).size : 0;
    if (tail && tail.file === file && tail.size === size) return tail;
    const lastLine = files.length ? await repairTail(file) : null;
    const last = lastLine ? (JSON.parse(lastLine) as LedgerRecord) : null;
    return { file, size: files.length ? (await stat(file)).size : 0, last };
  }

  async function checkHead(last: LedgerRecord | null): Promise<void> {
    const head = await readHead(stateDir).catch(() => null);
    if (head && head.seq > (last?.seq ?? 0)) {
      throw new LedgerTruncatedError(
        `ledger ${dir} ends at seq ${last?.seq ?? 0} but its signed head records seq ${head.seq}: records were cut off the end. ` +
          'Nothing more is appended until this is looked at: run `vouch evidence verify`.',
      );
    }
  }

  async function writeLine(current: Tail, line: string): Promise<Tail> {
    let { file, size } = current;
    if (size + Buffer.byteLength(line) > SEGMENT_MAX_BYTES && size > 0) {
      file = numberedSegment(dir, Number(SEGMENT.exec(path.basename(file))![1]) + 1);
      size = 0;
    }
    const handle = await open(file, 'a', 0o644);
    try {
      if (size === 0) await syncDirectory(dir);
      await handle.write(line);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    return { file, size: size + Buffer.byteLength(line), last: null };
  }

  /** Runs `step` holding the append lock, with the tail and key current; serialised in this store. */
  function locked<R>(step: (current: Tail, signer: SigningKey) => Promise<R>): Promise<R> {
    const result = queue.then(async () => {
      const lock = await acquireLockFile(path.join(dir, 'append.lock'), { what: `ledger ${dir}`, waitMs: APPEND_LOCK_WAIT_MS });
      try {
        const current = await currentTail();
        const last = current.last;
        await settleInterruptedRotation(stateDir, last?.type === 'key-rotation' ? String((last.data as { keyId?: unknown }).keyId) : null);
        const signer = await loadOrCreateSigningKey(stateDir);
        await checkHead(last);
        tail = current;
        return await step(current, signer);
      } finally {
        await lock.release();
      }
    });
    queue = result.catch(() => undefined);
    return result;
  }

  async function appendRecord<T>(current: Tail, signer: SigningKey, type: LedgerRecordType, data: T): Promise<LedgerRecord<T>> {
    const previous = current.last ? { seq: current.last.seq, hash: current.last.hash } : null;
    const record = signRecord(nextRecord(previous, type, data), signer);
    const written = await writeLine(current, `${JSON.stringify(record)}\n`);
    tail = { ...written, last: record as LedgerRecord };
    return record;
  }

  async function writeHead(signer: SigningKey): Promise<void> {
    const last = tail?.last;
    if (last) await writeFileAtomic(headPath(stateDir), `${JSON.stringify(signHead(last, signer))}\n`);
  }

  // Bring the head up to date after a crash between a line and its head, and make the key.
  await locked(async (current, signer) => {
    const head = await readHead(stateDir).catch(() => null);
    if (current.last && (!head || head.seq !== current.last.seq || head.hash !== current.last.hash)) await writeHead(signer);
  });

  return {
    append<T>(type: LedgerRecordType, data: T) {
      return locked(async (current, signer) => {
        const record = await appendRecord(current, signer, type, data);
        await writeHead(signer);
        return record;
      });
    },
    head: () => (tail?.last ? { seq: tail.last.seq, hash: tail.last.hash } : null),
    rotateKey() {
      return locked(async (current, signer) => {
        const next = await prepareNextKey(stateDir);
        const { privateKey: _old, ...previous } = signer;
        const record = await appendRecord(current, signer, 'key-rotation', {
          previousKeyId: signer.keyId,
          keyId: next.keyId,
          fingerprint: next.fingerprint,
          publicKey: next.pem,
        });
        await promoteNextKey(stateDir);
        await writeHead(next);
        const { privateKey: _new, ...introduced } = next;
        return { previous, current: introduced, record };
      });
    },
    async close() {
      await queue;
    },
  };
}
