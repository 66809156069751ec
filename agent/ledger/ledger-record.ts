/**
 * Ledger records: canonical JSON (RFC 8785), hash-chained. Each record's `hash` is the SHA-256 of
 * the canonical form of everything but `hash`, `keyId` and `sig`, so a signature over `hash`
 * (added by the signing layer) covers the whole record and its place in the chain.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { now as clockNow } from '../clock.js';

// The package is CommonJS whose typings claim an ES default export; at run time the default
// import is the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * Kinds of facts the ledger records: scans (`scan-run`, `snapshot-scan`, and `scan-aborted` for
 * a scan whose process died mid-way), baselines (a manifest bound to the chain by its SHA-256),
 * verdict changes, restore drills, immutability audits, signing-key rotations, triage
 * (`finding-acceptance`, `acceptance-revocation`: see acceptance-records.ts); and the two
 * recoveries an operator makes explicitly: a head signed anew over a ledger whose head was lost
 * (`head-recovered`) and a lost signing key replaced (`key-replaced`, signed by the new key); and
 * `vouch recover`'s plans (`recovery-plan`: which version of each file, what is lost, the outcome).
 */
export type LedgerRecordType =
  | 'scan-run'
  | 'scan-aborted'
  | 'snapshot-scan'
  | 'baseline'
  | 'snapshot-removed'
  | 'set-finding'
  | 'verdict-change'
  | 'drill'
  | 'immutability-audit'
  | 'key-rotation'
  | 'finding-acceptance'
  | 'acceptance-revocation'
  | 'head-recovered'
  | 'key-replaced'
  | 'recovery-plan';

/** The `prev` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** One ledger record as stored (one line of a segment). */
export interface LedgerRecord<T = unknown> {
  v: 1;
  /** 1, 2, 3… with no gaps. */
  seq: number;
  /** ISO-8601 UTC time of writing. */
  time: string;
  type: LedgerRecordType;
  /** `hash` of the previous record, GENESIS_HASH for the first. */
  prev: string;
  data: T;
  /** SHA-256 (hex) of the canonical record without hash/keyId/sig. */
  hash: string;
  /** Signing key id and ed25519 signature over `hash` (base64); see record-signature.ts. */
  keyId?: string;
  sig?: string;
}

/** One ledger line as a record: an object, or null for anything else (not JSON, an array, a scalar). */
export function parseRecordLine(text: string): LedgerRecord | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as LedgerRecord) : null;
  } catch {
    return null;
  }
}

/** RFC 8785 canonical JSON of a value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/** The hash a record must carry. */
export function recordHash(record: Omit<LedgerRecord, 'hash' | 'keyId' | 'sig'>): string {
  const { v, seq, time, type, prev, data } = record;
  return createHash('sha256').update(canonicalJson({ v, seq, time, type, prev, data })).digest('hex');
}

/** Builds the next record of a chain. */
export function nextRecord<T>(
  head: { seq: number; hash: string } | null,
  type: LedgerRecordType,
  data: T,
  now = clockNow(),
): LedgerRecord<T> {
  const body = {
    v: 1 as const,
    seq: (head?.seq ?? 0) + 1,
    time: now.toISOString(),
    type,
    prev: head?.hash ?? GENESIS_HASH,
    data,
  };
  return { ...body, hash: recordHash(body) };
}

/** What is wrong with the first bad record of a chain. */
export interface ChainBreak {
  seq: number;
  /** Position in the stored sequence (1-based), which differs from seq when records were dropped or reordered. */
  position: number;
  problem: 'edited' | 'dropped-or-reordered' | 'replayed' | 'broken-link' | 'malformed';
  detail: string;
}

/**
 * Checks a chain record by record; returns the first break or null. Pure: feed it records in
 * stored order.
 */
export function createChainChecker(): {
  check(record: LedgerRecord, position: number): ChainBreak | null;
  head(): { seq: number; hash: string } | null;
} {
  let head: { seq: number; hash: string } | null = null;
  const seen = new Set<string>();
  return {
    check(record, position) {
      if (record.v !== 1 || typeof record.seq !== 'number' || typeof record.hash !== 'string') {
        return { seq: record.seq ?? -1, position, problem: 'malformed', detail: 'record lacks v/seq/hash' };
      }
      if (recordHash(record) !== record.hash) {
        return { seq: record.seq, position, problem: 'edited', detail: 'content does not match its hash' };
      }
      if (seen.has(record.hash)) {
        return { seq: record.seq, position, problem: 'replayed', detail: 'the same record appears twice' };
      }
      const expectedSeq = (head?.seq ?? 0) + 1;
      if (record.seq !== expectedSeq) {
        return {
          seq: record.seq,
          position,
          problem: 'dropped-or-reordered',
          detail: `expected seq ${expectedSeq}, found ${record.seq}`,
        };
      }
      if (record.prev !== (head?.hash ?? GENESIS_HASH)) {
        return {
          seq: record.seq,
          position,
          problem: 'broken-link',
          detail: 'prev does not match the previous record',
        };
      }
      seen.add(record.hash);
      head = { seq: record.seq, hash: record.hash };
      return null;
    },
    head: () => head,
  };
}
