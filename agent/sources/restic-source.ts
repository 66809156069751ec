/**
 * restic repositories as a source, through the `restic` binary (Debian `restic`): `restic
 * snapshots --json` lists the snapshots (filtered by host, paths and tags), `restic dump --archive
 * tar ID /` streams one. restic decrypts, checks every blob's MAC and SHA-256 as it loads it, and
 * takes its shared lock (unless `lock: false`); vouch reads the entries.
 *
 * Each restic snapshot is one vouch snapshot: its id is restic's short id (the full id where two
 * short ids collide), its time restic's, and its identity (`etag`) restic's full snapshot id — a
 * SHA-256 over the snapshot, which names its tree, whose id is a hash over every file's blob ids:
 * restic's own content hashes, which the baseline records. Entry paths are the snapshot's paths
 * without the leading `/` (`srv/orders/db/orders.sql`), as `restic ls` shows them.
 */
import { VouchError } from '../errors.js';
import { runTool, type ToolOptions } from '../tools/tool-process.js';
import type { BackupSource, RepositorySnapshot } from './backup-source.js';
import {
  RepositoryError,
  repositorySource,
  snapshotObject,
  uniqueShortIds,
  type RepositoryProblem,
} from './repository-source.js';

/** A restic set's source settings (the policy's `source.restic`, resolved). */
export interface ResticSourceOptions {
  repository: string;
  passwordFile?: string;
  host?: string;
  paths?: string[];
  tags?: string[];
  /** Take restic's shared lock while reading (default true). */
  lock?: boolean;
  /** The set, for messages. */
  set?: string;
  /** Environment for restic (default: vouch's). */
  env?: NodeJS.ProcessEnv;
}

/** One element of `restic snapshots --json`. */
interface ResticSnapshotJson {
  id: string;
  short_id?: string;
  time: string;
  tree: string;
  paths?: string[];
  hostname?: string;
  tags?: string[] | null;
}

const PASSWORD_VARIABLES = ['RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD', 'RESTIC_PASSWORD_COMMAND'];

/** What restic's stderr says went wrong (pure). */
export function classifyResticFailure(stderr: string): RepositoryProblem {
  if (/wrong password|no key found/i.test(stderr)) return 'wrong-password';
  if (/empty password|unable to read password|resolving password|password .*command/i.test(stderr))
    return 'no-password';
  if (/already locked|unable to create lock/i.test(stderr)) return 'locked';
  if (/unable to open config file|is there a repository|repository does not exist/i.test(stderr))
    return 'not-a-repository';
  return 'failed';
}

/** Parses `restic snapshots --json` into repository snapshots (pure). */
export function parseResticSnapshots(json: string, repository: string): RepositorySnapshot[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new VouchError(
      `restic snapshots --json printed something that is not JSON (${json.slice(0, 80)}…)`,
      { cause: error },
    );
  }
  if (!Array.isArray(parsed)) throw new VouchError('restic snapshots --json did not print a list');
  const snapshots = (parsed as ResticSnapshotJson[]).filter(
    (item) => typeof item?.id === 'string' && /^[0-9a-f]{64}$/.test(item.id),
  );
  const ids = uniqueShortIds(
    snapshots.map((item) => ({ id: item.id, shortId: item.short_id ?? item.id.slice(0, 8) })),
  );
  return snapshots.map((item) => {
    const time = new Date(item.time);
    if (Number.isNaN(time.getTime()))
      throw new VouchError(
        `restic snapshot ${item.id} in ${repository} has a time vouch cannot read: ${item.time}`,
      );
    return {
      id: ids.get(item.id)!,
      time,
      object: snapshotObject(item.id, item.id, time),
      paths: item.paths ?? [],
      ...(item.hostname ? { host: item.hostname } : {}),
      tags: item.tags ?? [],
    };
  });
}

/** A restic repository as a BackupSource (see the module comment). */
export function createResticSource(options: ResticSourceOptions): BackupSource {
  const env = options.env ?? process.env;
  const common = [
    '--repo',
    options.repository,
    '--quiet',
    ...(options.passwordFile ? ['--password-file', options.passwordFile] : []),
    ...(options.lock === false ? ['--no-lock'] : []),
  ];
  const toolOptions = (): ToolOptions => {
    if (!options.passwordFile && !PASSWORD_VARIABLES.some((name) => env[name])) {
      throw new RepositoryError(
        'no-password',
        `${options.set ? `set ${options.set}: ` : ''}restic:${options.repository}: no password: set source.restic.passwordFile, or ${PASSWORD_VARIABLES.join(' / ')} in vouch's environment`,
      );
    }
    // Without RESTIC_REPOSITORY_FILE and friends from the environment overriding --repo.
    const { RESTIC_REPOSITORY: _repository, RESTIC_REPOSITORY_FILE: _repositoryFile, ...rest } = env;
    return { env: rest };
  };
  return repositorySource({
    tool: 'restic',
    location: `restic:${options.repository}`,
    ...(options.set ? { set: options.set } : {}),
    async listSnapshots() {
      const filters = [
        ...(options.host ? ['--host', options.host] : []),
        ...(options.paths ?? []).flatMap((backedUp) => ['--path', backedUp]),
        ...(options.tags?.length ? ['--tag', options.tags.join(',')] : []),
      ];
      const json = await runTool('restic', [...common, 'snapshots', '--json', ...filters], toolOptions());
      return parseResticSnapshots(json.toString('utf8'), options.repository);
    },
    tarArguments: (key) => [...common, 'dump', '--archive', 'tar', key, '/'],
    toolOptions,
    classify: classifyResticFailure,
    advice: {
      'wrong-password':
        'check source.restic.passwordFile (or RESTIC_PASSWORD_FILE / RESTIC_PASSWORD / RESTIC_PASSWORD_COMMAND)',
      'no-password':
        "set source.restic.passwordFile, or RESTIC_PASSWORD_FILE / RESTIC_PASSWORD / RESTIC_PASSWORD_COMMAND in vouch's environment",
      locked:
        'the next scan reads it again; a read-only or append-only repository needs source.restic.lock: false; a stale lock left by a crashed restic is removed by `restic unlock`',
      'not-a-repository':
        "check source.restic.repository (and, for s3:/rest:/sftp: repositories, their credentials in vouch's environment)",
    },
  });
}
