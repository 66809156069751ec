import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli } from '../helpers/cli.js';
import { applyRansomware } from '../helpers/ransomware-modes.js';
import { ransomNote } from '../../agent/demo/ransomware.js';

describe('vouch command line', () => {
  it('documents every command and the exit codes in --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of ['scan', 'inspect', 'last-clean', 'accept', 'policy', 'serve', 'demo'])
      expect(stdout).toContain(command);
    expect(stdout).toContain(
      'Exit codes: 0 clean/passed, 1 runtime error, 2 usage or policy error, 3 findings, 130 interrupted.',
    );
  });

  it('exits 2 with every policy problem named by path', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-cli-'));
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'sets:\n  orders:\n    source: { s3: {} }\n    snapshots: { layout: tape }\n');
    const { code, stderr } = await runCli(['policy', 'check', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('sets.orders.source.s3.bucket: required');
    expect(stderr).toMatch(/sets\.orders\.snapshots\.layout: .*"archive"/);
  });

  it('prints a JSON error document with --json on a policy error', async () => {
    const { code, stdout } = await runCli(['--json', '--config', '/nonexistent/vouch.yaml', 'scan']);
    expect(code).toBe(2);
    expect(JSON.parse(stdout).error).toMatch(/cannot read policy \/nonexistent\/vouch.yaml: ENOENT/);
  });

  it('exits 2 on an unknown set name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-cli-'));
    const file = path.join(dir, 'vouch.yaml');
    await writeFile(
      file,
      `sets:\n  orders:\n    source: { fs: { path: ${dir} } }\n    snapshots: { layout: archive }\n`,
    );
    const { code, stderr } = await runCli([
      '--config',
      file,
      '--state',
      path.join(dir, 'state'),
      'scan',
      'ordres',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown set: ordres (policy has: orders)');
  });

  it('scans an offline volume: exit 0 when clean, no progress bar when stderr is not a terminal', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-cli-'));
    await writeFile(path.join(dir, 'orders-20251019.tar.gz'), await buildTarGz(sampleFiles(1)));
    const file = path.join(dir, 'vouch.yaml');
    await writeFile(
      file,
      `state: ./state\nsets:\n  orders:\n    source: { fs: { path: . } }\n    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8})' }\n`,
    );
    const { code, stdout, stderr } = await runCli(['--config', file, 'scan']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/orders-20251019 +clean +4/);
    expect(stdout).toContain('last clean: orders-20251019');
  });

  it('inspects an archive on disk, classifying members with digests', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-cli-'));
    const archive = path.join(dir, 'snap.tar.gz');
    await writeFile(archive, await buildTarGz([{ path: 'a.txt', data: 'hello\n' }]));
    const { code, stdout } = await runCli(['--json', 'inspect', archive]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).files).toEqual([
      {
        path: `${archive}!a.txt`,
        encrypted: false,
        score: 0,
        type: 'text',
        reasons: ['structure-valid'],
        detail: 'intact',
        judgement: 'intact',
        entryType: 'file',
        size: 6,
        sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
      },
    ]);
  });

  it('inspects a folder hit by ransomware: names the encrypted files and the note, exits 3', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-cli-'));
    const licence = await readFile('/usr/share/common-licenses/GPL-3');
    await writeFile(path.join(dir, 'GPL-3.txt'), licence);
    await writeFile(
      path.join(dir, 'GPL-2.txt.akira'),
      applyRansomware(await readFile('/usr/share/common-licenses/GPL-2'), 'footer', 'gpl2'),
    );
    await writeFile(path.join(dir, 'README_RESTORE_FILES.txt'), ransomNote(2));
    const { code, stdout } = await runCli(['inspect', dir]);
    expect(code).toBe(3);
    const lines = stdout.split('\n');
    expect(lines.find((line) => line.includes('GPL-2.txt.akira'))).toMatch(
      /^ENCRYPTED 0\.95 .*expected text \(by extension\)/,
    );
    expect(lines.find((line) => line.includes('README_RESTORE_FILES.txt'))).toMatch(/^RANSOM NOTE/);
    expect(lines.find((line) => line.includes('GPL-3.txt'))).toMatch(/^intact +text/);
    expect(stdout).toContain('3 entries, 2 flagged');
  });

  it('calls a path that is not there a usage error (exit 2) naming it, once', async () => {
    const missing = path.join(tmpdir(), 'vouch-cli-no-such-path', 'x.tar.gz');
    const { code, stdout, stderr } = await runCli(['inspect', missing]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split(missing).length - 1).toBe(1);
  });
});

describe('archives of several formats under one name', () => {
  it('a .zip dropped beside a baselined .tar.gz is its own snapshot, not drift of the other', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-cli-ids-'));
    const volume = path.join(dir, 'volume');
    const { mkdir } = await import('node:fs/promises');
    const { buildZip } = await import('../helpers/build-archive.js');
    await mkdir(volume);
    await writeFile(path.join(volume, 'orders-20250101.tar.gz'), await buildTarGz(sampleFiles(1)));
    const config = path.join(dir, 'vouch.yaml');
    await writeFile(
      config,
      `state: ./state\nsets:\n  orders:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8})' }\n`,
    );
    expect((await runCli(['--config', config, 'scan'])).code).toBe(0);
    await writeFile(path.join(volume, 'orders-20250101.zip'), await buildZip(sampleFiles(2)));
    const { code, stdout } = await runCli(['--json', '--config', config, 'scan']);
    const report = JSON.parse(stdout) as {
      sets: { snapshots: { id: string; verdict: string }[]; notes: string[] }[];
    };
    expect(report.sets[0]!.snapshots.map((s) => [s.id, s.verdict])).toEqual([
      ['orders-20250101', 'clean'],
      ['orders-20250101.zip', 'clean'],
    ]);
    expect(report.sets[0]!.notes.join('\n')).toMatch(/orders-20250101\.zip is snapshot orders-20250101\.zip/);
    expect(code).toBe(0);
  });
});
