/**
 * borg repositories as a source, through the `borg` binary (Debian `borgbackup`): `borg list
 * --json` lists the archives, `borg export-tar REPO::ARCHIVE -` streams one. borg decrypts and
 * checks every chunk (segment CRC, MAC) as it reads it; the passphrase comes from BORG_PASSPHRASE,
 * BORG_PASSCOMMAND or BORG_PASSPHRASE_FD in vouch's environment, never from the policy.
 *
 * Each archive is one vouch snapshot: its id is the archive's name (unique in a repository), its
 * time the archive's, and its identity (`etag`) borg's archive id — so an archive deleted and
 * re-created under the same name is drift, not the same snapshot. borg runs with TZ=UTC: its JSON
 * times carry no offset.
 */
import { VouchError } from '../errors.js';
import { runTool } from '../tools/tool-process.js';
import type { BackupSource, RepositorySnapshot } from './backup-source.js';
import { repositorySource, snapshotObject, type RepositoryProblem } from './repository-source.js';

/** A borg set's source settings (the policy's `source.borg`, resolved). */
export interface BorgSourceOptions {
  repository: string;
  /** Shell glob of archive names (borg --glob-archives). */
  archives?: string;
  /** Take borg's lock while reading (default true); false: --bypass-lock. */
  lock?: boolean;
  set?: string;
  env?: NodeJS.ProcessEnv;
}

/** What borg's stderr says went wrong (pure). */
export function classifyBorgFailure(stderr: string): RepositoryProblem {
  if (/passphrase supplied .* is incorrect|passphrase .*incorrect/i.test(stderr)) return 'wrong-password';
  if (/can not acquire a passphrase|BORG_PASSPHRASE is not set/i.test(stderr)) return 'no-password';
  if (/Failed to create\/acquire the lock|lock.*timeout/i.test(stderr)) return 'locked';
  if (/previously located at|previously unknown unencrypted repository|Do you want to continue/i.test(stderr))
    return 'needs-confirmation';
  if (/is not a valid repository|does not exist|Repository .* not found/i.test(stderr))
    return 'not-a-repository';
  return 'failed';
}

/** One element of `borg list --json`'s `archives`. */
interface BorgArchiveJson {
  name: string;
  id: string;
  time?: string;
  start?: string;
}

/** Parses `borg list --json` (printed under TZ=UTC) into repository snapshots (pure). */
export function parseBorgArchives(json: string, repository: string): RepositorySnapshot[] {
  let parsed: { archives?: BorgArchiveJson[] };
  try {
    parsed = JSON.parse(json) as { archives?: BorgArchiveJson[] };
  } catch (error) {
    throw new VouchError(`borg list --json printed something that is not JSON (${json.slice(0, 80)}…)`, {
      cause: error,
    });
  }
  return (parsed.archives ?? []).map((archive) => {
    const text = archive.time ?? archive.start ?? '';
    const time = new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`);
    if (Number.isNaN(time.getTime()))
      throw new VouchError(
        `borg archive ${archive.name} in ${repository} has a time vouch cannot read: ${text}`,
      );
    return { id: archive.name, time, object: snapshotObject(archive.name, archive.id, time) };
  });
}

/** A borg repository as a BackupSource (see the module comment). */
export function createBorgSource(options: BorgSourceOptions): BackupSource {
  const env = { ...(options.env ?? process.env), TZ: 'UTC' };
  const lock = options.lock === false ? ['--bypass-lock'] : [];
  return repositorySource({
    tool: 'borg',
    location: `borg:${options.repository}`,
    ...(options.set ? { set: options.set } : {}),
    async listSnapshots() {
      const json = await runTool(
        'borg',
        [
          'list',
          '--json',
          ...lock,
          ...(options.archives ? ['--glob-archives', options.archives] : []),
          options.repository,
        ],
        { env },
      );
      return parseBorgArchives(json.toString('utf8'), options.repository);
    },
    tarArguments: (key) => ['export-tar', ...lock, `${options.repository}::${key}`, '-'],
    toolOptions: () => ({ env }),
    classify: classifyBorgFailure,
    advice: {
      'wrong-password': "check BORG_PASSPHRASE / BORG_PASSCOMMAND in vouch's environment",
      'no-password': "set BORG_PASSPHRASE or BORG_PASSCOMMAND in vouch's environment (never in the policy)",
      locked:
        'the next scan reads it again; a read-only repository needs source.borg.lock: false; a stale lock left by a crashed borg is removed by `borg break-lock`',
      'needs-confirmation':
        "borg asks before reading a repository that moved or is unencrypted and unknown: set BORG_RELOCATED_REPO_ACCESS_IS_OK=yes or BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes in vouch's environment once you trust it",
      'not-a-repository': 'check source.borg.repository',
    },
  });
}
