/**
 * Where the ledger's signed head is also published (a directory or an S3 prefix), as the policy's
 * `evidence.anchor` declares it (config/ parses it, ledger/head-anchor.ts publishes to it). Types only.
 */
import type { S3ConnectionOptions } from './s3-connection.js';

/** An anchor as the policy declares it. */
export type AnchorSpec =
  | { kind: 'directory'; path: string }
  | ({ kind: 's3'; bucket: string; prefix: string } & S3ConnectionOptions);
