/**
 * `npm run bench`: vouch scan throughput against the tools a user would compare it with, measured
 * in the same run on the same bytes, plus vouch's peak memory. Prints medians and ratios:
 * vouch on 2 cores against vouch pinned to 1 core (taskset), against openssl, sha256sum and
 * b3sum, and against `restic check --read-data` on the same files backed up by restic (Debian's
 * restic) — the peer that also reads every byte back and verifies it.
 *
 * The data set and the measurement are bench-kit.ts's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ARCHIVE, bench, CLI, DATA, generate, plainFiles, RUNS } from './bench-kit.js';

function vouchScan(
  layout: 'directory' | 'archive',
  algorithm: 'sha256' | 'blake3',
  cpus?: string,
): () => string {
  const base = mkdtempSync(path.join(tmpdir(), 'vouch-bench-'));
  const policy = path.join(base, 'policy.yaml');
  const source = layout === 'directory' ? path.join(DATA, 'plain') : path.join(DATA, 'archives');
  writeFileSync(
    policy,
    `sets:\n  bench:\n    source: { fs: { path: ${JSON.stringify(source)} } }\n    snapshots: { layout: ${layout} }\n    integrity: { algorithm: ${algorithm} }\n`,
  );
  let run = 0;
  // A fresh state directory each run: every run reads every byte and writes the baseline.
  const pin = cpus ? `taskset -c ${cpus} ` : '';
  // Exit 3 (findings) is expected: detection rightly calls the random .bin files suspicious.
  return () =>
    `${pin}node ${JSON.stringify(CLI)} --config ${JSON.stringify(policy)} --state ${JSON.stringify(path.join(base, `state-${run++}`))} --json scan > /dev/null || [ $? -eq 3 ]`;
}

/** A restic repository holding the plain files (made once; restic's own snapshot of them). */
function resticRepository(): { repo: string; env: string } {
  const repo = path.join(DATA, 'restic-repo');
  const env = `RESTIC_PASSWORD=vouch-bench RESTIC_REPOSITORY=${JSON.stringify(repo)}`;
  if (!existsSync(path.join(repo, 'config'))) {
    rmSync(repo, { recursive: true, force: true });
    process.stderr.write('backing the bench data up with restic (once)…\n');
    execFileSync(
      'sh',
      ['-c', `${env} restic init -q && ${env} restic backup -q ${JSON.stringify(path.join(DATA, 'plain'))}`],
      { stdio: 'inherit' },
    );
  }
  return { repo, env };
}

generate();
const files = plainFiles();
const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
const fileArgs = files.map((file) => JSON.stringify(file)).join(' ');
const archive = JSON.stringify(ARCHIVE);

const restic = resticRepository();
const cores = execFileSync('nproc', { encoding: 'utf8' }).trim();
const results = [
  bench('openssl dgst -sha256 (plain files)', () => `openssl dgst -sha256 ${fileArgs} > /dev/null`),
  bench('sha256sum (plain files)', () => `sha256sum ${fileArgs} > /dev/null`),
  bench('b3sum (plain files)', () => `b3sum ${fileArgs} > /dev/null`),
  bench('restic check --read-data', () => `${restic.env} restic check -q --read-data > /dev/null`),
  bench('vouch scan, sha256 (plain files)', vouchScan('directory', 'sha256')),
  bench('vouch scan, sha256, 1 core (plain)', vouchScan('directory', 'sha256', '0')),
  bench('vouch scan, blake3 (plain files)', vouchScan('directory', 'blake3')),
  bench('GNU tar -xzO | sha256sum (.tar.gz)', () => `tar -xzOf ${archive} | sha256sum > /dev/null`),
  bench('vouch scan, sha256 (.tar.gz)', vouchScan('archive', 'sha256')),
  bench('vouch scan, sha256, 1 core (.tar.gz)', vouchScan('archive', 'sha256', '0')),
];

const find = (name: string) => results.find((result) => result.name.startsWith(name))!;
const mib = bytes / 2 ** 20;
console.log(
  `\nvouch scan throughput — ${(bytes / 2 ** 30).toFixed(2)} GiB in ${files.length} files, median of ${RUNS} runs (warm cache), ${cores} cores\n`,
);
console.log('tool'.padEnd(40), 'median s'.padStart(9), 'MiB/s'.padStart(8), 'peak RSS MiB'.padStart(13));
for (const result of results) {
  console.log(
    result.name.padEnd(40),
    result.seconds.toFixed(2).padStart(9),
    (mib / result.seconds).toFixed(0).padStart(8),
    result.peakMiB.toFixed(0).padStart(13),
  );
}
const ratio = (a: string, b: string) => (find(b).seconds / find(a).seconds).toFixed(2);
console.log('\nratios (throughput of vouch / throughput of the other tool; ≥ 1 means vouch is faster)');
console.log(
  `  vouch sha256 plain, all cores vs 1 core:    ${ratio('vouch scan, sha256 (plain', 'vouch scan, sha256, 1 core (plain')}  (target ≥ 1.7 on 2 cores)`,
);
console.log(
  `  vouch sha256 tar.gz, all cores vs 1 core:   ${ratio('vouch scan, sha256 (.tar.gz', 'vouch scan, sha256, 1 core (.tar.gz')}`,
);
console.log(
  `  vouch sha256 plain  vs restic check --read-data: ${ratio('vouch scan, sha256 (plain', 'restic check')}  (target ≥ 1.5; vouch also classifies content)`,
);
console.log(
  `  vouch sha256 plain  vs openssl dgst -sha256: ${ratio('vouch scan, sha256 (plain', 'openssl')}  (target ≥ 0.8)`,
);
console.log(
  `  vouch sha256 plain  vs sha256sum:            ${ratio('vouch scan, sha256 (plain', 'sha256sum')}`,
);
console.log(`  vouch blake3 plain  vs b3sum:                ${ratio('vouch scan, blake3', 'b3sum')}`);
console.log(
  `  vouch sha256 tar.gz vs GNU tar | sha256sum:  ${ratio('vouch scan, sha256 (.tar.gz', 'GNU tar')}`,
);
const peak = Math.max(...results.filter((r) => r.name.startsWith('vouch')).map((r) => r.peakMiB));
console.log(`  vouch peak RSS: ${peak.toFixed(0)} MiB (target < 200 MiB whatever the object size)`);
