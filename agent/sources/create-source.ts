/**
 * Builds the BackupSource a set's `source` describes. Adding a source kind = one new file plus
 * one line in FACTORIES (and its case in the policy's SourceSpec).
 */
import type { SourceSpec } from '../config/resolve-policy.js';
import { ConfigError } from '../errors.js';
import type { BackupSource } from './backup-source.js';
import { createFsSource, type FsSourceOptions } from './fs-source.js';
import { storeLimiter, withReadLimit } from './limited-source.js';
import { withRetries, type RetryOptions, type SourceFault } from './retrying-source.js';
import type { BorgSourceOptions } from './borg-source.js';
import type { ResticSourceOptions } from './restic-source.js';
import type { S3SourceOptions } from './s3-source.js';

/** Per-kind settings applied on top of the spec (credentials for the embedded store, test page sizes, timeouts). */
export interface SourceOverrides {
  fs?: FsSourceOptions;
  s3?: Partial<S3SourceOptions>;
  /** The set the source belongs to (backup tools' errors name it). */
  set?: string;
}

const FACTORIES = {
  fs: async (spec: { path: string }, overrides: SourceOverrides) => createFsSource(spec.path, overrides.fs),
  // Loaded on first use: the AWS SDK costs ~150 ms of start-up that offline-only runs never need.
  s3: async (spec: S3SourceOptions, overrides: SourceOverrides) =>
    (await import('./s3-source.js')).createS3Source({ ...spec, ...overrides.s3 }),
  restic: async (spec: ResticSourceOptions, overrides: SourceOverrides) =>
    (await import('./restic-source.js')).createResticSource({
      ...spec,
      ...(overrides.set ? { set: overrides.set } : {}),
    }),
  borg: async (spec: BorgSourceOptions, overrides: SourceOverrides) =>
    (await import('./borg-source.js')).createBorgSource({
      ...spec,
      ...(overrides.set ? { set: overrides.set } : {}),
    }),
} satisfies Record<SourceSpec['kind'], (spec: never, overrides: SourceOverrides) => Promise<BackupSource>>;

type Kind = keyof typeof FACTORIES;

/**
 * A resolved policy source (`{ kind: 'fs', path }`, as `resolvePolicy` produces) or the
 * policy-file shape with one key per kind (`{ fs: { path } }`, `{ s3: S3SourceOptions }`).
 */
export type SourceInput =
  SourceSpec | { [K in Kind]: { [P in K]: Parameters<(typeof FACTORIES)[P]>[0] } }[Kind];

/** Creates the source for `input`; the caller closes it. */
export async function createSource(
  input: SourceInput,
  overrides: SourceOverrides = {},
): Promise<BackupSource> {
  const entries: [string, unknown][] =
    'kind' in input ? [[input.kind, input]] : Object.entries(input).filter(([, spec]) => spec !== undefined);
  const [kind, spec] = entries.length === 1 ? entries[0]! : [];
  if (kind === undefined || !Object.hasOwn(FACTORIES, kind)) {
    throw new ConfigError(`source: expected exactly one of ${Object.keys(FACTORIES).join(', ')}`);
  }
  const factory = FACTORIES[kind as Kind] as (
    spec: unknown,
    overrides: SourceOverrides,
  ) => Promise<BackupSource>;
  return factory(spec, overrides);
}

/** Objects read at once from one store when the policy does not say (a restic or borg read is one tool process). */
export const DEFAULT_STORE_CONCURRENCY = { fs: 8, s3: 16, restic: 2, borg: 1 } as const;

/** The name of the store a spec reads (sets on one store share its read limit). */
export function storeName(spec: SourceSpec): string {
  if (spec.kind === 's3') return `s3 ${spec.endpoint ?? 'aws'} ${spec.region} ${spec.bucket}`;
  return spec.kind === 'fs' ? `fs ${spec.path}` : `${spec.kind} ${spec.repository}`;
}

/**
 * How persistent reads of a store are. S3 requests are already retried by the SDK (`maxAttempts`,
 * with its backoff and retry quota), so the wrapper adds no second round of request retries; it
 * resumes bodies that break part-way (up to `maxAttempts` times). Filesystem reads (NFS, USB) get
 * three attempts and three resumes; restic and borg reads none.
 */
export function retryPolicyFor(spec: SourceSpec): Pick<RetryOptions, 'openAttempts' | 'resumes'> {
  if (spec.kind === 's3') return { openAttempts: 1, resumes: spec.maxAttempts };
  // restic and borg retry their own backends; a failed tool read is reported, not repeated.
  return spec.kind === 'fs' ? { openAttempts: 3, resumes: 3 } : { openAttempts: 1, resumes: 0 };
}

/**
 * Decorates a set's source the way every reader of it needs: a read limit shared by all sets on
 * the same store (limited-source.ts), then retries and resumable bodies (retrying-source.ts)
 * reporting each fault to `onFault`.
 */
export function decorateSource(
  spec: SourceSpec,
  source: BackupSource,
  options: Omit<RetryOptions, 'openAttempts' | 'resumes'> = {},
): BackupSource {
  const limit = spec.concurrency ?? DEFAULT_STORE_CONCURRENCY[spec.kind];
  return withRetries(withReadLimit(source, storeLimiter(storeName(spec), limit)), {
    ...retryPolicyFor(spec),
    ...options,
  });
}

export type { SourceFault };
