/**
 * Reads what an S3 bucket says about its own immutability: Object Lock configuration, versioning,
 * lifecycle rules, and per-object retention and legal hold. Only reads; every answer the store
 * cannot give (S3-compatible stores without Object Lock answer 501 NotImplemented) is recorded as
 * `unsupported` or `error`, never guessed.
 */
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { classifyS3Error } from '../sources/s3-client.js';

/** How the store answered one question. */
export type AnswerStatus = 'unsupported' | 'error';

/** The bucket's Object Lock configuration. */
export type ObjectLockFacts =
  | { status: 'enabled'; mode: 'COMPLIANCE' | 'GOVERNANCE' | null; defaultRetentionSeconds: number | null }
  | { status: 'disabled' }
  | { status: AnswerStatus; detail: string };

/** The bucket's versioning state. */
export type VersioningFacts =
  { status: 'enabled' | 'suspended' | 'never-enabled' } | { status: AnswerStatus; detail: string };

/** One lifecycle rule, reduced to what can delete objects. */
export interface LifecycleRuleFacts {
  id: string;
  enabled: boolean;
  /** Key prefix the rule applies to; `''` for the whole bucket (also when the filter uses only tags or sizes). */
  prefix: string;
  expirationDays?: number;
  expirationDate?: string;
  noncurrentDays?: number;
}

/** The bucket's lifecycle configuration. */
export type LifecycleFacts =
  | { status: 'rules'; rules: LifecycleRuleFacts[] }
  | { status: 'none' }
  | { status: AnswerStatus; detail: string };

/** One object's lock state. */
export interface ObjectLockState {
  key: string;
  retention:
    | { status: 'set'; mode: 'COMPLIANCE' | 'GOVERNANCE' | null; retainUntil: string }
    | { status: 'none' }
    | { status: AnswerStatus; detail: string };
  legalHold: { status: 'on' | 'off' } | { status: AnswerStatus; detail: string };
}

/** Everything the bucket said. */
export interface S3BucketFacts {
  bucket: string;
  objectLock: ObjectLockFacts;
  versioning: VersioningFacts;
  lifecycle: LifecycleFacts;
}

const YEAR_SECONDS = 365 * 86_400;

/** Turns an SDK failure into `unsupported` (the store lacks the feature) or `error` (it refused or failed). */
function failed(error: unknown): { status: AnswerStatus; detail: string } {
  const { detail } = classifyS3Error(error);
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return { status: name === 'NotImplemented' || status === 501 ? 'unsupported' : 'error', detail };
}

const errorName = (error: unknown) => (error as { name?: string; Code?: string }).name ?? '';

async function objectLockFacts(client: S3Client, bucket: string): Promise<ObjectLockFacts> {
  try {
    const { ObjectLockConfiguration: config } = await client.send(
      new GetObjectLockConfigurationCommand({ Bucket: bucket }),
    );
    if (config?.ObjectLockEnabled !== 'Enabled') return { status: 'disabled' };
    const retention = config.Rule?.DefaultRetention;
    const seconds = retention?.Days
      ? retention.Days * 86_400
      : retention?.Years
        ? retention.Years * YEAR_SECONDS
        : null;
    const mode = retention?.Mode === 'COMPLIANCE' || retention?.Mode === 'GOVERNANCE' ? retention.Mode : null;
    return { status: 'enabled', mode, defaultRetentionSeconds: seconds };
  } catch (error) {
    if (errorName(error) === 'ObjectLockConfigurationNotFoundError') return { status: 'disabled' };
    return failed(error);
  }
}

async function versioningFacts(client: S3Client, bucket: string): Promise<VersioningFacts> {
  try {
    const { Status } = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    return {
      status: Status === 'Enabled' ? 'enabled' : Status === 'Suspended' ? 'suspended' : 'never-enabled',
    };
  } catch (error) {
    return failed(error);
  }
}

function ruleFacts(rule: LifecycleRule, index: number): LifecycleRuleFacts {
  const filter = rule.Filter;
  const prefix = filter?.Prefix ?? filter?.And?.Prefix ?? rule.Prefix ?? '';
  return {
    id: rule.ID ?? `rule ${index + 1}`,
    enabled: rule.Status === 'Enabled',
    prefix,
    ...(rule.Expiration?.Days !== undefined ? { expirationDays: rule.Expiration.Days } : {}),
    ...(rule.Expiration?.Date ? { expirationDate: new Date(rule.Expiration.Date).toISOString() } : {}),
    ...(rule.NoncurrentVersionExpiration?.NoncurrentDays !== undefined
      ? { noncurrentDays: rule.NoncurrentVersionExpiration.NoncurrentDays }
      : {}),
  };
}

async function lifecycleFacts(client: S3Client, bucket: string): Promise<LifecycleFacts> {
  try {
    const { Rules } = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    return Rules?.length ? { status: 'rules', rules: Rules.map(ruleFacts) } : { status: 'none' };
  } catch (error) {
    if (errorName(error) === 'NoSuchLifecycleConfiguration') return { status: 'none' };
    return failed(error);
  }
}

/** Reads the bucket-level facts. */
export async function readBucketFacts(client: S3Client, bucket: string): Promise<S3BucketFacts> {
  const [objectLock, versioning, lifecycle] = await Promise.all([
    objectLockFacts(client, bucket),
    versioningFacts(client, bucket),
    lifecycleFacts(client, bucket),
  ]);
  return { bucket, objectLock, versioning, lifecycle };
}

/** Errors that mean "this object has no retention / the bucket has no Object Lock", not a failure. */
const NO_RETENTION = new Set(['NoSuchObjectLockConfiguration', 'ObjectLockConfigurationNotFoundError']);

function noLockConfigured(error: unknown): boolean {
  const name = errorName(error);
  const message = (error as { message?: string }).message ?? '';
  return NO_RETENTION.has(name) || (name === 'InvalidRequest' && /Object Lock/i.test(message));
}

/** Reads one object's retention and legal hold. */
export async function readObjectLockState(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<ObjectLockState> {
  const [retention, legalHold] = await Promise.all([
    client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key })).then(
      ({ Retention }): ObjectLockState['retention'] =>
        Retention?.RetainUntilDate
          ? {
              status: 'set',
              mode:
                Retention.Mode === 'COMPLIANCE' || Retention.Mode === 'GOVERNANCE' ? Retention.Mode : null,
              retainUntil: new Date(Retention.RetainUntilDate).toISOString(),
            }
          : { status: 'none' },
      (error): ObjectLockState['retention'] => (noLockConfigured(error) ? { status: 'none' } : failed(error)),
    ),
    client.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key })).then(
      ({ LegalHold }): ObjectLockState['legalHold'] => ({
        status: LegalHold?.Status === 'ON' ? 'on' : 'off',
      }),
      (error): ObjectLockState['legalHold'] => (noLockConfigured(error) ? { status: 'off' } : failed(error)),
    ),
  ]);
  return { key, retention, legalHold };
}
