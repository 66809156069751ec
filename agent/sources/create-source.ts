/**
 * Builds the BackupSource a set's `source` describes. Adding a source kind = one new file plus
 * one line in FACTORIES (and its case in the policy's SourceSpec).
 */
import type { SourceSpec } from '../config/resolve-policy.js';
import { ConfigError } from '../errors.js';
import type { BackupSource } from './backup-source.js';
import { createFsSource, type FsSourceOptions } from './fs-source.js';
import type { S3SourceOptions } from './s3-source.js';

/** Per-kind settings applied on top of the spec (credentials for the embedded store, test page sizes, timeouts). */
export interface SourceOverrides {
  fs?: FsSourceOptions;
  s3?: Partial<S3SourceOptions>;
}

const FACTORIES = {
  fs: async (spec: { path: string }, overrides: SourceOverrides) => createFsSource(spec.path, overrides.fs),
  // Loaded on first use: the AWS SDK costs ~150 ms of start-up that offline-only runs never need.
  s3: async (spec: S3SourceOptions, overrides: SourceOverrides) => (await import('./s3-source.js')).createS3Source({ ...spec, ...overrides.s3 }),
} satisfies Record<SourceSpec['kind'], (spec: never, overrides: SourceOverrides) => Promise<BackupSource>>;

type Kind = keyof typeof FACTORIES;

/**
 * A resolved policy source (`{ kind: 'fs', path }`, as `resolvePolicy` produces) or the
 * policy-file shape with one key per kind (`{ fs: { path } }`, `{ s3: S3SourceOptions }`).
 */
export type SourceInput = SourceSpec | { [K in Kind]: { [P in K]: Parameters<(typeof FACTORIES)[P]>[0] } }[Kind];

/** Creates the source for `input`; the caller closes it. */
export async function createSource(input: SourceInput, overrides: SourceOverrides = {}): Promise<BackupSource> {
  const entries: [string, unknown][] =
    'kind' in input ? [[input.kind, input]] : Object.entries(input).filter(([, spec]) => spec !== undefined);
  const [kind, spec] = entries.length === 1 ? entries[0]! : [];
  if (kind === undefined || !Object.hasOwn(FACTORIES, kind)) {
    throw new ConfigError(`source: expected exactly one of ${Object.keys(FACTORIES).join(', ')}`);
  }
  const factory = FACTORIES[kind as Kind] as (spec: unknown, overrides: SourceOverrides) => Promise<BackupSource>;
  return factory(spec, overrides);
}
