/**
 * The operator's mistakes and the terminal's edges, each as it happens: a set whose match finds
 * nothing, a corrupt state file, a FIFO or a huge file given as the policy, output piped into
 * `head`, a misspelt VOUCH_LOG_LEVEL, a run in a folder without vouch.yaml, and names in a backup
 * that carry terminal escapes and newlines.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../agent/config/load-policy.js';
import { loadEstateView } from '../../agent/estate/estate-view.js';
import { createMetricsRegistry } from '../../agent/metrics/metrics.js';
import { gzipAll, tarArchive, tarEntry } from '../helpers/hostile-archives.js';
import { runCli } from '../helpers/cli.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../agent/cli/main.ts', import.meta.url));

async function estate(
  match = "'^orders-(?<time>\\d{8})\\.tar\\.gz$'",
): Promise<{ dir: string; config: string; volume: string; state: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vouch-edges-'));
  const volume = path.join(dir, 'volume');
  await mkdir(volume);
  const config = path.join(dir, 'vouch.yaml');
  await writeFile(
    config,
    `state: ./state\nsets:\n  orders:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: archive, match: ${match} }\n`,
  );
  return { dir, config, volume, state: path.join(dir, 'state') };
}

describe('a set whose match finds no snapshot', () => {
  it('is a no-snapshots finding: exit 3, named in text and JSON, and a metric for the alert', async () => {
    const { config, volume, state } = await estate("'^ordres-(?<time>\\d{8})\\.tar\\.gz$'"); // the typo
    await writeFile(
      path.join(volume, 'orders-20250101.tar.gz'),
      await gzipAll(
        (async function* () {
          yield tarArchive(tarEntry({ name: 'a.txt' }, Buffer.from('a')));
        })(),
      ),
    );
    const text = await runCli(['--config', config, 'scan']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(
      /NO-SNAPSHOTS: no archive snapshot matching \^ordres-.* \(1 object listed\): a typo in snapshots\.match/,
    );
    const json = await runCli(['--json', '--config', config, 'scan']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).sets[0].findings).toEqual([
      expect.objectContaining({ kind: 'no-snapshots', severity: 'critical' }),
    ]);
    const policy = await loadPolicy(config);
    const registry = createMetricsRegistry({
      estate: () => loadEstateView(policy, state),
      scheduler: () => ({ tasks: [], running: 0, queued: 0 }),
      daemon: () => ({ reloads: 0, reloadFailures: 0, lastReloadSuccess: 0 }),
    });
    expect(await registry.metrics()).toMatch(/^vouch_findings\{set="orders",kind="no-snapshots"\} 1$/m);
  });
});

describe('state and policy files', () => {
  it('a corrupt state file names itself and the way forward (exit 1)', async () => {
    const { config, state } = await estate();
    await mkdir(path.join(state, 'sets'), { recursive: true });
    for (const content of ['{ "set": "orders", "snapsh', '[]', '{"set":"orders"}']) {
      await writeFile(path.join(state, 'sets', 'orders.json'), content);
      const { code, stderr } = await runCli(['--config', config, 'last-clean', 'orders']);
      expect(code).toBe(1);
      expect(stderr).toContain(
        `state index for set orders (${path.join(state, 'sets', 'orders.json')}) is unreadable`,
      );
      expect(stderr).toMatch(/move it aside and run `vouch scan`/);
    }
  });

  it('a FIFO or an oversized file as the policy is refused at once (exit 2), never read', async () => {
    const { dir } = await estate();
    const fifo = path.join(dir, 'policy.fifo');
    await run('mkfifo', [fifo]);
    const started = Date.now();
    const piped = await runCli(['--config', fifo, 'scan'], {}, 20_000);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toMatch(/it is a FIFO, not a regular file/);
    expect(Date.now() - started).toBeLessThan(15_000);
    const huge = path.join(dir, 'huge.yaml');
    await writeFile(huge, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    const big = await runCli(['--config', huge, 'policy', 'check', huge]);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/over the 1048576-byte limit for a policy/);
  });

  it('no vouch.yaml here: the error says how to name one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-edges-empty-'));
    const { code, stderr } = await runCli(['--config', path.join(dir, 'vouch.yaml'), 'scan']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/ENOENT \(name the policy with --config FILE or VOUCH_CONFIG/);
  });
});

describe('the command line itself', () => {
  it('vouch --help | head -1 exits quietly (no EPIPE stack trace), even when the reader is gone before vouch writes', async () => {
    const head = await run(
      'bash',
      [
        '-c',
        `"${process.execPath}" --import tsx "${MAIN}" --help | head -1; echo "status \${PIPESTATUS[0]}"`,
      ],
      { cwd: process.cwd() },
    );
    expect(head.stdout).toMatch(/^Usage: vouch/);
    expect(head.stdout).toMatch(/status 0/);
    expect(head.stderr).not.toMatch(/EPIPE|Error/);
    // `| true` closes the pipe before vouch has started: its write always meets EPIPE.
    const gone = await run(
      'bash',
      ['-c', `"${process.execPath}" --import tsx "${MAIN}" --help | true; echo "status \${PIPESTATUS[0]}"`],
      { cwd: process.cwd() },
    );
    expect(gone.stdout).toMatch(/status 0/);
    expect(gone.stderr).not.toMatch(/EPIPE|Error/);
  });

  it('a bad VOUCH_LOG_LEVEL is a usage error (exit 2) naming the levels', async () => {
    const { config } = await estate();
    for (const args of [['scan'], ['serve', '--listen', '127.0.0.1:0']]) {
      const { code, stderr } = await runCli(['--config', config, ...args], { VOUCH_LOG_LEVEL: 'loud' });
      expect(code, args[0]).toBe(2);
      expect(stderr).toContain(
        'VOUCH_LOG_LEVEL=loud: expected one of fatal, error, warn, info, debug, trace, silent',
      );
    }
  });

  it('--quiet prints nothing and keeps the exit code', async () => {
    const { config, volume } = await estate("'^ordres'");
    await writeFile(path.join(volume, 'orders-20250101.tar.gz'), Buffer.from('x'));
    const { code, stdout } = await runCli(['--quiet', '--config', config, 'scan']);
    expect(code).toBe(3);
    expect(stdout).toBe('');
  });
});

describe('terminal injection through entry names', () => {
  const hostile = 'evil\u001b[2J\u001b[H\nverdict=clean\r.txt';
  it('inspect, scan and drill print such a name escaped, never raw', async () => {
    const { config, volume } = await estate();
    const tar = tarArchive(
      tarEntry({ name: hostile }, Buffer.from('text\n')),
      tarEntry({ name: 'ok.txt' }, Buffer.from('ok\n')),
    );
    const archive = path.join(volume, 'orders-20250101.tar.gz');
    await writeFile(
      archive,
      await gzipAll(
        (async function* () {
          yield tar;
        })(),
      ),
    );
    const outputs = [
      await runCli(['inspect', archive]),
      await runCli(['--config', config, 'scan']),
      await runCli(['--config', config, 'drill', 'orders', '--snapshot', 'latest']),
    ];
    for (const { stdout, stderr } of outputs) {
      expect(stdout + stderr).not.toContain('\u001b');
      expect(stdout + stderr).not.toContain('\r');
      expect((stdout + stderr).split('\n').some((line) => line.startsWith('verdict=clean'))).toBe(false);
      expect(stdout).toContain('evil\\u001b[2J\\u001b[H\\u000averdict=clean\\u000d.txt');
    }
  });
});

describe('inspect on damaged zips', () => {
  it('turns a flipped bit, a wrong CRC and a lying size into per-path results; every other path still has its result', async () => {
    const { zipArchive, patchCentral, centralFields } = await import('../helpers/hostile-archives.js');
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-inspect-zip-'));
    const members = [
      { name: 'a.txt', data: Buffer.from('quarterly report\n'.repeat(2000)), compress: false },
      { name: 'b.txt', data: Buffer.from('second member\n') },
    ];
    const zip = await zipArchive(members);
    const flipped = Buffer.from(zip);
    const { localHeader } = centralFields(zip, 0);
    flipped[localHeader + 30 + 5 + 100]! ^= 0x04; // inside a.txt's stored data
    await writeFile(path.join(dir, 'flip.zip'), flipped);
    await writeFile(
      path.join(dir, 'crc.zip'),
      patchCentral(zip, 0, { crc32: centralFields(zip, 0).crc32 ^ 1 }),
    );
    await writeFile(path.join(dir, 'size.zip'), patchCentral(zip, 0, { uncompressedSize: 10 }));
    await writeFile(path.join(dir, 'plain.txt'), 'nothing to see\n');
    const targets = ['flip.zip', 'crc.zip', 'size.zip', 'plain.txt'].map((name) => path.join(dir, name));
    const { code, stdout } = await runCli(['--json', 'inspect', ...targets]);
    expect(code).toBe(3);
    const report = JSON.parse(stdout) as { files: { path: string; problem?: string; detail: string }[] };
    const byPath = new Map(report.files.map((file) => [file.path, file]));
    expect(byPath.get(`${targets[0]}!a.txt`)).toMatchObject({
      problem: 'read-error',
      detail: expect.stringMatching(/CRC-32 mismatch/),
    });
    expect(byPath.get(`${targets[1]}!a.txt`)).toMatchObject({
      problem: 'unsafe-entry',
      detail: expect.stringMatching(/local header declares CRC-32/),
    });
    expect(byPath.get(`${targets[2]}!a.txt`)).toMatchObject({
      problem: 'unsafe-entry',
      detail: expect.stringMatching(/central directory 10/),
    });
    for (const target of targets.slice(0, 3))
      expect(byPath.get(`${target}!b.txt`)).toMatchObject({ type: 'text' });
    expect(byPath.get(targets[3]!)).toMatchObject({ type: 'text' });
  });
});
