/**
 * `npm run bench:restic`: scanning a restic repository of a real tree — a deterministic sample of
 * this machine's /usr (usr-tree.ts; VOUCH_BENCH_TREE_FILES files, default 5,000) backed up by
 * Debian's restic — against `restic check --read-data` of the same repository, the tool a restic
 * user runs to prove the repository intact, in the same run. Both read every blob back, decrypt
 * it and check its hash; vouch also hashes every file and classifies its content.
 *
 * Also measured, because the source reads restic snapshots as one `restic dump --archive tar`
 * stream: that stream alone (what vouch costs on top of restic), and the alternative of
 * `restic ls --json` plus one `restic dump` per file (timed on a sample of files and extrapolated).
 * Medians of VOUCH_BENCH_RUNS runs after a warm-up, peak RSS from /usr/bin/time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bench, CLI, DATA, measure, median, RUNS } from './bench-kit.js';
import { usrTree } from './usr-tree.js';

const FILES = Number(process.env.VOUCH_BENCH_TREE_FILES ?? 5000);
/** Files timed one `restic dump` each for the per-file alternative. */
const PER_FILE_SAMPLE = 20;

const tree = usrTree(FILES);
const repository = path.join(DATA, `restic-usr-tree-${FILES}`);
const passwordFile = path.join(DATA, 'restic-bench.pw');
writeFileSync(passwordFile, 'vouch-bench\n', { mode: 0o600 });
const restic = `restic --repo ${JSON.stringify(repository)} --password-file ${JSON.stringify(passwordFile)} --quiet`;
if (!existsSync(path.join(repository, 'config'))) {
  rmSync(repository, { recursive: true, force: true });
  process.stderr.write(`backing ${tree.files} files up with restic (once)…\n`);
  execFileSync('sh', ['-c', `${restic} init && cd ${JSON.stringify(tree.dir)} && ${restic} backup .`], {
    stdio: 'inherit',
  });
}

const base = mkdtempSync(path.join(tmpdir(), 'vouch-bench-restic-'));
const policy = path.join(base, 'policy.yaml');
writeFileSync(
  policy,
  `sets:\n  usr:\n    source: { restic: { repository: ${JSON.stringify(repository)}, passwordFile: ${JSON.stringify(passwordFile)} } }\n`,
);
let run = 0;
const stateOf = () => path.join(base, `state-${run++}`);
// A fresh state directory each run: every run reads every byte and writes the baseline.
const vouchScan = () =>
  `node ${JSON.stringify(CLI)} --config ${JSON.stringify(policy)} --state ${JSON.stringify(stateOf())} --json scan > ${JSON.stringify(path.join(base, 'last-scan.json'))} || [ $? -eq 3 ]`;

const results = [
  bench('restic check --read-data', () => `${restic} check --read-data > /dev/null`),
  bench('restic dump --archive tar (stream only)', () => `${restic} dump --archive tar latest / > /dev/null`),
  bench('vouch scan of the restic set', vouchScan),
];

// The per-file alternative: one listing, then one restic process per file.
const listing = median(
  Array.from({ length: RUNS }, () => measure(`${restic} ls --json latest > /dev/null`).seconds),
);
const sampleFiles = execFileSync(
  'sh',
  ['-c', `cd ${JSON.stringify(tree.dir)} && find . -type f | sort | head -n ${PER_FILE_SAMPLE}`],
  { encoding: 'utf8' },
)
  .trim()
  .split('\n')
  .map((file) => file.slice(1));
const perFile =
  measure(sampleFiles.map((file) => `${restic} dump latest ${JSON.stringify(file)} > /dev/null`).join(' && '))
    .seconds / sampleFiles.length;
const perFileTotal = listing + perFile * tree.files;

const scan = JSON.parse(execFileSync('cat', [path.join(base, 'last-scan.json')], { encoding: 'utf8' })) as {
  sets: { snapshots: { verdict: string; entries: number; findings: unknown[] }[] }[];
};
const snapshot = scan.sets[0]!.snapshots[0]!;
rmSync(base, { recursive: true, force: true });

const find = (name: string) => results.find((result) => result.name.startsWith(name))!;
const mib = tree.bytes / 2 ** 20;
const packs = readdirSync(path.join(repository, 'data')).length;
console.log(
  `\nrestic repository scan — ${tree.files} files of /usr (${mib.toFixed(0)} MiB; ${packs} pack directories), median of ${RUNS} runs (warm cache)\n`,
);
console.log('tool'.padEnd(44), 'median s'.padStart(9), 'MiB/s'.padStart(8), 'peak RSS MiB'.padStart(13));
for (const result of results)
  console.log(
    result.name.padEnd(44),
    result.seconds.toFixed(2).padStart(9),
    (mib / result.seconds).toFixed(0).padStart(8),
    result.peakMiB.toFixed(0).padStart(13),
  );
console.log(
  `${'restic ls --json + one restic dump per file'.padEnd(44)} ${perFileTotal.toFixed(0).padStart(9)}   (listing ${listing.toFixed(2)} s + ${perFile.toFixed(2)} s per file, timed on ${sampleFiles.length} files)`,
);
console.log('\nratios (≥ 1 means vouch is faster)');
console.log(
  `  vouch scan vs restic check --read-data:       ${(find('restic check').seconds / find('vouch scan').seconds).toFixed(2)}  (vouch also hashes every file and classifies its content)`,
);
console.log(
  `  vouch scan vs the restic dump stream alone:   ${(find('restic dump').seconds / find('vouch scan').seconds).toFixed(2)}`,
);
console.log(
  `  one tar stream vs per-file restic dumps:      ${(perFileTotal / find('restic dump').seconds).toFixed(0)}× faster (why the source reads a snapshot as one stream)`,
);
console.log(
  `\nthe scan's verdict on the tree: ${snapshot.verdict}, ${snapshot.entries} entries, ${snapshot.findings.length} findings`,
);
