/**
 * S3 client construction and error classification shared by the S3 source and the embedded
 * store: timeouts, a bounded keep-alive pool, SDK retries, checksum mode, and the rule for
 * whether a failed call is worth retrying.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3ConnectionOptions } from '../model/s3-connection.js';

/** Connection defaults (also documented on S3ConnectionOptions). */
export const S3_CONNECTION_DEFAULTS = {
  maxAttempts: 5,
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  checksums: 'when-supported',
  maxSockets: 32,
} as const;

/**
 * Builds an S3Client with vouch's transport settings (timeouts, bounded keep-alive pool, retries,
 * checksum mode). The caller owns it and must `destroy()` it.
 */
export function createS3Client(options: S3ConnectionOptions): S3Client {
  const checksumMode =
    (options.checksums ?? S3_CONNECTION_DEFAULTS.checksums) === 'when-required'
      ? 'WHEN_REQUIRED'
      : 'WHEN_SUPPORTED';
  const agent = { keepAlive: true, maxSockets: options.maxSockets ?? S3_CONNECTION_DEFAULTS.maxSockets };
  const region = options.region ?? (options.endpoint ? 'us-east-1' : undefined);
  const config: S3ClientConfig = {
    ...(region ? { region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? S3_CONNECTION_DEFAULTS.maxAttempts,
    retryMode: options.retryMode ?? 'standard',
    requestChecksumCalculation: checksumMode,
    responseChecksumValidation: checksumMode,
    // A bucket in another region than configured answers 301; follow it rather than fail.
    followRegionRedirects: true,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectTimeoutMs ?? S3_CONNECTION_DEFAULTS.connectTimeoutMs,
      // socketTimeout is the handler's *idle* socket timer: connect → headers, and bodies until
      // the request closes (the S3 source hands GetObject bodies over to withIdleTimeout).
      // requestTimeout, in node-http-handler 4.x, is a time-to-headers deadline that only logs
      // a warning unless throwOnRequestTimeout is set: not the idle timer this option means.
      socketTimeout: options.idleTimeoutMs ?? S3_CONNECTION_DEFAULTS.idleTimeoutMs,
      httpAgent: agent,
      httpsAgent: agent,
    }),
  };
  return new S3Client(config);
}

/** Error names where retrying cannot help, whatever the HTTP status. */
const PERMANENT_NAMES = new Set([
  'NoSuchKey',
  'NoSuchBucket',
  'NoSuchVersion',
  'NotFound',
  'AccessDenied',
  'Forbidden',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AuthorizationHeaderMalformed',
  'InvalidRange',
  'InvalidBucketName',
  'InvalidObjectState',
  'InvalidArgument',
  'PermanentRedirect',
  'CredentialsProviderError',
]);

/** Error names that are transient even when the status says client error (4xx). */
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'RequestTimeTooSkewed',
  'ExpiredToken',
  'TimeoutError',
  'InternalError',
  'ServiceUnavailable',
]);

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number; requestId?: string };
}

/** Whether a failed S3 call could succeed if tried again later, and a one-line description. */
export function classifyS3Error(error: unknown): { permanent: boolean; detail: string } {
  const e = (error ?? {}) as SdkErrorShape;
  const name = e.name && e.name !== 'Error' ? e.name : (e.code ?? 'Error');
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts;
  let permanent: boolean;
  if (PERMANENT_NAMES.has(name)) permanent = true;
  else if (TRANSIENT_NAMES.has(name)) permanent = false;
  else if (/Region is missing/i.test(e.message ?? '')) permanent = true;
  else if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429)
    permanent = true;
  else permanent = false; // 5xx, network errors, timeouts, anything unknown
  const parts = [name];
  if (status !== undefined) parts.push(`(HTTP ${status})`);
  if (attempts !== undefined && attempts > 1) parts.push(`after ${attempts} attempts`);
  const message = e.message && e.message !== name ? `: ${e.message}` : '';
  return { permanent, detail: `${parts.join(' ')}${message}` };
}

/**
 * SDK errors carry the raw HTTP response (socket and all) as `$response`; kept as a `cause` it
 * would flood logs and test output. Hide it from enumeration, keep it readable.
 */
export function quietRawResponse(error: unknown): void {
  if (error && typeof error === 'object' && Object.prototype.propertyIsEnumerable.call(error, '$response')) {
    Object.defineProperty(error, '$response', { enumerable: false });
  }
}
