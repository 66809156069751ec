/**
 * `npm run bench:tree`: vouch on a real server tree of many small files, against the tools a user
 * would compare it with, all in one run on the same bytes.
 *
 * The tree is a deterministic sample of this machine's /usr (usr-tree.ts): VOUCH_BENCH_TREE_FILES
 * files (default 36,000; the sample must reach ≥ 30,000 files and ≥ 1 GiB for the issue-13
 * targets, smaller values are for quick iteration), each at most 64 MiB — Python sources and
 * bytecode, gzip'd docs, PNG, YAML, gettext catalogs, shared libraries, jars. It is made once under
 * ~/.cache/vouch/bench-tree/ (VOUCH_BENCH_CACHE overrides) together with the same tree as one
 * .tar.gz (gzip -1), as one .zip (zip -1) and as a restic repository, so reruns start at once.
 *
 * Measured, medians of VOUCH_BENCH_RUNS runs (default 3) with peak RSS from /usr/bin/time:
 * - `vouch scan` of the directory in the steady state — a baseline recorded by a first scan, then
 *   `rehash: always` re-reads and re-hashes every byte on every scan — with detection on and off;
 * - the same steady state for the .tar.gz and the .zip;
 * - `restic check --read-data` of the repository, `find | xargs openssl dgst -sha256`, `b3sum`,
 *   `tar -xzOf | sha256sum` and `unzip -p | sha256sum`.
 * The first scan (which writes the baseline) is reported too. The machine is shared and noisy:
 * compare the ratios of one run, not absolute times across runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { CLI, measure, median, RUNS, type Measurement } from './bench-kit.js';
import { usrTree } from './usr-tree.js';

const FILES = Number(process.env.VOUCH_BENCH_TREE_FILES ?? 36_000);
const CACHE = process.env.VOUCH_BENCH_CACHE ?? path.join(homedir(), '.cache', 'vouch', 'bench-tree');
const SNAPSHOT = 'snap-20250101';
const home = path.join(CACHE, `usr-${FILES}`);
const plainRoot = path.join(home, 'plain');
const tarRoot = path.join(home, 'tar');
const zipRoot = path.join(home, 'zip');
const tarGz = path.join(tarRoot, `${SNAPSHOT}.tar.gz`);
const zipFile = path.join(zipRoot, `${SNAPSHOT}.zip`);
const repository = path.join(home, 'restic');
const passwordFile = path.join(home, 'restic.pw');
const q = JSON.stringify;

/** Runs a shell command, showing its output (for the one-off preparation steps). */
function sh(command: string): void {
  execFileSync('sh', ['-c', command], { stdio: 'inherit' });
}

mkdirSync(home, { recursive: true });
const tree = usrTree(FILES, 64 * 2 ** 20, '/usr', path.join(plainRoot, SNAPSHOT));
if (!existsSync(tarGz)) {
  process.stderr.write('packing the tree as .tar.gz (once)…\n');
  mkdirSync(tarRoot, { recursive: true });
  sh(`tar -C ${q(tree.dir)} -cf - . | gzip -1 > ${q(`${tarGz}.tmp`)} && mv ${q(`${tarGz}.tmp`)} ${q(tarGz)}`);
}
if (!existsSync(zipFile)) {
  process.stderr.write('packing the tree as .zip (once)…\n');
  mkdirSync(zipRoot, { recursive: true });
  rmSync(`${zipFile}.tmp.zip`, { force: true });
  sh(
    `cd ${q(tree.dir)} && zip -q -1 -r -y ${q(`${zipFile}.tmp.zip`)} . && mv ${q(`${zipFile}.tmp.zip`)} ${q(zipFile)}`,
  );
}
writeFileSync(passwordFile, 'vouch-bench\n', { mode: 0o600 });
const restic = `restic --repo ${q(repository)} --password-file ${q(passwordFile)} --quiet`;
if (!existsSync(path.join(repository, 'config'))) {
  rmSync(repository, { recursive: true, force: true });
  process.stderr.write(`backing ${tree.files} files up with restic (once)…\n`);
  sh(`${restic} init && cd ${q(tree.dir)} && ${restic} backup .`);
}

const base = mkdtempSync(path.join(tmpdir(), 'vouch-bench-tree-'));

/** A vouch scan of one layout in its own state directory; the first call writes the baseline. */
function vouchScan(
  name: string,
  root: string,
  layout: 'directory' | 'archive',
  detection: boolean,
): () => string {
  const policy = path.join(base, `${name}.yaml`);
  // Snapshots named with their date, and a pattern that reads it, as docs/policy.md recommends:
  // then a snapshot read in full anyway is listed only by its read (performance.md, eleventh round).
  writeFileSync(
    policy,
    `sets:\n  tree:\n    source: { fs: { path: ${q(root)} } }\n    snapshots: { layout: ${layout}, match: '^snap-(?<time>\\d{8})' }\n    integrity: { algorithm: sha256, rehash: always }\n    detection: { enabled: ${detection} }\n`,
  );
  const state = path.join(base, `${name}-state`);
  const out = path.join(base, `${name}.json`);
  // Exit 3 (findings) would be a detection finding on an intact tree: kept, and shown below.
  return () =>
    `node ${q(CLI)} --config ${q(policy)} --state ${q(state)} --json scan > ${q(out)} || [ $? -eq 3 ]`;
}

interface Row {
  name: string;
  first?: number;
  seconds: number;
  /** Median CPU seconds (user + system, every thread and child). */
  cpu: number;
  peakMiB: number;
  runs: number[];
}

/** The first run (for vouch: the baseline), then RUNS timed runs. */
function time(name: string, command: () => string, reportFirst = false): Row {
  process.stderr.write(`  ${name}…\n`);
  const first = measure(command());
  const runs: Measurement[] = Array.from({ length: RUNS }, () => measure(command()));
  const seconds = median(runs.map((run) => run.seconds));
  return {
    name,
    ...(reportFirst ? { first: first.seconds } : {}),
    seconds,
    cpu: median(runs.map((run) => run.cpuSeconds)),
    peakMiB: Math.max(...runs.map((run) => run.peakRssKiB)) / 1024,
    runs: runs.map((run) => run.seconds),
  };
}

const listFiles = `find ${q(tree.dir)} -type f -print0`;
process.stderr.write(`timing (${RUNS} runs each after a first run)…\n`);
const rows: Row[] = [
  time('vouch scan, steady state, detection on', vouchScan('dir-on', plainRoot, 'directory', true), true),
  time('vouch scan, steady state, detection off', vouchScan('dir-off', plainRoot, 'directory', false), true),
  time('restic check --read-data', () => `${restic} check --read-data > /dev/null`),
  time('find | xargs openssl dgst -sha256', () => `${listFiles} | xargs -0 openssl dgst -sha256 > /dev/null`),
  time(
    'find | xargs b3sum --num-threads 1',
    () => `${listFiles} | xargs -0 b3sum --num-threads 1 > /dev/null`,
  ),
  time('vouch scan .tar.gz, steady, detection on', vouchScan('tgz-on', tarRoot, 'archive', true), true),
  time('tar -xzOf | sha256sum', () => `tar -xzOf ${q(tarGz)} | sha256sum > /dev/null`),
  time('vouch scan .zip, steady, detection on', vouchScan('zip-on', zipRoot, 'archive', true), true),
  time('unzip -p | sha256sum', () => `unzip -p ${q(zipFile)} | sha256sum > /dev/null`),
];

const verdicts = ['dir-on', 'dir-off', 'tgz-on', 'zip-on'].map((name) => {
  const scan = JSON.parse(readFileSync(path.join(base, `${name}.json`), 'utf8')) as {
    sets: { snapshots: { verdict: string; entries: number; findings: { kind: string; path: string }[] }[] }[];
  };
  const snapshot = scan.sets[0]!.snapshots[0]!;
  return `${name}: ${snapshot.verdict}, ${snapshot.entries} entries, ${snapshot.findings.length} findings${snapshot.findings.length ? ` (first: ${snapshot.findings[0]!.kind} ${snapshot.findings[0]!.path})` : ''}`;
});
rmSync(base, { recursive: true, force: true });

const cores = execFileSync('nproc', { encoding: 'utf8' }).trim();
const gib = tree.bytes / 2 ** 30;
const sizes = spawnSync('sh', ['-c', `du -k ${q(tarGz)} ${q(zipFile)} | cut -f1`], { encoding: 'utf8' })
  .stdout.trim()
  .split('\n')
  .map((k) => (Number(k) / 1024).toFixed(0));
console.log(
  `\nvouch on a real tree — ${tree.files} files of this machine's /usr, ${gib.toFixed(2)} GiB (average ${(tree.bytes / tree.files / 1024).toFixed(0)} KiB; .tar.gz ${sizes[0]} MiB, .zip ${sizes[1]} MiB), ${cores} cores, medians of ${RUNS} (warm cache)\n`,
);
console.log('| command (same tree, one run) | median wall s | runs | CPU s | first scan s | peak RSS MiB |');
console.log('| --- | ---: | --- | ---: | ---: | ---: |');
for (const row of rows) {
  console.log(
    `| ${row.name} | ${row.seconds.toFixed(2)} | ${row.runs.map((s) => s.toFixed(1)).join(' / ')} | ${row.cpu.toFixed(1)} | ${row.first !== undefined ? row.first.toFixed(2) : ''} | ${row.peakMiB.toFixed(0)} |`,
  );
}
const find = (prefix: string) => rows.find((row) => row.name.startsWith(prefix))!;
const on = find('vouch scan, steady state, detection on');
const off = find('vouch scan, steady state, detection off');
const resticRow = find('restic check');
const opensslRow = find('find | xargs openssl');
console.log('\ntargets (detection on)');
console.log(
  `  vouch / restic check --read-data time:   ${(on.seconds / resticRow.seconds).toFixed(2)}  (target ≤ 1; stretch ≤ 0.5)`,
);
console.log(
  `  detection's cost over digests alone:     ${(((on.seconds - off.seconds) / off.seconds) * 100).toFixed(0)} %  (target ≤ 25 %)`,
);
console.log(
  `  the same in CPU seconds:                  ${(on.cpu / resticRow.cpu).toFixed(2)} of restic's; detection ${(((on.cpu - off.cpu) / off.cpu) * 100).toFixed(0)} % over digests`,
);
console.log(`  vouch / openssl dgst time:               ${(on.seconds / opensslRow.seconds).toFixed(2)}`);
console.log(
  `  vouch .tar.gz / tar -xzOf | sha256sum:   ${(find('vouch scan .tar.gz').seconds / find('tar -xzOf').seconds).toFixed(2)}`,
);
console.log(
  `  vouch .zip / unzip -p | sha256sum:       ${(find('vouch scan .zip').seconds / find('unzip -p').seconds).toFixed(2)}`,
);
const peak = Math.max(...rows.filter((row) => row.name.startsWith('vouch')).map((row) => row.peakMiB));
console.log(`  vouch peak RSS:                          ${peak.toFixed(0)} MiB  (target < 200 MiB)`);
console.log(
  `  per TB of such files at this rate:       ${(((on.seconds / gib) * 1024) / 3600).toFixed(1)} h (detection on), ${(((off.seconds / gib) * 1024) / 3600).toFixed(1)} h (off)`,
);
console.log(`\nverdicts of the last scans: ${verdicts.join('; ')}`);
