/**
 * Writes a real restic repository with the real `restic` binary: one `restic backup` per
 * snapshot, of a directory holding exactly that snapshot's files, at that snapshot's time. The
 * demo keeps its order-management backups this way too, as many teams do; tests build their
 * repositories with it from real files.
 *
 * `--force` re-reads every file: restic otherwise trusts a file whose size, mtime and inode did
 * not change — and ransomware that encrypts in place and restores the mtime changes none of them.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTool } from '../tools/tool-process.js';

/** One file of a snapshot to back up. */
export interface BackupFile {
  path: string;
  data: Buffer;
  mtime?: Date;
}

/** Where the repository is and how restic opens it. */
export interface ResticTarget {
  repository: string;
  passwordFile: string;
}

/** restic's environment for these calls: UTC (for --time), no repository or password from the caller's environment. */
function resticEnv(): NodeJS.ProcessEnv {
  const {
    RESTIC_REPOSITORY: _r,
    RESTIC_REPOSITORY_FILE: _rf,
    RESTIC_PASSWORD: _p,
    RESTIC_PASSWORD_FILE: _pf,
    RESTIC_PASSWORD_COMMAND: _pc,
    ...env
  } = process.env;
  return { ...env, TZ: 'UTC' };
}

const common = (target: ResticTarget) => [
  '--repo',
  target.repository,
  '--password-file',
  target.passwordFile,
  '--quiet',
];

/** Creates an empty repository (its password file must exist). */
export async function initResticRepository(target: ResticTarget): Promise<void> {
  await runTool('restic', [...common(target), 'init'], { env: resticEnv() });
}

/** Writes `files` into a fresh directory (file times kept). */
export async function writeTree(dir: string, files: readonly BackupFile[]): Promise<void> {
  for (const file of files) {
    const target = path.join(dir, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.data);
    if (file.mtime) await utimes(target, file.mtime, file.mtime);
  }
}

/**
 * Backs `files` up as one snapshot taken at `time`; entry paths in the snapshot are the files'
 * paths (the snapshot's root holds them, as `restic backup .` run in their directory does).
 */
export async function resticBackup(
  target: ResticTarget,
  files: readonly BackupFile[],
  time: Date,
  options: { host?: string; tags?: string[] } = {},
): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vouch-restic-src-'));
  try {
    await writeTree(dir, files);
    const stamp = time.toISOString().replace('T', ' ').slice(0, 19);
    const tags = (options.tags ?? []).flatMap((tag) => ['--tag', tag]);
    await runTool(
      'restic',
      [
        ...common(target),
        'backup',
        '--force',
        '--time',
        stamp,
        '--host',
        options.host ?? 'vouch-demo',
        ...tags,
        '.',
      ],
      { env: resticEnv(), cwd: dir },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
