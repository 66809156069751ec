/**
 * `npm run bench` (second part): a vouch restore drill — restore into a fresh directory plus
 * digest verification against the baseline, then teardown — against GNU tar doing the restore
 * alone, and tar followed by `sha256sum -c`, on the same .tar.gz snapshot in the same run, all on
 * the same filesystem, each including the removal of what it extracted. Prints medians, ratios
 * and peak RSS. Targets: drill ≤ 1.3× `tar -xzf` (verification nearly free), < 1× tar + sha256sum.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ARCHIVE, ARCHIVE_SUMS, bench, CLI, DATA, ensureSums, generate, RUNS } from './bench-kit.js';

generate();
ensureSums();

const work = path.join(DATA, 'drill-bench');
rmSync(work, { recursive: true, force: true });
mkdirSync(path.join(work, 'tmp'), { recursive: true });
const state = path.join(work, 'state');
const policy = path.join(work, 'policy.yaml');
writeFileSync(
  policy,
  `sets:\n  bench:\n    source: { fs: { path: ${JSON.stringify(path.dirname(ARCHIVE))} } }\n    snapshots: { layout: archive }\n    drill: { pick: latest, verify: { digests: true, structure: false } }\n`,
);
// The baseline the drill verifies against (not timed). Exit 3 (findings) is expected: detection
// rightly calls the random .bin files suspicious.
const baseline = spawnSync('node', [CLI, '--config', policy, '--state', state, '--json', 'scan'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (baseline.status !== 0 && baseline.status !== 3)
  throw new Error(`the baseline scan failed (exit ${baseline.status ?? baseline.signal})`);

const q = JSON.stringify;
const scratch = path.join(work, 'tmp');
const tarOnly = () => `d=$(mktemp -d -p ${q(scratch)}) && tar -xzf ${q(ARCHIVE)} -C "$d" && rm -rf "$d"`;
const tarAndSums = () =>
  `d=$(mktemp -d -p ${q(scratch)}) && tar -xzf ${q(ARCHIVE)} -C "$d" && (cd "$d" && sha256sum -c --quiet ${q(ARCHIVE_SUMS)}) && rm -rf "$d"`;
const drill = () =>
  `node ${q(CLI)} --config ${q(policy)} --state ${q(state)} --json drill bench > ${q(path.join(work, 'last-drill.json'))}`;

const results = [
  bench('GNU tar -xzf', tarOnly),
  bench('GNU tar -xzf && sha256sum -c', tarAndSums),
  bench('vouch drill (restore + digests)', drill),
];

const report = JSON.parse(
  execFileSync('cat', [path.join(work, 'last-drill.json')], { encoding: 'utf8' }),
) as {
  outcome: string;
  sample: { entries: number; bytes: number };
  phases: Record<string, number>;
  verifiers: { verifier: string; status: string; detail: string }[];
};
if (report.outcome !== 'passed')
  throw new Error(`the benchmark drill did not pass: ${JSON.stringify(report.verifiers)}`);
rmSync(work, { recursive: true, force: true });

const bytes = report.sample.bytes;
const mib = bytes / 2 ** 20;
const archiveMiB = statSync(ARCHIVE).size / 2 ** 20;
console.log(
  `\nvouch restore drill — ${(bytes / 2 ** 30).toFixed(2)} GiB in ${report.sample.entries} entries from a ${archiveMiB.toFixed(0)} MiB .tar.gz, median of ${RUNS} runs (warm cache, teardown included)\n`,
);
console.log('tool'.padEnd(34), 'median s'.padStart(9), 'MiB/s'.padStart(8), 'peak RSS MiB'.padStart(13));
for (const result of results) {
  console.log(
    result.name.padEnd(34),
    result.seconds.toFixed(2).padStart(9),
    (mib / result.seconds).toFixed(0).padStart(8),
    result.peakMiB.toFixed(0).padStart(13),
  );
}
const seconds = (name: string) => results.find((result) => result.name.startsWith(name))!.seconds;
console.log('\nratios (vouch drill time / other tool time; lower is better)');
console.log(
  `  vouch drill vs tar -xzf:                 ${(seconds('vouch') / seconds('GNU tar -xzf')).toFixed(2)}  (target ≤ 1.3)`,
);
console.log(
  `  vouch drill vs tar -xzf && sha256sum -c: ${(seconds('vouch') / seconds('GNU tar -xzf &&')).toFixed(2)}  (target < 1)`,
);
console.log(`  vouch drill peak RSS: ${results.at(-1)!.peakMiB.toFixed(0)} MiB`);
console.log(
  `  last drill's phases: ${Object.entries(report.phases)
    .map(([phase, value]) => `${phase} ${value.toFixed(2)} s`)
    .join(', ')}`,
);
