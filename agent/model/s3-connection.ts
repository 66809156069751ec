/**
 * How to reach an S3-compatible store, shared by the policy, the S3 source and the S3 head anchor
 * (sources/s3-client.ts builds a client from it). Types only.
 */

/** Static credentials; for the embedded demo store and tests only. */
export interface S3StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How to reach a store: everything an S3Client needs, none of it about a bucket. */
export interface S3ConnectionOptions {
  /** Default: `us-east-1` with an `endpoint`, otherwise the SDK chain (AWS_REGION, profile). */
  region?: string;
  /** S3-compatible endpoint URL; omit for AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`); most S3-compatible stores need it. */
  forcePathStyle?: boolean;
  /** Attempts per request, the first included. Default 5. */
  maxAttempts?: number;
  /** SDK retry mode. Default `standard`. */
  retryMode?: 'standard' | 'adaptive';
  /** TCP connect timeout. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** A request or body that receives no bytes for this long fails. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /**
   * SDK request checksum calculation and response checksum validation. Default `when-supported`;
   * S3-compatible stores that do not understand `aws-chunked` uploads or flexible checksums need
   * `when-required`.
   */
  checksums?: 'when-required' | 'when-supported';
  /** Omit to use the SDK default credential chain. */
  credentials?: S3StaticCredentials;
  /** Concurrent connections to the store. Default 32. */
  maxSockets?: number;
}
