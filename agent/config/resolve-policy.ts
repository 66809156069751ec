/** Turns a parsed policy file into the values the agent runs on (seconds, bytes, RegExps, absolute paths). */
import type { AnchorSpec } from '../model/anchor-spec.js';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { DEFAULT_LIMITS, type ArchiveLimits } from '../archives/entry-reader.js';
import { parseByteSize } from './byte-size.js';
import { parseDuration } from './duration.js';
import { drillSchema, type BackupSetFile, type DrillFile, type PolicyFile } from './policy-schema.js';
import type { DigestAlgorithm } from '../model/manifest.js';

/** Where a set's bytes live, as `createSource` takes it. */
export type SourceSpec =
  | { kind: 'fs'; path: string; /** Objects read at once from this store. */ concurrency?: number }
  | {
      kind: 's3';
      /** Objects read at once from this store (across sets). */
      concurrency?: number;
      bucket: string;
      prefix: string;
      region: string;
      endpoint?: string;
      forcePathStyle: boolean;
      checksums: 'when-supported' | 'when-required';
      maxAttempts: number;
      connectTimeoutMs: number;
      idleTimeoutMs: number;
    }
  | {
      kind: 'restic';
      concurrency?: number;
      /** As restic spells it; local paths absolute. */
      repository: string;
      /** Absolute path of the password file; absent: restic's own environment variables. */
      passwordFile?: string;
      host?: string;
      paths: string[];
      tags: string[];
      lock: boolean;
    }
  | {
      kind: 'borg';
      concurrency?: number;
      /** As borg spells it; local paths absolute. */
      repository: string;
      /** Shell glob of archive names (borg --glob-archives). */
      archives?: string;
      lock: boolean;
    };

/** Where a set's snapshots are, for people: a path, `s3://bucket/prefix`, `restic:REPOSITORY`, `borg:REPOSITORY`. */
export function describeSource(source: SourceSpec): string {
  switch (source.kind) {
    case 'fs':
      return source.path;
    case 's3':
      return `s3://${source.bucket}/${source.prefix}`;
    default:
      return `${source.kind}:${source.repository}`;
  }
}

/** Whether a repository string names a local directory (not `s3:…`, `rest:…`, `ssh://…`, `user@host:path`). */
function isLocalRepository(repository: string): boolean {
  return repository.startsWith('/') || repository.startsWith('.') || !/^[^/]*:/.test(repository);
}

/** A repository string with a local path made absolute (relative to the policy file), `local:` prefix dropped. */
export function resolveRepository(repository: string, baseDir: string): string {
  const plain = repository.startsWith('local:') ? repository.slice('local:'.length) : repository;
  return isLocalRepository(plain) ? path.resolve(baseDir, plain) : repository;
}

/** The repository's directory on this machine, or null for remote repositories. */
export function localRepositoryPath(source: SourceSpec): string | null {
  if (source.kind !== 'restic' && source.kind !== 'borg') return null;
  return path.isAbsolute(source.repository) ? source.repository : null;
}

/** One backup set, ready to scan. */
export interface SetPolicy {
  name: string;
  source: SourceSpec;
  layout: 'archive' | 'directory';
  /** Applied to the archive or directory name; its `time` group, if any, gives the snapshot time. */
  match?: RegExp;
  /** Snapshots older than this may leave the store (the backup tool's rotation) without a `snapshot-removed` finding. */
  retentionSeconds?: number;
  algorithm: DigestAlgorithm;
  /** Re-hash unchanged snapshots whose last deep read is older than this; 0 = every scan. */
  rehashSeconds: number;
  /** Sampled verification (replaces rehash): every byte re-read within the window, within the daily budget. */
  sample?: { windowSeconds: number; dailyBytes: number };
  /** Files of one directory snapshot read at once. */
  readConcurrency: number;
  /** Encrypted archive snapshots (.7z): the file holding their password. */
  archivePasswordFile?: string;
  verifySums: boolean;
  limits: ArchiveLimits;
  rpoSeconds?: number;
  rtoSeconds?: number;
  /** IANA zone of snapshot name times without an offset (`snapshots.timezone`; absent: UTC). */
  snapshotTimeZone?: string;
  schedule?: { scan?: string; drill?: string; timezone: string };
  /** How drills of this set run (defaults when the policy has no `drill`). */
  drill: DrillPolicy;
  immutability?: {
    objectLock?: 'compliance' | 'governance' | 'any' | 'off';
    minRetentionSeconds?: number;
    versioning?: 'required' | 'optional';
    /** Snapshot objects whose retention and legal hold are read per audit. */
    sampleObjects: number;
    /** Offline sets: the newest copy must be younger than this. */
    maxAgeSeconds?: number;
  };
  /** Where this copy lives (for the 3-2-1-1-0 rule). */
  storage: { media: StorageMedia; offsite: boolean };
  detection: DetectionPolicy;
}

/** Detection settings of one set. */
export interface DetectionPolicy {
  enabled: boolean;
  /** Strongly encrypted files that make a snapshot compromised… */
  compromisedFiles: number;
  /** …or this share of its files (0…1). */
  compromisedFraction: number;
  /** Glob patterns of paths allowed to hold encrypted content. */
  allow: string[];
  /** The set's archives are password-protected on purpose: a first snapshot of only such files is not suspicious. */
  expectEncryptedArchives: boolean;
  /** `changed`: unchanged bytes keep their judgement (scan/carry-over.ts); `all`: measure every file. */
  remeasure: 'changed' | 'all';
  massChange: { minFiles: number; factor: number; floor: number };
}

/** Detection defaults (a set without a `detection` block). */
export const DEFAULT_DETECTION: DetectionPolicy = {
  enabled: true,
  compromisedFiles: 3,
  compromisedFraction: 0.01,
  allow: [],
  expectEncryptedArchives: false,
  remeasure: 'changed',
  massChange: { minFiles: 20, factor: 5, floor: 0.2 },
};

const fraction = (percent: string) => Number.parseFloat(percent) / 100;

function resolveDetection(detection: BackupSetFile['detection']): DetectionPolicy {
  if (!detection) return DEFAULT_DETECTION;
  return {
    enabled: detection.enabled,
    compromisedFiles: detection.compromisedFiles,
    compromisedFraction: fraction(detection.compromisedFraction),
    allow: detection.allow,
    expectEncryptedArchives: detection.expectEncryptedArchives,
    remeasure: detection.remeasure,
    massChange: {
      minFiles: detection.massChange.minFiles,
      factor: detection.massChange.factor,
      floor: fraction(detection.massChange.floor),
    },
  };
}

/** Kinds of media a copy can live on. */
export type StorageMedia = 'object-storage' | 'disk' | 'tape' | 'optical' | 'other';

/** A data set whose copies live in several sets. */
export interface DatasetPolicy {
  name: string;
  copies: string[];
}

/** One SQL assertion of an application check. */
export interface SqlAssertion {
  name: string;
  sql: string;
  min?: number;
  max?: number;
  equals?: number | string;
  matches?: RegExp;
  /** The value is a timestamp no older than this many seconds before the snapshot time. */
  withinSeconds?: number;
}

/** A user command run in the sandbox. */
export interface DrillCommand {
  name: string;
  /** `sh -c` text, or null when `script` is set. */
  run: string | null;
  /** Absolute path of a script on this machine, mounted read-only in the sandbox. */
  script: string | null;
  args: string[];
  expectExit: number;
  expectOutput?: RegExp;
  timeoutSeconds: number;
}

/** Resource limits of every sandboxed process. */
export interface SandboxLimits {
  cpuSeconds: number;
  memoryBytes: number;
  processes: number;
  fileSizeBytes: number;
  tmpBytes: number;
}

/** How a set's drills run. */
export interface DrillPolicy {
  pick: 'latest' | 'last-clean' | 'random';
  /** random: only snapshots younger than this. */
  windowSeconds?: number;
  samplePercent: number;
  sandbox: 'bwrap' | 'none';
  timeoutSeconds: number;
  limits: SandboxLimits;
  verify: { digests: boolean; structure: boolean };
  commands: DrillCommand[];
  postgres: {
    dump: string;
    format: 'auto' | 'plain' | 'custom';
    database: string;
    assertions: SqlAssertion[];
    timeoutSeconds: number;
  }[];
  sqlite: { path: string; integrity: 'full' | 'quick'; assertions: SqlAssertion[]; timeoutSeconds: number }[];
  /** A passed drill older than this makes the set not ready (default: from the drill schedule). */
  maxAgeSeconds?: number;
  /**
   * The policy declares drills for the set (a `drill` key or a drill schedule): readiness then
   * requires a passed drill, scheduled or not (absent: false).
   */
  declared?: boolean;
}

/** A whole policy, ready to run. */
export interface Policy {
  /** Absolute path of the file it came from (or a description for embedded policies). */
  file: string;
  /** State directory from the file, absolute; flags and environment may override it. */
  state?: string;
  sets: SetPolicy[];
  /** Data sets declared across sets (empty when the policy declares none). */
  datasets: DatasetPolicy[];
  /** Evidence settings: where signed heads are anchored (absent: nowhere). */
  evidence?: { anchor?: AnchorSpec };
  /** How much of the machine a scan uses. */
  concurrency: {
    sets: number;
    /** Analysis threads; null = one per core (at most 8). */ workers: number | null;
  };
}

/** Scan concurrency when the policy says nothing. */
export const DEFAULT_CONCURRENCY: Policy['concurrency'] = { sets: 2, workers: null };

/**
 * Seconds in a duration the schema has already validated (undefined stays undefined). Throws on
 * text that is not a duration: that would be a schema that let it through, a bug in vouch.
 */
function seconds(value: string): number;
function seconds(value: string | undefined): number | undefined;
function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = parseDuration(value);
  if (parsed === null)
    throw new Error(`not a duration: ${JSON.stringify(value)} (the policy schema should have refused it)`);
  return parsed;
}

function resolveLimits(limits: BackupSetFile['limits']): ArchiveLimits {
  const bytes = (value: string | number | undefined, fallback: number) =>
    value === undefined ? fallback : parseByteSize(value)!;
  return {
    maxEntries: limits?.maxEntries ?? DEFAULT_LIMITS.maxEntries,
    maxTotalBytes: bytes(limits?.maxTotalBytes, DEFAULT_LIMITS.maxTotalBytes),
    maxEntryBytes: bytes(limits?.maxEntryBytes, DEFAULT_LIMITS.maxEntryBytes),
    maxRatio: limits?.maxRatio ?? DEFAULT_LIMITS.maxRatio,
    maxPathLength: limits?.maxPathLength ?? DEFAULT_LIMITS.maxPathLength,
    maxDepth: limits?.maxDepth ?? DEFAULT_LIMITS.maxDepth,
  };
}

function resolveSource(source: BackupSetFile['source'], baseDir: string): SourceSpec {
  if (source.fs)
    return { kind: 'fs', path: path.resolve(baseDir, source.fs.path), concurrency: source.fs.concurrency };
  if (source.restic) {
    const restic = source.restic;
    return {
      kind: 'restic',
      repository: resolveRepository(restic.repository, baseDir),
      ...(restic.passwordFile ? { passwordFile: path.resolve(baseDir, restic.passwordFile) } : {}),
      ...(restic.host ? { host: restic.host } : {}),
      paths: restic.paths,
      tags: restic.tags,
      lock: restic.lock,
    };
  }
  if (source.borg) {
    const borg = source.borg;
    return {
      kind: 'borg',
      repository: resolveRepository(borg.repository, baseDir),
      ...(borg.archives ? { archives: borg.archives } : {}),
      lock: borg.lock,
    };
  }
  const s3 = source.s3!;
  return {
    kind: 's3',
    concurrency: s3.concurrency,
    bucket: s3.bucket,
    prefix: s3.prefix,
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    checksums: s3.checksums,
    maxAttempts: s3.maxAttempts,
    connectTimeoutMs: seconds(s3.connectTimeout) * 1000,
    idleTimeoutMs: seconds(s3.idleTimeout) * 1000,
  };
}

function resolveAssertion(
  assertion: DrillFile['sqlite'][number]['assertions'][number],
  rpoSeconds: number | undefined,
  set: string,
): SqlAssertion {
  const within = assertion.within === 'rpo' ? rpoSeconds : seconds(assertion.within);
  if (assertion.within === 'rpo' && rpoSeconds === undefined) {
    throw new ConfigError(
      `sets.${set}.drill: assertion "${assertion.name ?? assertion.sql}" uses within: rpo, but sets.${set}.targets.rpo is not set`,
    );
  }
  return {
    name: assertion.name ?? assertion.sql.replace(/\s+/g, ' ').trim(),
    sql: assertion.sql,
    ...(assertion.min !== undefined ? { min: assertion.min } : {}),
    ...(assertion.max !== undefined ? { max: assertion.max } : {}),
    ...(assertion.equals !== undefined ? { equals: assertion.equals } : {}),
    ...(assertion.matches !== undefined ? { matches: new RegExp(assertion.matches, 'u') } : {}),
    ...(within !== undefined ? { withinSeconds: within } : {}),
  };
}

function resolveDrill(
  drill: DrillFile,
  baseDir: string,
  rpoSeconds: number | undefined,
  set: string,
): DrillPolicy {
  const timeoutSeconds = seconds(drill.timeout);
  const commands = drill.commands.map((command): DrillCommand => {
    if (typeof command === 'string')
      return { name: command, run: command, script: null, args: [], expectExit: 0, timeoutSeconds };
    const script = command.script === undefined ? null : path.resolve(baseDir, command.script);
    return {
      name: command.name ?? command.run ?? [path.basename(script!), ...command.args].join(' '),
      run: command.run ?? null,
      script,
      args: command.args,
      expectExit: command.expectExit,
      ...(command.expectOutput !== undefined ? { expectOutput: new RegExp(command.expectOutput, 'u') } : {}),
      timeoutSeconds: seconds(command.timeout) ?? timeoutSeconds,
    };
  });
  return {
    pick: drill.pick,
    ...(drill.window ? { windowSeconds: seconds(drill.window) } : {}),
    ...(drill.maxAge ? { maxAgeSeconds: seconds(drill.maxAge) } : {}),
    samplePercent: Number.parseFloat(drill.sample),
    sandbox: drill.sandbox,
    timeoutSeconds,
    limits: {
      cpuSeconds: seconds(drill.limits.cpu),
      memoryBytes: parseByteSize(drill.limits.memory)!,
      processes: drill.limits.processes,
      fileSizeBytes: parseByteSize(drill.limits.fileSize)!,
      tmpBytes: parseByteSize(drill.limits.tmp)!,
    },
    verify: drill.verify,
    commands,
    postgres: drill.postgres.map((check) => ({
      dump: check.dump,
      format: check.format,
      database: check.database,
      assertions: check.assertions.map((assertion) => resolveAssertion(assertion, rpoSeconds, set)),
      timeoutSeconds: seconds(check.timeout) ?? timeoutSeconds,
    })),
    sqlite: drill.sqlite.map((check) => ({
      path: check.path,
      integrity: check.integrity,
      assertions: check.assertions.map((assertion) => resolveAssertion(assertion, rpoSeconds, set)),
      timeoutSeconds: seconds(check.timeout) ?? timeoutSeconds,
    })),
  };
}

/** A restic repository on S3-like storage (s3:, b2:, azure:, gs:, swift:): object storage by default. */
function remoteRepository(source: BackupSetFile['source']): boolean {
  return source.restic !== undefined && /^(s3|b2|azure|gs|swift):/.test(source.restic.repository);
}

/** Resolves a validated policy file; relative paths are taken from `baseDir` (the file's folder). */
export function resolvePolicy(parsed: PolicyFile, file: string, baseDir: string): Policy {
  const sets = Object.entries(parsed.sets).map(([name, set]): SetPolicy => ({
    name,
    source: resolveSource(set.source, baseDir),
    // restic and borg snapshots are read as one tar stream each (see sources/repository-source.ts).
    layout: set.snapshots?.layout ?? 'archive',
    ...(set.snapshots?.match ? { match: new RegExp(set.snapshots.match, 'u') } : {}),
    ...(set.snapshots?.timezone ? { snapshotTimeZone: set.snapshots.timezone } : {}),
    ...(set.snapshots?.retention ? { retentionSeconds: seconds(set.snapshots.retention) } : {}),
    ...(set.snapshots?.passwordFile
      ? { archivePasswordFile: path.resolve(baseDir, set.snapshots.passwordFile) }
      : {}),
    algorithm: set.integrity.algorithm,
    rehashSeconds: set.integrity.rehash === 'always' ? 0 : seconds(set.integrity.rehash),
    ...(set.integrity.sample
      ? {
          sample: {
            windowSeconds: seconds(set.integrity.sample.window),
            dailyBytes: parseByteSize(set.integrity.sample.dailyBytes)!,
          },
        }
      : {}),
    readConcurrency: set.concurrency,
    verifySums: set.integrity.sums,
    limits: resolveLimits(set.limits),
    rpoSeconds: seconds(set.targets?.rpo),
    rtoSeconds: seconds(set.targets?.rto),
    ...(set.schedule ? { schedule: set.schedule } : {}),
    drill: {
      ...resolveDrill(set.drill ?? drillSchema.parse({}), baseDir, seconds(set.targets?.rpo), name),
      declared: set.drill !== undefined || set.schedule?.drill !== undefined,
    },
    ...(set.immutability
      ? {
          immutability: {
            objectLock: set.immutability.objectLock,
            minRetentionSeconds: seconds(set.immutability.minRetention),
            versioning: set.immutability.versioning,
            sampleObjects: set.immutability.sampleObjects,
            maxAgeSeconds: seconds(set.immutability.maxAge),
          },
        }
      : {}),
    detection: resolveDetection(set.detection),
    storage: {
      media:
        set.storage?.media ?? (set.source.s3 || remoteRepository(set.source) ? 'object-storage' : 'disk'),
      offsite: set.storage?.offsite ?? false,
    },
  }));
  const datasets = Object.entries(parsed.datasets ?? {}).map(([name, data]) => ({
    name,
    copies: data.copies,
  }));
  const concurrency = parsed.concurrency
    ? {
        sets: parsed.concurrency.sets,
        workers: parsed.concurrency.workers === 'auto' ? null : parsed.concurrency.workers,
      }
    : DEFAULT_CONCURRENCY;
  const anchor = parsed.evidence?.anchor;
  const evidence = anchor?.dir
    ? { anchor: { kind: 'directory' as const, path: path.resolve(baseDir, anchor.dir) } }
    : anchor?.s3
      ? { anchor: { kind: 's3' as const, ...anchor.s3 } }
      : undefined;
  return {
    file,
    ...(parsed.state ? { state: path.resolve(baseDir, parsed.state) } : {}),
    ...(evidence ? { evidence } : {}),
    sets,
    datasets,
    concurrency,
  };
}
