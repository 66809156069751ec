/**
 * ed25519 signatures over ledger records and the ledger head. A record's signature covers its
 * `hash` (which covers everything else in the record, its place in the chain included); the head
 * signature covers the head's seq, hash and time. Each signed message starts with its own
 * domain string, so a record signature can never pass as a head signature or the reverse.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, type LedgerRecord } from './ledger-record.js';
import type { SigningKey } from './signing-key.js';
import { now as clockNow } from '../clock.js';

const RECORD_DOMAIN = 'vouch-ledger-record/v1\n';
const HEAD_DOMAIN = 'vouch-ledger-head/v1\n';

/** The signed head of the ledger (`ledger/head.json`): the newest record as its writer saw it. */
export interface LedgerHead {
  v: 1;
  seq: number;
  hash: string;
  /** When the head was written. */
  time: string;
  keyId: string;
  sig: string;
}

function recordMessage(hash: string): Buffer {
  return Buffer.from(RECORD_DOMAIN + hash, 'utf8');
}

function headMessage(head: Pick<LedgerHead, 'seq' | 'hash' | 'time'>): Buffer {
  return Buffer.from(
    HEAD_DOMAIN + canonicalJson({ seq: head.seq, hash: head.hash, time: head.time }),
    'utf8',
  );
}

/** The record with `keyId` and `sig` set. */
export function signRecord<T>(record: LedgerRecord<T>, key: SigningKey): LedgerRecord<T> {
  return {
    ...record,
    keyId: key.keyId,
    sig: sign(null, recordMessage(record.hash), key.privateKey).toString('base64'),
  };
}

/** True when `record.sig` is `publicKey`'s signature over `record.hash`. */
export function recordSignatureValid(
  record: Pick<LedgerRecord, 'hash' | 'sig'>,
  publicKey: KeyObject,
): boolean {
  if (typeof record.sig !== 'string' || typeof record.hash !== 'string') return false;
  try {
    return verify(null, recordMessage(record.hash), publicKey, Buffer.from(record.sig, 'base64'));
  } catch {
    return false;
  }
}

/** A signed head for the record `{seq, hash}`. */
export function signHead(head: { seq: number; hash: string }, key: SigningKey, now = clockNow()): LedgerHead {
  const body = { seq: head.seq, hash: head.hash, time: now.toISOString() };
  return {
    v: 1,
    ...body,
    keyId: key.keyId,
    sig: sign(null, headMessage(body), key.privateKey).toString('base64'),
  };
}

/** True when the head's signature is `publicKey`'s. */
export function headSignatureValid(head: LedgerHead, publicKey: KeyObject): boolean {
  try {
    return verify(null, headMessage(head), publicKey, Buffer.from(head.sig, 'base64'));
  } catch {
    return false;
  }
}
