/**
 * Detection's feature cost: the wall time it adds to a scan. A `vouch scan` (sha256, plain-file
 * directory snapshots) is run with `detection: { enabled: false }` and with detection on,
 * alternately so machine load drifts into both alike, and the medians are compared; each run
 * gets a fresh state directory, so every run reads every byte.
 *
 * Two data sets:
 * - the scan benchmark's own (bench-kit.ts's generator; issue 3's target is measured here): large
 *   files of random, text-like and repetitive bytes, with one warm-up run per arm;
 * - the detection corpus as one snapshot: real formats, where every structure validator runs.
 *   Reported next to the target because the synthetic data has no format to validate. One run
 *   per arm: the gap there is far wider than run-to-run noise, and each run with detection
 *   takes a while.
 *
 * vouch runs from its sources through tsx's loader (no build step); that start-up is in both
 * arms of each ratio.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { EXIT } from '../../agent/cli/exit-codes.js';
import { generate, median, ROOT } from '../bench-kit.js';
import type { Corpus } from './corpus.js';
import { runTool } from './tools.js';

const CLI = path.join(ROOT, 'agent/cli/main.ts');

/** One arm of a comparison. */
export interface ScanTimings {
  /** Wall seconds of each measured run. */
  seconds: number[];
  median: number;
  /** Median CPU seconds (user + system) of the scan process: less sensitive to other load than wall time. */
  cpuMedian: number;
  peakRssMiB: number;
}

/** Detection off vs on over one data set. */
export interface Comparison {
  label: string;
  dataDir: string;
  files: number;
  bytes: number;
  off: ScanTimings;
  on: ScanTimings;
  /** median(on) / median(off), wall time. */
  ratio: number;
  /** The same for CPU time. */
  cpuRatio: number;
}

/** Both comparisons. */
export interface FeatureCost {
  /** On the scan benchmark's data set: issue 3's target. */
  scanBenchmark: Comparison;
  /** On the detection corpus (real formats). */
  corpus: Comparison;
  /** One-minute load average before and after, to judge how noisy the machine was. */
  load: [number, number];
}

interface Run {
  seconds: number;
  cpuSeconds: number;
  peakRssKiB: number;
}

function tree(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = tree(full);
      files += sub.files;
      bytes += sub.bytes;
    } else if (entry.isFile()) {
      files++;
      bytes += statSync(full).size;
    }
  }
  return { files, bytes };
}

/** One `vouch scan` under /usr/bin/time: wall and CPU seconds, peak RSS. Findings (exit 3) are a normal outcome. */
function timeScan(policy: string, state: string): Run {
  const started = process.hrtime.bigint();
  const result = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%M %U %S',
      process.execPath,
      '--import',
      'tsx',
      CLI,
      '--config',
      policy,
      '--state',
      state,
      '--json',
      'scan',
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== EXIT.ok && result.status !== EXIT.findings) {
    throw new Error(
      `vouch scan --config ${policy} failed (exit ${result.status ?? result.signal}): ${result.stderr.slice(-2000)}`,
      { cause: result.error },
    );
  }
  const [rss, user, system] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds, cpuSeconds: user! + system!, peakRssKiB: rss! };
}

function timings(runs: readonly Run[]): ScanTimings {
  return {
    seconds: runs.map((r) => r.seconds),
    median: median(runs.map((r) => r.seconds)),
    cpuMedian: median(runs.map((r) => r.cpuSeconds)),
    peakRssMiB: Math.max(...runs.map((r) => r.peakRssKiB)) / 1024,
  };
}

/** Compares detection off and on over the directory snapshots in `dataDir`. */
function compare(
  label: string,
  dataDir: string,
  work: string,
  options: { runs: number; warmUp: boolean; log: (message: string) => void },
): Comparison {
  const { files, bytes } = tree(dataDir);
  mkdirSync(work, { recursive: true });
  const policyFor = (enabled: boolean) => {
    const file = path.join(work, `policy-${enabled ? 'on' : 'off'}.yaml`);
    writeFileSync(
      file,
      `sets:\n  bench:\n    source: { fs: { path: ${JSON.stringify(dataDir)} } }\n    snapshots: { layout: directory }\n    integrity: { algorithm: sha256 }\n    detection: { enabled: ${enabled} }\n`,
    );
    return file;
  };
  const policies = { off: policyFor(false), on: policyFor(true) };
  const runs: Record<'off' | 'on', Run[]> = { off: [], on: [] };
  let n = 0;
  const once = (arm: 'off' | 'on') => {
    const state = path.join(work, `state-${n++}`);
    const measured = timeScan(policies[arm], state);
    rmSync(state, { recursive: true, force: true });
    return measured;
  };
  options.log(
    `${label}: ${(bytes / 2 ** 20).toFixed(0)} MiB in ${files} files${options.warmUp ? ', warming up' : ''}…`,
  );
  if (options.warmUp) {
    once('off');
    once('on');
  }
  for (let run = 0; run < options.runs; run++) {
    for (const arm of ['off', 'on'] as const) {
      const measured = once(arm);
      runs[arm].push(measured);
      options.log(`  run ${run + 1}/${options.runs}, detection ${arm}: ${measured.seconds.toFixed(2)} s`);
    }
  }
  const off = timings(runs.off);
  const on = timings(runs.on);
  return {
    label,
    dataDir,
    files,
    bytes,
    off,
    on,
    ratio: on.median / off.median,
    cpuRatio: on.cpuMedian / off.cpuMedian,
  };
}

/** Runs both comparisons; `log` hears progress. */
export function measureFeatureCost(
  corpus: Corpus,
  options: { runs: number; log?: (message: string) => void },
): FeatureCost {
  const log = options.log ?? (() => {});
  const work = mkdtempSync(path.join(tmpdir(), 'vouch-feature-cost-'));
  const loadBefore = loadavg()[0]!;
  try {
    const scanBenchmark = compare(
      'scan benchmark data (bench-kit.ts)',
      generate(),
      path.join(work, 'scan-benchmark'),
      { runs: options.runs, warmUp: true, log },
    );
    // The corpus as one directory snapshot, hard-linked; its bytes are in the page cache from classification.
    const snapshots = path.join(work, 'corpus-snapshots');
    mkdirSync(snapshots, { recursive: true });
    runTool('cp', ['-al', corpus.root, path.join(snapshots, '2025-01-01')]);
    const corpusComparison = compare('detection corpus (real files)', snapshots, path.join(work, 'corpus'), {
      runs: 1,
      warmUp: false,
      log,
    });
    return { scanBenchmark, corpus: corpusComparison, load: [loadBefore, loadavg()[0]!] };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
