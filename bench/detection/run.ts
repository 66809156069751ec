/**
 * `npm run bench:detection`: how well vouch's detection tells ransomware encryption from
 * everything else, on real files from this machine, against issue 3's targets.
 *
 * 1. Corpus: real files by type, topped up with files derived by real tools (corpus.ts).
 * 2. Every ransomware mode with real ciphers, and hard negatives: gpg/age/openssl encryption,
 *    xz/zstd/brotli recompression (negatives.ts).
 * 3. Classification the way a scan does, with and without history (measure.ts).
 * 4. Snapshot verdicts through the real scan pipeline at 0 %, 0.1 %, 1 % and 30 % hit (snapshots.ts).
 * 5. Feature cost on the scan benchmark's data set and on the corpus (feature-cost.ts).
 * 6. Tables, targets and worst offenders (report.ts) on stdout; the full per-case results as
 *    JSON in bench-data/detection/results.json for digging into misses.
 *
 * Environment: VOUCH_BENCH_DETECTION_REBUILD=1 rebuilds the corpus and negatives (otherwise a
 * complete one in bench-data/detection/ is reused); VOUCH_BENCH_DETECTION_JOBS (default: the
 * number of cores) processes classify the corpus; VOUCH_BENCH_RUNS (default 3) runs per arm of
 * the feature cost on the scan benchmark's data; VOUCH_BENCH_FEATURE_COST=0 skips it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { VALIDATORS } from '../../agent/detection/registry.js';
import { ROOT } from '../bench-kit.js';
import { loadOrBuildCorpus } from './corpus.js';
import { measureFeatureCost } from './feature-cost.js';
import { measureCorpus, measureNegatives } from './measure.js';
import { loadOrBuildNegatives } from './negatives.js';
import { formatReport, type BenchResults } from './report.js';
import { runSnapshotHistories } from './snapshots.js';

const DATA = path.join(ROOT, 'bench-data', 'detection');
const REBUILD = process.env.VOUCH_BENCH_DETECTION_REBUILD === '1';
const RUNS = Number(process.env.VOUCH_BENCH_RUNS ?? 3);
const FEATURE_COST = process.env.VOUCH_BENCH_FEATURE_COST !== '0';
const JOBS = Number(process.env.VOUCH_BENCH_DETECTION_JOBS ?? availableParallelism());

const log = (message: string) => process.stderr.write(`[bench:detection] ${message}\n`);
const phases: [string, number][] = [];

async function phase<T>(name: string, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  log(`${name}…`);
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  phases.push([name, seconds]);
  log(`${name}: ${seconds.toFixed(1)} s`);
  return result;
}

async function main(): Promise<void> {
  const started = performance.now();
  mkdirSync(DATA, { recursive: true });
  const corpus = await phase('corpus', () => loadOrBuildCorpus(DATA, { rebuild: REBUILD, log }));
  log(`${corpus.files.length} files${corpus.reused ? ' (reused; VOUCH_BENCH_DETECTION_REBUILD=1 rebuilds)' : ''}`);
  const negatives = await phase('negatives (gpg, age, openssl, xz, zstd, brotli)', () => loadOrBuildNegatives(DATA, corpus, { rebuild: REBUILD }));
  const measured = await phase(`classification (intact + 8 modes, with and without history; ${JOBS} processes)`, () => measureCorpus(corpus, { jobs: JOBS }));
  const negativeCases = await phase('classification of the negatives', () => measureNegatives(negatives, measured.originals));
  const histories = await phase('snapshot histories through runScan', () => runSnapshotHistories(corpus, negatives, mkdtempSync(path.join(tmpdir(), 'vouch-bench-detection-'))));
  const featureCost = FEATURE_COST ? await phase('feature cost (detection off vs on: scan benchmark data, corpus)', () => measureFeatureCost(corpus, { runs: RUNS, log })) : null;

  const results: BenchResults = {
    corpus: corpus.files,
    validators: VALIDATORS.map((v) => v.type),
    cases: measured.cases,
    negatives: negativeCases,
    histories,
    featureCost,
  };
  writeFileSync(path.join(DATA, 'results.json'), JSON.stringify(results, null, 1));
  console.log(formatReport(results));
  const total = (performance.now() - started) / 1000;
  console.log(`\n== Run\n\n${phases.map(([name, s]) => `${name}: ${s.toFixed(1)} s`).join('\n')}`);
  console.log(`total: ${total.toFixed(1)} s; peak RSS of the benchmark process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  console.log(`per-case results: ${path.relative(ROOT, path.join(DATA, 'results.json'))}`);
}

await main();
