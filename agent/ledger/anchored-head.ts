/**
 * An anchored head's name and content, shared by the directory anchor (head-anchor.ts) and the
 * S3 anchor (s3-head-anchor.ts): `000000000042-HASH.json` holding the signed head.
 */
import type { LedgerHead } from './record-signature.js';

/** One anchored head, as its name gives it. */
export interface AnchoredHeadName {
  seq: number;
  hash: string;
  /** Object key or file name, for messages and `get`. */
  name: string;
}

/** Where signed heads are anchored. */
export interface HeadAnchor {
  /** `s3://bucket/prefix` or a directory path, for messages. */
  readonly location: string;
  /** Stores one signed head; storing the same head twice is harmless. */
  put(head: LedgerHead): Promise<void>;
  /** Every anchored head's seq and hash (from names; names vouch did not write are skipped), in seq order. */
  list(): Promise<AnchoredHeadName[]>;
  /** One anchored head's content, or null when it is not a head. */
  get(name: AnchoredHeadName): Promise<LedgerHead | null>;
  close(): void;
}

/** How anchored heads are named. */
export const NAME = /^(\d{12})-([0-9a-f]{64})\.json$/;

/** `000000000042-HASH.json`: sorts by seq, and says what it anchors without being read. */
export function anchoredHeadName(head: Pick<LedgerHead, 'seq' | 'hash'>): string {
  return `${String(head.seq).padStart(12, '0')}-${head.hash}.json`;
}

/** An anchored head's seq and hash from its file or key name. */
export function parseName(base: string, name: string): AnchoredHeadName | null {
  const match = NAME.exec(base);
  return match ? { seq: Number(match[1]), hash: match[2]!, name } : null;
}

/** An anchored head's content, or null when it is not a signed head. */
export function parseHead(text: string): LedgerHead | null {
  try {
    const value = JSON.parse(text) as LedgerHead;
    return value &&
      typeof value.seq === 'number' &&
      typeof value.hash === 'string' &&
      typeof value.sig === 'string' &&
      typeof value.keyId === 'string'
      ? value
      : null;
  } catch {
    return null;
  }
}

/** Orders anchored heads by seq. */
export const bySeq = (a: AnchoredHeadName, b: AnchoredHeadName) =>
  a.seq - b.seq || (a.hash < b.hash ? -1 : 1);
