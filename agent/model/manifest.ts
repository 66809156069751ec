/** Baseline manifests: what a snapshot held the first time vouch read it completely. Persisted in
 * `manifests/` (state/manifest-store.ts owns the file format). Types only. */
import type { ContentSummary } from './content.js';

/** Identity of the object a snapshot was read from (archive layout), as the store reported it. */
export interface ObjectIdentity {
  key: string;
  size: number;
  mtime: string;
  etag?: string;
  versionId?: string;
  /** Digest of the whole object when it was read sequentially. */
  digest?: string;
}

/** First line of a manifest. */
export interface ManifestHeader {
  format: 'vouch-manifest';
  /** 1: entries in read order, one gzip member; 2: sorted by path, block gzip (manifest-store.ts). */
  version: 1 | 2;
  set: string;
  snapshot: string;
  /** Snapshot time (ISO-8601). */
  snapshotTime: string;
  layout: 'archive' | 'directory';
  algorithm: DigestAlgorithm;
  createdAt: string;
  /** The archive object (archive layout only). */
  object?: ObjectIdentity;
  /** How detection judged the entries' `content` (absent when detection was off). */
  detection?: DetectionStamp;
}

/**
 * Which detection wrote a manifest's content judgements: an entry whose bytes are unchanged keeps
 * its judgement only when the same detection, against the same history, made it
 * (scan/carry-over.ts).
 */
export interface DetectionStamp {
  /** The vouch version that judged. */
  version: string;
  /** The manifest judged against as history, `snapshot@createdAt` (manifestIdentity), or null for none. */
  previous: string | null;
}

/** One entry of a manifest. */
export interface ManifestEntry {
  path: string;
  type: EntryType;
  size: number;
  /** Content digest (files only). */
  digest?: string;
  linkTarget?: string;
  /** Store identity of a plain object (directory layout). */
  etag?: string;
  versionId?: string;
  mtime?: string;
  /** What detection judged the content to be (files only), for the next snapshot's history. */
  content?: ContentSummary;
}

/** What an entry is. Only `file` entries have content. */
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'device' | 'fifo' | 'other';

/** Digest algorithms for entries. */
export type DigestAlgorithm = 'sha256' | 'blake3';
