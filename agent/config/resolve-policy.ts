/** Turns a parsed policy file into the values the agent runs on (seconds, bytes, RegExps, absolute paths). */
import path from 'node:path';
import { DEFAULT_LIMITS, type ArchiveLimits } from '../archives/entry-reader.js';
import { parseByteSize } from './byte-size.js';
import { parseDuration } from './duration.js';
import type { BackupSetFile, PolicyFile } from './policy-schema.js';

/** Where a set's bytes live, as `createSource` takes it. */
export type SourceSpec =
  | { kind: 'fs'; path: string }
  | {
      kind: 's3';
      bucket: string;
      prefix: string;
      region: string;
      endpoint?: string;
      forcePathStyle: boolean;
      checksums: 'when-supported' | 'when-required';
      maxAttempts: number;
      connectTimeoutMs: number;
      idleTimeoutMs: number;
    };

/** Digest algorithms for entries. */
export type DigestAlgorithm = 'sha256' | 'blake3';

/** One backup set, ready to scan. */
export interface SetPolicy {
  name: string;
  source: SourceSpec;
  layout: 'archive' | 'directory';
  /** Applied to the archive or directory name; its `time` group, if any, gives the snapshot time. */
  match?: RegExp;
  algorithm: DigestAlgorithm;
  /** Re-hash unchanged snapshots whose last deep read is older than this; 0 = every scan. */
  rehashSeconds: number;
  verifySums: boolean;
  limits: ArchiveLimits;
  rpoSeconds?: number;
  rtoSeconds?: number;
  schedule?: { scan?: string; drill?: string; timezone: string };
  drill?: { pick: 'latest' | 'last-clean' | 'random'; samplePercent: number; commands: string[]; maxAgeSeconds?: number };
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
  massChange: { minFiles: number; factor: number; floor: number };
}

/** Detection defaults (a set without a `detection` block). */
export const DEFAULT_DETECTION: DetectionPolicy = {
  enabled: true,
  compromisedFiles: 3,
  compromisedFraction: 0.01,
  allow: [],
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
    massChange: { minFiles: detection.massChange.minFiles, factor: detection.massChange.factor, floor: fraction(detection.massChange.floor) },
  };
}

/** Kinds of media a copy can live on. */
export type StorageMedia = 'object-storage' | 'disk' | 'tape' | 'optical' | 'other';

/** A data set whose copies live in several sets. */
export interface DatasetPolicy {
  name: string;
  copies: string[];
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
}

function seconds(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseDuration(value)!;
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
  if (source.fs) return { kind: 'fs', path: path.resolve(baseDir, source.fs.path) };
  const s3 = source.s3!;
  return {
    kind: 's3',
    bucket: s3.bucket,
    prefix: s3.prefix,
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    checksums: s3.checksums,
    maxAttempts: s3.maxAttempts,
    connectTimeoutMs: seconds(s3.connectTimeout)! * 1000,
    idleTimeoutMs: seconds(s3.idleTimeout)! * 1000,
  };
}

/** Resolves a validated policy file; relative paths are taken from `baseDir` (the file's folder). */
export function resolvePolicy(parsed: PolicyFile, file: string, baseDir: string): Policy {
  const sets = Object.entries(parsed.sets).map(([name, set]): SetPolicy => ({
    name,
    source: resolveSource(set.source, baseDir),
    layout: set.snapshots.layout,
    ...(set.snapshots.match ? { match: new RegExp(set.snapshots.match, 'u') } : {}),
    algorithm: set.integrity.algorithm,
    rehashSeconds: set.integrity.rehash === 'always' ? 0 : seconds(set.integrity.rehash)!,
    verifySums: set.integrity.sums,
    limits: resolveLimits(set.limits),
    rpoSeconds: seconds(set.targets?.rpo),
    rtoSeconds: seconds(set.targets?.rto),
    ...(set.schedule ? { schedule: set.schedule } : {}),
    ...(set.drill
      ? {
          drill: {
            pick: set.drill.pick,
            samplePercent: Number.parseFloat(set.drill.sample),
            commands: set.drill.commands,
            maxAgeSeconds: seconds(set.drill.maxAge),
          },
        }
      : {}),
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
      media: set.storage?.media ?? (set.source.s3 ? 'object-storage' : 'disk'),
      offsite: set.storage?.offsite ?? false,
    },
  }));
  const datasets = Object.entries(parsed.datasets ?? {}).map(([name, data]) => ({ name, copies: data.copies }));
  return { file, ...(parsed.state ? { state: path.resolve(baseDir, parsed.state) } : {}), sets, datasets };
}
