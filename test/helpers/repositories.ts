/**
 * Real restic and borg repositories for tests, written by the real binaries (restic through the
 * demo's own writer), and the damage an attacker or a failing disk does to them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  initResticRepository,
  resticBackup,
  writeTree,
  type BackupFile,
} from '../../agent/demo/restic-repository.js';

export const BORG_PASSPHRASE = 'correct horse battery staple';

/** A repository of one kind, with a uniform way to add a snapshot. */
export interface TestRepository {
  tool: 'restic' | 'borg';
  repository: string;
  /** restic: the password file (borg reads BORG_PASSPHRASE from the environment). */
  passwordFile: string;
  backup(files: readonly BackupFile[], time: Date, name: string): Promise<void>;
}

/** The environment borg runs with in tests (passphrase, no prompts about moved repositories). */
export function borgEnv(): NodeJS.ProcessEnv {
  return { ...process.env, BORG_PASSPHRASE, TZ: 'UTC' };
}

/** An empty, encrypted repository in `dir`. */
export async function createRepository(tool: 'restic' | 'borg', dir: string): Promise<TestRepository> {
  const passwordFile = path.join(dir, `${tool}.pw`);
  await writeFile(passwordFile, `${BORG_PASSPHRASE}\n`, { mode: 0o600 });
  const repository = path.join(dir, `${tool}-repo`);
  if (tool === 'restic') {
    await initResticRepository({ repository, passwordFile });
    return {
      tool,
      repository,
      passwordFile,
      backup: (files, time) => resticBackup({ repository, passwordFile }, files, time, { host: 'db1' }),
    };
  }
  execFileSync('borg', ['init', '--encryption=repokey', repository], { env: borgEnv(), stdio: 'ignore' });
  return {
    tool,
    repository,
    passwordFile,
    async backup(files, time, name) {
      const source = await mkdtemp(path.join(tmpdir(), 'vouch-borg-src-'));
      try {
        await writeTree(source, files);
        const stamp = time.toISOString().slice(0, 19);
        execFileSync(
          'borg',
          ['create', '--files-cache=disabled', '--timestamp', stamp, `${repository}::${name}`, '.'],
          { cwd: source, env: borgEnv(), stdio: 'ignore' },
        );
      } finally {
        await rm(source, { recursive: true, force: true });
      }
    },
  };
}

/** The largest file under `dir` (a restic data pack, a borg segment: file content, not metadata). */
async function largestFile(dir: string): Promise<string> {
  let best = { file: '', size: -1 };
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const { size } = await stat(full);
        if (size > best.size) best = { file: full, size };
      }
    }
  };
  await walk(dir);
  return best.file;
}

/** Flips one byte in the middle of the repository's largest data file (a pack or segment), as bit rot or an attacker would. */
export async function tamperRepository(repository: TestRepository): Promise<string> {
  const file = await largestFile(path.join(repository.repository, 'data'));
  const bytes = await readFile(file);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  await chmod(file, 0o600);
  await writeFile(file, bytes);
  return path.relative(repository.repository, file);
}
