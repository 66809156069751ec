/**
 * restic and borg repositories as sources, built in set-up by the real binaries from real files of
 * this machine: a clean history, then a snapshot backed up after ransomware encrypted part of the
 * source, then a damaged pack or segment; and the errors a user meets (wrong or missing password,
 * a locked repository, a missing binary, a path that is no repository).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastCleanForSet } from '../../agent/cli/last-clean.js';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { ransomNote } from '../../agent/demo/ransomware.js';
import type { BackupFile } from '../../agent/demo/restic-repository.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';
import { findByExtension, findMachineFiles } from '../helpers/machine-files.js';
import { applyRansomware } from '../helpers/ransomware-modes.js';
import {
  BORG_PASSPHRASE,
  createRepository,
  tamperRepository,
  type TestRepository,
} from '../helpers/repositories.js';

const DAYS = 4;
let root: string;
let files: BackupFile[];

function realFiles(): BackupFile[] {
  const picked = [
    ...findByExtension(['.gz'], 12, { minSize: 3000, maxSize: 1024 * 1024 }).map((f) => ['docs', f] as const),
    ...findByExtension(['.png'], 12, { minSize: 3000, maxSize: 1024 * 1024 }).map(
      (f) => ['images', f] as const,
    ),
    ...findByExtension(['.so'], 8, { minSize: 3000, maxSize: 2 * 1024 * 1024 }).map(
      (f) => ['lib', f] as const,
    ),
    ...findMachineFiles({
      name: (name) => /\.(txt|html|py|conf)$/.test(name),
      limit: 16,
      minSize: 1000,
      maxSize: 256 * 1024,
    }).map((f) => ['text', f] as const),
  ];
  const seen = new Set<string>();
  return picked.flatMap(([folder, file]) => {
    const name = `${folder}/${path.basename(file.path)}`;
    if (seen.has(name)) return [];
    seen.add(name);
    return [{ path: name, data: readFileSync(file.path) }];
  });
}

/** Day `day`: text files grow by a line a day, the rest stays. */
function snapshotFiles(day: number): BackupFile[] {
  return files.map((file) =>
    file.path.startsWith('text/')
      ? { ...file, data: Buffer.concat([file.data, Buffer.from(`\nday ${day}\n`)]) }
      : file,
  );
}

/** Ransomware on the source before the backup: whole-file, intermittent (16 on / 16 off) and renamed files, and a note. */
function hit(day: number): { files: BackupFile[]; hit: string[] } {
  const out: BackupFile[] = [{ path: 'HOW_TO_DECRYPT.txt', data: Buffer.from(ransomNote(7)) }];
  const hitPaths: string[] = [];
  snapshotFiles(day).forEach((file, index) => {
    if (index % 2 === 1) return void out.push(file);
    const mode = (['whole', 'intermittent-16-16', 'rename'] as const)[index % 3]!;
    const data = applyRansomware(file.data, mode, file.path);
    const name = mode === 'rename' ? `${file.path}.akira` : file.path;
    hitPaths.push(name);
    out.push({ path: name, data });
  });
  return { files: out, hit: hitPaths };
}

const time = (day: number) => new Date(Date.UTC(2025, 9, 10 + day, 2));
const archiveName = (day: number) => `files-2025-10-${10 + day}`;

function policyFor(repository: TestRepository, extra: Record<string, unknown> = {}) {
  const source =
    repository.tool === 'restic'
      ? { restic: { repository: repository.repository, passwordFile: repository.passwordFile, ...extra } }
      : { borg: { repository: repository.repository, ...extra } };
  return validatePolicy({ sets: { files: { source } } }, 'test policy', root);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-repositories-'));
  files = realFiles();
  process.env.BORG_PASSPHRASE = BORG_PASSPHRASE;
});

afterAll(() => {
  delete process.env.BORG_PASSPHRASE;
});

describe.each(['restic', 'borg'] as const)('a ransomware hit in a %s repository of real files', (tool) => {
  let repository: TestRepository;
  let clean: ScanReport;
  let after: ScanReport;
  let hitPaths: string[];
  let state: string;

  beforeAll(async () => {
    repository = await createRepository(tool, await mkdtemp(path.join(root, `${tool}-`)));
    state = path.join(root, `state-${tool}`);
    for (let day = 0; day < DAYS; day++)
      await repository.backup(snapshotFiles(day), time(day), archiveName(day));
    clean = await runScan(policyFor(repository), { stateDir: state });
    const attacked = hit(DAYS);
    hitPaths = attacked.hit;
    await repository.backup(attacked.files, time(DAYS), archiveName(DAYS));
    after = await runScan(policyFor(repository), { stateDir: state });
  }, 240_000);

  const snapshots = (report: ScanReport) => report.sets[0]!.snapshots;

  it("lists every snapshot with the tool's time, and calls the clean history clean with no findings", () => {
    expect(files.length).toBeGreaterThan(30);
    expect(clean.sets[0]!.error).toBeUndefined();
    expect(snapshots(clean).map((s) => s.time)).toEqual(
      Array.from({ length: DAYS }, (_, day) => time(day).toISOString()),
    );
    expect(snapshots(clean).map((s) => s.verdict)).toEqual(Array(DAYS).fill('clean'));
    expect(snapshots(clean).flatMap((s) => s.findings)).toEqual([]);
    expect(snapshots(clean).every((s) => s.complete && s.entries >= files.length)).toBe(true);
    if (tool === 'borg')
      expect(snapshots(clean).map((s) => s.id)).toEqual(
        Array.from({ length: DAYS }, (_, day) => archiveName(day)),
      );
    else expect(snapshots(clean).every((s) => /^[0-9a-f]{8}$/.test(s.id))).toBe(true);
  });

  it('calls the snapshot taken after the hit compromised, naming the encrypted and renamed files and the note', () => {
    const newest = snapshots(after).at(-1)!;
    expect(newest.time).toBe(time(DAYS).toISOString());
    expect(newest.verdict).toBe('compromised');
    expect(newest.findingCounts['ransom-note']).toBe(1);
    expect(newest.findings.find((f) => f.kind === 'ransom-note')!.path).toBe('HOW_TO_DECRYPT.txt');
    const encrypted = new Set(newest.findings.filter((f) => f.kind === 'encrypted').map((f) => f.path));
    expect(hitPaths.filter((name) => !encrypted.has(name))).toEqual([]);
    expect(newest.findingCounts['extension-change']).toBeGreaterThan(0);
    expect(
      snapshots(after)
        .slice(0, DAYS)
        .map((s) => s.verdict),
    ).toEqual(Array(DAYS).fill('clean'));
  });

  it('names the last clean snapshot and why the newest was rejected', async () => {
    const lastClean = snapshots(after)[DAYS - 1]!.id;
    expect(after.sets[0]!.lastClean).toBe(lastClean);
    const report = await lastCleanForSet(state, 'files');
    expect(report.lastClean?.id).toBe(lastClean);
    expect(report.rejected.map((r) => r.reasons[0]!.kind)).toEqual(['ransom-note']);
  });

  it('makes a damaged pack or segment a read-error and the snapshot unverified, quoting the tool', async () => {
    const damaged = await tamperRepository(repository);
    const report = await runScan(policyFor(repository), { stateDir: state });
    const broken = snapshots(report).filter((s) => s.verdict === 'unverified');
    expect(broken.length, `damaged ${damaged}`).toBeGreaterThan(0);
    const quoted =
      tool === 'restic'
        ? /restic failed \(exit \d+\): .*(ciphertext verification failed|hash mismatch|invalid)/
        : /borg failed \(exit \d+\): .*(Segment entry checksum mismatch|Data integrity error|IntegrityError)/;
    for (const snapshot of broken) {
      expect(snapshot.complete).toBe(false);
      expect(
        snapshot.findings.some((f) => f.kind === 'read-error' && quoted.test(f.detail)),
        JSON.stringify(snapshot.findings),
      ).toBe(true);
    }
    // Nothing that could not be read is called clean.
    expect(
      snapshots(report)
        .filter((s) => s.verdict === 'clean')
        .every((s) => s.complete),
    ).toBe(true);
  });
});

describe('what a user is told when a repository cannot be read', () => {
  let restic: TestRepository;
  let borg: TestRepository;
  beforeAll(async () => {
    restic = await createRepository('restic', await mkdtemp(path.join(root, 'errors-restic-')));
    borg = await createRepository('borg', await mkdtemp(path.join(root, 'errors-borg-')));
    await restic.backup(snapshotFiles(0).slice(0, 3), time(0), archiveName(0));
    await borg.backup(snapshotFiles(0).slice(0, 3), time(0), archiveName(0));
  });

  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  const errorOf = async (policy: ReturnType<typeof policyFor>) =>
    (await runScan(policy, { stateDir: await mkdtemp(path.join(root, 'state-')) })).sets[0]!.error;

  it('a wrong password, naming the set and where to fix it', async () => {
    const wrong = path.join(root, 'wrong.pw');
    await writeFile(wrong, 'not the password\n');
    expect(await errorOf(policyFor({ ...restic, passwordFile: wrong }))).toMatch(
      /^set files: restic:.*: wrong password: restic failed \(exit 1\): Fatal: wrong password or no key found; check source\.restic\.passwordFile/,
    );
    process.env.BORG_PASSPHRASE = 'not the passphrase';
    try {
      expect(await errorOf(policyFor(borg))).toMatch(
        /^set files: borg:.*: wrong password: borg failed \(exit 2\): passphrase supplied in BORG_PASSPHRASE.* is incorrect.*; check BORG_PASSPHRASE \/ BORG_PASSCOMMAND/,
      );
    } finally {
      process.env.BORG_PASSPHRASE = BORG_PASSPHRASE;
    }
  });

  it('no password at all, without running a tool that would prompt', async () => {
    const saved = { ...process.env };
    for (const name of [
      'RESTIC_PASSWORD',
      'RESTIC_PASSWORD_FILE',
      'RESTIC_PASSWORD_COMMAND',
      'BORG_PASSPHRASE',
    ])
      delete process.env[name];
    try {
      expect(await errorOf(policyFor({ ...restic, passwordFile: undefined as unknown as string }))).toBe(
        `set files: restic:${restic.repository}: no password: set source.restic.passwordFile, or RESTIC_PASSWORD_FILE / RESTIC_PASSWORD / RESTIC_PASSWORD_COMMAND in vouch's environment`,
      );
      expect(await errorOf(policyFor(borg))).toMatch(
        /^set files: borg:.*: no password: borg failed .*BORG_PASSPHRASE is not set.*; set BORG_PASSPHRASE or BORG_PASSCOMMAND/,
      );
    } finally {
      process.env.BORG_PASSPHRASE = saved.BORG_PASSPHRASE;
    }
  });

  it('a locked repository, and that lock: false reads it anyway', async () => {
    // borg: another borg holds the repository's exclusive lock.
    const holder = spawn('borg', ['with-lock', borg.repository, 'sleep', '60'], {
      env: { ...process.env },
      stdio: 'ignore',
    });
    try {
      for (let i = 0; i < 100 && !(await readdir(borg.repository)).includes('lock.exclusive'); i++)
        await sleep(100);
      expect(await errorOf(policyFor(borg))).toMatch(
        /^set files: borg:.*: the repository is locked by another process: borg failed .*Failed to create\/acquire the lock.*; the next scan reads it again; a read-only repository needs source\.borg\.lock: false/,
      );
      expect(await errorOf(policyFor(borg, { lock: false }))).toBeUndefined();
    } finally {
      await stop(holder);
    }
    // restic: a live `restic check` holds an exclusive lock (stopped, so it keeps holding it).
    // The lock counts only once restic can load it: restic ignores a lock file it cannot decrypt,
    // and restic 0.14 writes its lock file in place, so a check stopped between creating the file
    // and finishing the write holds nothing the scan sees. So after the stop `restic cat lock` must
    // read the check's exclusive lock; if not, the check runs on for a moment and is stopped again.
    // On a loaded machine the check may finish first: another is started (bounded). `unlock` first
    // clears the stale lock a killed attempt left (restic ignores those too).
    const locks = path.join(restic.repository, 'locks');
    const startCheck = () => {
      spawnSync('restic', ['--repo', restic.repository, '--password-file', restic.passwordFile, 'unlock'], {
        stdio: 'ignore',
      });
      return spawn(
        'restic',
        ['--repo', restic.repository, '--password-file', restic.passwordFile, 'check', '--read-data'],
        { stdio: 'ignore' },
      );
    };
    const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
    const holdsExclusiveLock = async (child: ChildProcess) => {
      for (const id of await readdir(locks)) {
        // A lock that vanishes makes `restic cat` retry for a minute: the timeout bounds that.
        const shown = spawnSync(
          'restic',
          [
            '--repo',
            restic.repository,
            '--password-file',
            restic.passwordFile,
            '--no-lock',
            'cat',
            'lock',
            id,
          ],
          { encoding: 'utf8', timeout: 5000 },
        );
        if (shown.status !== 0) continue;
        const lock = JSON.parse(shown.stdout) as { exclusive?: boolean; pid?: number };
        if (lock.exclusive === true && lock.pid === child.pid) return true;
      }
      return false;
    };
    const stopHoldingLock = async (child: ChildProcess) => {
      for (let i = 0; i < 1500 && running(child) && (await readdir(locks)).length === 0; i++) await sleep(10);
      for (let tries = 0; tries < 5 && running(child); tries++) {
        child.kill('SIGSTOP');
        await sleep(100); // a check that finished before the signal has exited by now
        if (running(child) && (await holdsExclusiveLock(child))) return true;
        child.kill('SIGCONT');
        await sleep(5);
      }
      return false;
    };
    let check = startCheck();
    try {
      for (let attempt = 0; attempt < 10 && !(await stopHoldingLock(check)); attempt++) {
        await stop(check);
        check = startCheck();
      }
      expect((await readdir(locks)).length).toBeGreaterThan(0);
      expect(await errorOf(policyFor(restic))).toMatch(
        /^set files: restic:.*: the repository is locked by another process: restic failed .*locked exclusively.*; the next scan reads it again/,
      );
      expect(await errorOf(policyFor(restic, { lock: false }))).toBeUndefined();
    } finally {
      await stop(check);
      // What the advice says to do about a lock its dead owner left behind.
      spawnSync(
        'restic',
        ['--repo', restic.repository, '--password-file', restic.passwordFile, 'unlock', '--remove-all'],
        { stdio: 'ignore' },
      );
    }
  });

  it('a missing binary, saying which Debian package brings it', async () => {
    process.env.VOUCH_RESTIC = '/nonexistent/restic';
    process.env.VOUCH_BORG = '/nonexistent/borg';
    try {
      expect(await errorOf(policyFor(restic))).toBe(
        `set files: restic:${restic.repository}: restic is not installed: install it (Debian/Ubuntu: apt-get install restic), or set VOUCH_RESTIC to its path`,
      );
      expect(await errorOf(policyFor(borg))).toBe(
        `set files: borg:${borg.repository}: borg is not installed: install it (Debian/Ubuntu: apt-get install borgbackup), or set VOUCH_BORG to its path`,
      );
    } finally {
      delete process.env.VOUCH_RESTIC;
      delete process.env.VOUCH_BORG;
    }
  });

  it('a path that holds no repository', async () => {
    const empty = await mkdtemp(path.join(root, 'empty-'));
    expect(await errorOf(policyFor({ ...restic, repository: empty }))).toMatch(
      /^set files: restic:.*: no repository there: restic failed .*unable to open config file.*; check source\.restic\.repository/,
    );
    expect(await errorOf(policyFor({ ...borg, repository: empty }))).toMatch(
      /^set files: borg:.*: no repository there: borg failed .*; check source\.borg\.repository/,
    );
  });

  it('filters restic snapshots by host and tags', async () => {
    const byHost = (
      await runScan(policyFor(restic, { host: 'db1' }), {
        stateDir: await mkdtemp(path.join(root, 'state-')),
      })
    ).sets[0]!;
    expect(byHost.error).toBeUndefined();
    expect(byHost.snapshots).toHaveLength(1);
    expect(
      (
        await runScan(policyFor(restic, { host: 'elsewhere' }), {
          stateDir: await mkdtemp(path.join(root, 'state-')),
        })
      ).sets[0]!.snapshots,
    ).toHaveLength(0);
    expect(
      (
        await runScan(policyFor(restic, { tags: ['nightly'] }), {
          stateDir: await mkdtemp(path.join(root, 'state-')),
        })
      ).sets[0]!.snapshots,
    ).toHaveLength(0);
  });
});

describe('the tools', () => {
  it('are the Debian binaries the tests expect', () => {
    expect(spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout).toMatch(/^restic \d+\.\d+/);
    expect(spawnSync('borg', ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^borg \d+\.\d+/);
  });
});
