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
 * 6. Real estates (real-trees.ts): whole real trees of this machine and trees unpacked from
 *    Debian packages, scanned as directory and .tar.gz snapshots, two nights each; every one must
 *    read clean (tree-report.ts).
 * 7. Tables, targets and worst offenders (report.ts) on stdout; the full per-case results as
 *    JSON in bench-data/detection/results.json for digging into misses.
 *
 * Environment: VOUCH_BENCH_DETECTION_REBUILD=1 rebuilds the corpus and negatives (otherwise a
 * complete one in bench-data/detection/ is reused); VOUCH_BENCH_DETECTION_JOBS (default: the
 * number of cores) processes classify the corpus; VOUCH_BENCH_RUNS (default 3) runs per arm of
 * the feature cost on the scan benchmark's data; VOUCH_BENCH_FEATURE_COST=0 skips it;
 * VOUCH_BENCH_DETECTION_PARTS (default `corpus,trees`) picks the parts; VOUCH_BENCH_TREES and
 * VOUCH_BENCH_TREE_LAYOUTS pick real trees and layouts (see real-trees.ts), e.g.
 * `VOUCH_BENCH_DETECTION_PARTS=trees VOUCH_BENCH_TREES=etc,deb-fonts npm run bench:detection`.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { VALIDATORS } from '../../agent/detection/registry.js';
import { ROOT } from '../bench-kit.js';
import { loadOrBuildCorpus } from './corpus.js';
import { measureFeatureCost } from './feature-cost.js';
import { loadOrBuildCamouflage } from './camouflage.js';
import { measureCamouflage, measureCorpus, measureNegatives } from './measure.js';
import { loadOrBuildNegatives } from './negatives.js';
import { formatReport, type BenchResults } from './report.js';
import { pickTrees, prepareDebianTree, realTrees, scanTree, type TreeResult } from './real-trees.js';
import { runSnapshotHistories } from './snapshots.js';
import { formatTreeTable } from './tree-report.js';

const DATA = path.join(ROOT, 'bench-data', 'detection');
const REBUILD = process.env.VOUCH_BENCH_DETECTION_REBUILD === '1';
const RUNS = Number(process.env.VOUCH_BENCH_RUNS ?? 3);
const FEATURE_COST = process.env.VOUCH_BENCH_FEATURE_COST !== '0';
const JOBS = Number(process.env.VOUCH_BENCH_DETECTION_JOBS ?? availableParallelism());
/** Per-tree results; runs of different trees or layouts (VOUCH_BENCH_TREES, VOUCH_BENCH_TREE_LAYOUTS) keep separate files. */
const TREES_JSON = `trees${[process.env.VOUCH_BENCH_TREES, process.env.VOUCH_BENCH_TREE_LAYOUTS]
  .filter(Boolean)
  .map((pick) => `-${pick!.replace(/[^a-z0-9-]+/g, '_')}`)
  .join('')}.json`;
const PARTS = new Set(
  (process.env.VOUCH_BENCH_DETECTION_PARTS ?? 'corpus,trees').split(',').map((part) => part.trim()),
);

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

async function corpusPart(): Promise<void> {
  const corpus = await phase('corpus', () => loadOrBuildCorpus(DATA, { rebuild: REBUILD, log }));
  log(
    `${corpus.files.length} files${corpus.reused ? ' (reused; VOUCH_BENCH_DETECTION_REBUILD=1 rebuilds)' : ''}`,
  );
  const negatives = await phase('negatives (gpg, age, openssl, xz, zstd, brotli)', () =>
    loadOrBuildNegatives(DATA, corpus, { rebuild: REBUILD }),
  );
  const camouflage = await phase('camouflage (gpg, age, openssl enc, 7z, zip -P, cryptsetup, base64)', () =>
    loadOrBuildCamouflage(DATA, corpus, { rebuild: REBUILD }),
  );
  const measured = await phase(
    `classification (intact + 8 modes, with and without history; ${JOBS} processes)`,
    () => measureCorpus(corpus, { jobs: JOBS }),
  );
  const negativeCases = await phase('classification of the negatives', () =>
    measureNegatives(negatives, measured.originals),
  );
  const camouflageCases = await phase('classification of the camouflage, in place and renamed', () =>
    measureCamouflage(camouflage, measured.originals),
  );
  const histories = await phase('snapshot histories through runScan', () =>
    runSnapshotHistories(corpus, negatives, mkdtempSync(path.join(tmpdir(), 'vouch-bench-detection-'))),
  );
  const featureCost = FEATURE_COST
    ? await phase('feature cost (detection off vs on: scan benchmark data, corpus)', () =>
        measureFeatureCost(corpus, { runs: RUNS, log }),
      )
    : null;

  const results: BenchResults = {
    corpus: corpus.files,
    validators: VALIDATORS.map((v) => v.type),
    cases: measured.cases,
    negatives: negativeCases,
    camouflage: camouflageCases,
    histories,
    featureCost,
  };
  writeFileSync(path.join(DATA, 'results.json'), JSON.stringify(results, null, 1));
  console.log(formatReport(results));
}

async function treePart(): Promise<void> {
  const { trees, layouts } = pickTrees(realTrees(DATA));
  const results: TreeResult[] = [];
  for (const tree of trees) {
    await phase(`${tree.name}: prepare`, () => prepareDebianTree(tree, DATA, log));
    for (const layout of layouts) {
      const result = await phase(`${tree.name} (${layout}): two nightly scans`, () =>
        scanTree(tree, layout, path.join(DATA, `tree-work-${process.pid}`)),
      );
      log(
        `${tree.name} (${layout}): ${result.first.verdict} / ${result.second.verdict}; encrypted ${result.first.encryptedStrong}+${result.first.encryptedWeak} / ${result.second.encryptedStrong}+${result.second.encryptedWeak}`,
      );
      results.push(result);
      writeFileSync(path.join(DATA, TREES_JSON), JSON.stringify(results, null, 1));
    }
  }
  console.log(
    `\n== Real trees: intact real estates scanned as a user's backup sets (default policy), two nights each\n`,
  );
  console.log(formatTreeTable(results).join('\n'));
}

async function main(): Promise<void> {
  const started = performance.now();
  mkdirSync(DATA, { recursive: true });
  if (PARTS.has('corpus')) await corpusPart();
  if (PARTS.has('trees')) await treePart();
  const total = (performance.now() - started) / 1000;
  console.log(`\n== Run\n\n${phases.map(([name, s]) => `${name}: ${s.toFixed(1)} s`).join('\n')}`);
  console.log(
    `total: ${total.toFixed(1)} s; peak RSS of the benchmark process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
  if (PARTS.has('corpus'))
    console.log(`per-case results: ${path.relative(ROOT, path.join(DATA, 'results.json'))}`);
  if (PARTS.has('trees'))
    console.log(`per-tree results: ${path.relative(ROOT, path.join(DATA, TREES_JSON))}`);
}

await main();
