/**
 * The ledger on disk: `ledger/NNNNNNNN.ndjson` segments, one signed record per line, append-only,
 * plus `ledger/head.json`, the signed head (the newest record's seq and hash).
 *
 * Appends from any number of processes (a scan, drills of several sets, the daemon) chain in one
 * order: each takes the short `ledger/append.lock`, re-reads the tail when another writer moved
 * it, appends and fsyncs the line, then rewrites the head. A crash mid-append leaves at most a
 * torn last line (no newline), which the next writer cuts off; a complete line is never
 * rewritten. A new ledger gets a signed head at seq 0 before its first record, and every append
 * rewrites the head after its line, so a crash leaves the head at most one record behind — never
 * missing, never unreadable (it is replaced atomically).
 *
 * Evidence that cannot be rolled back: a writer refuses (EvidenceRecoveryError, exit 1) when the
 * head is missing, unreadable, not signed by a known key, ahead of the ledger or for another
 * record, or when the signing key is gone while the ledger holds signed records. Writing on would
 * sign over the damage — a fresh head over a shortened ledger, or a new key nobody vouched for.
 * The way forward is explicit and recorded: `vouch evidence verify`, then `vouch evidence
 * recover-head` or `vouch evidence rotate-key --lost` (a signed record of what was found).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { AnchorPublisher } from './head-anchor.js';
import { type HeadAnchor } from './anchored-head.js';
import {
  GENESIS_HASH,
  nextRecord,
  parseRecordLine,
  type LedgerRecord,
  type LedgerRecordType,
} from './ledger-record.js';
import { headSignatureValid, signHead, signRecord, type LedgerHead } from './record-signature.js';
import { MAX_RECORD_LINE_BYTES, recordLine } from './record-line.js';
import { readSegmentLines } from './segment-lines.js';
import {
  createSigningKey,
  loadSigningKey,
  prepareNextKey,
  promoteNextKey,
  settleInterruptedRotation,
  signingKeyPath,
  storedPublicKeys,
  type PublicKeyInfo,
  type SigningKey,
} from './signing-key.js';
import { VouchError } from '../errors.js';
import { syncDirectory, writeFileAtomic } from '../fs/atomic-write.js';
import { acquireLockFile } from '../fs/lock-file.js';

const SEGMENT = /^(\d{8})\.ndjson$/;
const SEGMENT_MAX_BYTES = 64 * 2 ** 20;
/** How long an append waits for another writer's append (appends take milliseconds). */
const APPEND_LOCK_WAIT_MS = 120_000;

/** What a key rotation did. */
export interface KeyRotation {
  previous: PublicKeyInfo | { keyId: string; fingerprint: string | null };
  current: PublicKeyInfo;
  /** The `key-rotation` record (signed by the previous key) or `key-replaced` record (signed by the new key). */
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
  /** Heads that could not be anchored (see head-anchor.ts); empty without an anchor. */
  anchorProblems(): string[];
  /** Waits for pending appends and anchoring. */
  close(): Promise<void>;
}

/** The ledger's condition as a recovery command finds it (see `openLedgerForRecovery`). */
export interface LedgerCondition {
  /** The last complete record, or null for an empty ledger. */
  last: { seq: number; hash: string; prev: string; keyId?: string } | null;
  head: HeadFile;
  /** Why an ordinary writer would refuse, or null when it would not. */
  headProblem: string | null;
  keyPresent: boolean;
}

/** Writes only the recovery commands make; they skip the checks that stop ordinary writers. */
export interface RecoveryLedger {
  condition(): Promise<LedgerCondition>;
  /** Signs a new head at the last record, after a `head-recovered` record saying what was found. */
  recoverHead(found: Record<string, unknown>): Promise<LedgerRecord>;
  /** Introduces a new signing key with a `key-replaced` record signed by the new key itself. */
  replaceLostKey(found: Record<string, unknown>): Promise<KeyRotation>;
  close(): Promise<void>;
}

/** Options of `openLedger`. */
export interface LedgerOptions {
  /** Also store every signed head here (policy `evidence.anchor`); the store closes it. */
  anchor?: HeadAnchor;
  /** Told of every head that could not be anchored (the append itself goes on). */
  onAnchorProblem?: (message: string) => void;
}

/** The ledger needs an operator before anything more is written (the message says what to run). */
export class EvidenceRecoveryError extends VouchError {
  override name = 'EvidenceRecoveryError';
}

/** The signed head says the ledger had records that are gone. */
export class LedgerTruncatedError extends EvidenceRecoveryError {
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
  return names
    .filter((name) => SEGMENT.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

/**
 * A cheap fingerprint of the ledger's segment files — their names, sizes and modification times —
 * that changes whenever a record is appended or a segment is edited, added or removed, so a
 * verification can be cached until it changes. Reads no record. An unreadable or missing
 * `ledger/` fingerprints as the empty string; a segment that vanishes while it is being read
 * rejects.
 */
export async function ledgerFilesFingerprint(stateDir: string): Promise<string> {
  const files = await segmentFiles(stateDir).catch(() => [] as string[]);
  const parts = await Promise.all(
    files.map(async (file) => {
      const stats = await stat(file);
      return `${path.basename(file)}:${stats.size}:${stats.mtimeMs}`;
    }),
  );
  return parts.join('|');
}

/** One stored line of a segment. */
export interface StoredLine {
  /** The line's bytes without its newline; null when it is longer than MAX_RECORD_LINE_BYTES (not kept). */
  bytes: Buffer | null;
  /** Its length in bytes. */
  length: number;
  /** Segment file name and 1-based line number. */
  segment: string;
  line: number;
  /** False for a last line without its newline (a crash mid-append). */
  complete: boolean;
}

/**
 * Every line of every segment in order, blank ones included, in time linear in the ledger's size
 * and memory bounded by the longest line kept (a line over the cap is counted, not buffered).
 */
export async function* readStoredLines(stateDir: string): AsyncGenerator<StoredLine> {
  const files = await segmentFiles(stateDir);
  for (const [index, file] of files.entries()) {
    const segment = path.basename(file);
    let line = 0;
    for await (const stored of readSegmentLines(file)) {
      line++;
      yield {
        bytes: stored.bytes,
        length: stored.length,
        segment,
        line,
        complete: stored.terminated || index < files.length - 1,
      };
    }
  }
}

/** Every record in stored order (read-only; needs no lock). Lines that are not records are yielded as null; a torn last line is skipped. */
export async function* readLedger(stateDir: string): AsyncGenerator<LedgerRecord | null> {
  for await (const stored of readStoredLines(stateDir)) {
    if (!stored.complete) continue;
    yield stored.bytes && stored.bytes.length ? parseRecordLine(stored.bytes.toString('utf8')) : null;
  }
}

/** `ledger/head.json` as found. */
export type HeadFile =
  | { state: 'missing' }
  | { state: 'unreadable'; detail: string; sha256: string; bytes: number }
  | { state: 'present'; head: LedgerHead };

/** Reads `ledger/head.json` without judging it beyond its shape. */
export async function readHeadFile(stateDir: string): Promise<HeadFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(headPath(stateDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    throw new EvidenceRecoveryError(
      `cannot read the ledger head ${headPath(stateDir)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  const unreadable = (detail: string): HeadFile => ({
    state: 'unreadable',
    detail,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  });
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return unreadable(bytes.length === 0 ? 'it is empty' : 'it is not JSON');
  }
  const head = value as Partial<LedgerHead> | null;
  if (
    !head ||
    typeof head !== 'object' ||
    typeof head.seq !== 'number' ||
    !Number.isInteger(head.seq) ||
    head.seq < 0 ||
    typeof head.hash !== 'string' ||
    typeof head.time !== 'string' ||
    typeof head.keyId !== 'string' ||
    typeof head.sig !== 'string'
  ) {
    return unreadable('it is not a signed head (seq, hash, time, keyId, sig)');
  }
  return { state: 'present', head: head as LedgerHead };
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
      const line = buffer.toString('utf8', lineStart + 1, lastNewline);
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

const RECOVER = 'Look first: `vouch evidence verify` (with --anchor when the policy anchors heads)';

/**
 * Why an ordinary writer must not write on, or null. `last` is the ledger's last record; a head
 * one record behind it (a crash between the line and the head) or a seq-0 head before the first
 * record is fine.
 */
function headProblem(
  file: string,
  found: HeadFile,
  last: LedgerRecord | null,
  keys: Map<string, PublicKeyInfo>,
): string | null {
  const lastSeq = last?.seq ?? 0;
  if (found.state === 'missing') {
    // A ledger with no signed record predates signing (or is empty): nothing was claimed yet.
    if (!last?.keyId) return null;
    return `the ledger head ${file} is missing, but the ledger holds ${lastSeq} records: records may have been cut off the end, and a new head would hide it. ${RECOVER}, then \`vouch evidence recover-head\` to sign a new head at seq ${lastSeq} with a record saying it was recovered.`;
  }
  if (found.state === 'unreadable') {
    return `the ledger head ${file} is unreadable (${found.detail}), and the ledger holds ${lastSeq} records: nothing shows whether records were cut off the end. ${RECOVER}, then \`vouch evidence recover-head\`.`;
  }
  const { head } = found;
  const key = keys.get(head.keyId);
  if (!key || !headSignatureValid(head, key.key)) {
    return `the ledger head ${file} is not signed by a key of this state directory (key ${head.keyId}): it was replaced. ${RECOVER}, then \`vouch evidence recover-head\`.`;
  }
  if (head.seq > lastSeq) {
    return `the ledger ends at seq ${lastSeq} but its signed head (written ${head.time}) records seq ${head.seq}: records ${lastSeq + 1}–${head.seq} were cut off the end. Nothing more is appended until this is looked at: ${RECOVER}; restore the ledger from a backup, or record the loss with \`vouch evidence recover-head\`.`;
  }
  if (head.seq === lastSeq && head.hash === (last?.hash ?? GENESIS_HASH)) return null;
  if (last && head.seq === lastSeq - 1 && head.hash === last.prev) return null;
  return `the ledger head ${file} (seq ${head.seq}, written ${head.time}) is not for the ledger's last record (seq ${lastSeq}) nor the one before it: an older head was put back or the ledger was rewritten. ${RECOVER}, then \`vouch evidence recover-head\`.`;
}

/** The ledger writer: the append lock, the tail, the key and the head, shared by ordinary and recovery writes. */
class LedgerWriter {
  private readonly dir: string;
  private tail: Tail | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private keys = new Map<string, PublicKeyInfo>();
  readonly publisher: AnchorPublisher | null;

  constructor(
    private readonly stateDir: string,
    options: LedgerOptions,
  ) {
    this.dir = ledgerDir(stateDir);
    this.publisher = options.anchor ? new AnchorPublisher(options.anchor, options.onAnchorProblem) : null;
  }

  head(): { seq: number; hash: string } | null {
    return this.tail?.last ? { seq: this.tail.last.seq, hash: this.tail.last.hash } : null;
  }

  /** The current tail, re-read (and a torn line cut) only when another writer moved it. */
  async currentTail(): Promise<Tail> {
    const files = await segmentFiles(this.stateDir);
    const file = files.at(-1) ?? numberedSegment(this.dir, 1);
    const size = files.length ? (await stat(file)).size : 0;
    if (this.tail && this.tail.file === file && this.tail.size === size) return this.tail;
    const lastLine = files.length ? await repairTail(file) : null;
    const last = lastLine === null ? null : parseRecordLine(lastLine);
    if (lastLine !== null && (!last || typeof last.seq !== 'number' || typeof last.hash !== 'string')) {
      throw new EvidenceRecoveryError(
        `the last line of ${file} is not a ledger record, so nothing can be chained to it. ${RECOVER}.`,
      );
    }
    return { file, size: files.length ? (await stat(file)).size : 0, last };
  }

  /** Public keys by id: the state's, re-read when a head names one not seen yet. */
  async knownKeys(keyId: string, signer: SigningKey | null): Promise<Map<string, PublicKeyInfo>> {
    if (signer) this.keys.set(signer.keyId, signer);
    if (!this.keys.has(keyId))
      for (const [id, key] of await storedPublicKeys(this.stateDir)) this.keys.set(id, key);
    return this.keys;
  }

  /** Runs `step` holding the append lock with the tail current; serialised within this writer. */
  locked<R>(step: (current: Tail) => Promise<R>): Promise<R> {
    const result = this.queue.then(async () => {
      const lock = await acquireLockFile(path.join(this.dir, 'append.lock'), {
        what: `ledger ${this.dir}`,
        waitMs: APPEND_LOCK_WAIT_MS,
      });
      try {
        const current = await this.currentTail();
        const last = current.last;
        await settleInterruptedRotation(
          this.stateDir,
          last && (last.type === 'key-rotation' || last.type === 'key-replaced')
            ? String((last.data as { keyId?: unknown }).keyId)
            : null,
        );
        this.tail = current;
        return await step(current);
      } finally {
        await lock.release();
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The signing key and a sound head, or the EvidenceRecoveryError that stops ordinary writers. */
  async checkedSigner(current: Tail, repairHead: boolean): Promise<SigningKey> {
    const last = current.last;
    let signer = await loadSigningKey(this.stateDir);
    if (!signer) {
      if (last?.keyId) {
        throw new EvidenceRecoveryError(
          `the signing key ${signingKeyPath(this.stateDir)} is missing, but the ledger's ${last.seq} records are signed (last by key ${last.keyId}): a new key would silently take its place. ${RECOVER}, then \`vouch evidence rotate-key --lost\` to introduce a new key with a signed record (auditors who pinned the old key must pin the new one).`,
        );
      }
      signer = await createSigningKey(this.stateDir);
    }
    const found = await readHeadFile(this.stateDir);
    const keys = await this.knownKeys(found.state === 'present' ? found.head.keyId : signer.keyId, signer);
    const problem = headProblem(headPath(this.stateDir), found, last, keys);
    if (problem)
      throw found.state === 'present' && found.head.seq > (last?.seq ?? 0)
        ? new LedgerTruncatedError(problem)
        : new EvidenceRecoveryError(problem);
    // Bring the head up to date: a crash between a line and its head, a new ledger's seq-0
    // head, or a ledger from before signing.
    const current_ = found.state === 'present' ? found.head : null;
    const wanted = { seq: last?.seq ?? 0, hash: last?.hash ?? GENESIS_HASH };
    if (repairHead && (!current_ || current_.seq !== wanted.seq || current_.hash !== wanted.hash))
      await this.writeHead(wanted, signer);
    return signer;
  }

  async appendRecord<T>(
    current: Tail,
    signer: SigningKey,
    type: LedgerRecordType,
    data: T,
  ): Promise<LedgerRecord<T>> {
    const previous = current.last ? { seq: current.last.seq, hash: current.last.hash } : null;
    const record = signRecord(nextRecord(previous, type, data), signer);
    const line = `${recordLine(record)}\n`;
    const bytes = Buffer.byteLength(line);
    if (bytes > MAX_RECORD_LINE_BYTES) {
      throw new VouchError(
        `a ${type} record of ${bytes} bytes is over the ledger's ${MAX_RECORD_LINE_BYTES}-byte line limit; it was not written`,
      );
    }
    let { file, size } = current;
    if (size + bytes > SEGMENT_MAX_BYTES && size > 0) {
      file = numberedSegment(this.dir, Number(SEGMENT.exec(path.basename(file))![1]) + 1);
      size = 0;
    }
    const handle = await open(file, 'a', 0o644);
    try {
      if (size === 0) await syncDirectory(this.dir);
      await handle.write(line);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.tail = { file, size: size + bytes, last: record };
    return record;
  }

  async writeHead(at: { seq: number; hash: string }, signer: SigningKey): Promise<void> {
    const head = signHead(at, signer);
    await writeFileAtomic(headPath(this.stateDir), `${JSON.stringify(head)}\n`);
    this.publisher?.publish(head);
  }

  async writeHeadAtTail(signer: SigningKey): Promise<void> {
    const last = this.tail?.last;
    if (last) await this.writeHead(last, signer);
  }

  async close(): Promise<void> {
    await this.queue;
    await this.publisher?.flush();
    this.publisher?.anchor.close();
  }
}

/** Opens the ledger for appending. Needs no other lock: appends take the ledger's own. Throws EvidenceRecoveryError when the evidence needs an operator first. */
export async function openLedger(stateDir: string, options: LedgerOptions = {}): Promise<LedgerStore> {
  await mkdir(ledgerDir(stateDir), { recursive: true });
  const writer = new LedgerWriter(stateDir, options);
  await writer.locked((current) => writer.checkedSigner(current, true));
  return {
    append<T>(type: LedgerRecordType, data: T) {
      return writer.locked(async (current) => {
        const signer = await writer.checkedSigner(current, false);
        const record = await writer.appendRecord(current, signer, type, data);
        await writer.writeHeadAtTail(signer);
        return record;
      });
    },
    head: () => writer.head(),
    rotateKey() {
      return writer.locked(async (current) => {
        const signer = await writer.checkedSigner(current, false);
        const next = await prepareNextKey(stateDir);
        const { privateKey: _old, ...previous } = signer;
        const record = await writer.appendRecord(current, signer, 'key-rotation', {
          previousKeyId: signer.keyId,
          keyId: next.keyId,
          fingerprint: next.fingerprint,
          publicKey: next.pem,
        });
        await promoteNextKey(stateDir);
        await writer.writeHeadAtTail(next);
        const { privateKey: _new, ...introduced } = next;
        return { previous, current: introduced, record };
      });
    },
    anchorProblems: () => writer.publisher?.status().problems ?? [],
    close: () => writer.close(),
  };
}

/**
 * Opens the ledger for `vouch evidence recover-head` / `rotate-key --lost` only: no checks on open.
 * The commands decide (from `condition()` and a full verification) whether recovery is sound.
 */
export async function openLedgerForRecovery(
  stateDir: string,
  options: LedgerOptions = {},
): Promise<RecoveryLedger> {
  await mkdir(ledgerDir(stateDir), { recursive: true });
  const writer = new LedgerWriter(stateDir, options);
  return {
    condition() {
      return writer.locked(async (current) => {
        const last = current.last;
        const head = await readHeadFile(stateDir);
        const signer = await loadSigningKey(stateDir);
        const keys = await writer.knownKeys(head.state === 'present' ? head.head.keyId : '', signer);
        return {
          last: last
            ? {
                seq: last.seq,
                hash: last.hash,
                prev: last.prev,
                ...(last.keyId ? { keyId: last.keyId } : {}),
              }
            : null,
          head,
          headProblem: headProblem(headPath(stateDir), head, last, keys),
          keyPresent: signer !== null,
        };
      });
    },
    recoverHead(found) {
      return writer.locked(async (current) => {
        const signer = await loadSigningKey(stateDir);
        if (!signer)
          throw new EvidenceRecoveryError(
            `the signing key ${signingKeyPath(stateDir)} is missing too: run \`vouch evidence rotate-key --lost\` first (it also signs a new head)`,
          );
        const record = await writer.appendRecord(current, signer, 'head-recovered', found);
        await writer.writeHeadAtTail(signer);
        return record;
      });
    },
    replaceLostKey(found) {
      return writer.locked(async (current) => {
        if (await loadSigningKey(stateDir))
          throw new EvidenceRecoveryError(
            `the signing key ${signingKeyPath(stateDir)} is there: use \`vouch evidence rotate-key\` without --lost`,
          );
        const last = current.last;
        const next = await prepareNextKey(stateDir);
        const record = await writer.appendRecord(current, next, 'key-replaced', {
          previousKeyId: last?.keyId ?? null,
          keyId: next.keyId,
          fingerprint: next.fingerprint,
          publicKey: next.pem,
          ...found,
        });
        await promoteNextKey(stateDir);
        await writer.writeHeadAtTail(next);
        const { privateKey: _new, ...introduced } = next;
        return { previous: { keyId: last?.keyId ?? 'none', fingerprint: null }, current: introduced, record };
      });
    },
    close: () => writer.close(),
  };
}
