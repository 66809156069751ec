/**
 * Classifies every benchmark case the way a scan does — the content probe with every registered
 * validator over the bytes in odd-sized chunks, then classify() — in two settings:
 *
 * - with history: the previous snapshot held the intact original, at the same path (intact
 *   files and in-place modes) or at the path it was renamed from (rename, footer, and the
 *   negatives that replace their original the way gpg or xz do). Renames are paired by the
 *   scan's own rule (renameSource), so a pairing the scan would not make is not made here either.
 * - without history: the first snapshot of a set; nothing to compare with.
 *
 * The original's judgement in the previous snapshot is its own classification without history,
 * as it would have been when that snapshot was scanned first.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classify, containerOf, type ClassifyInput } from '../../agent/detection/classify.js';
import { type Judgement, type Strength } from '../../agent/model/content.js';
import type { ContentFeatures } from '../../agent/detection/content-probe.js';
import { prepareValidators } from '../../agent/detection/registry.js';
import { previousContent, renameSource } from '../../agent/detection/snapshot-detection.js';
import type { ManifestEntry } from '../../agent/model/manifest.js';
import { featuresOf } from '../../test/helpers/detect.js';
import {
  applyRansomware,
  RANSOMWARE_MODES,
  type RansomwareCipher,
  type RansomwareMode,
} from '../../test/helpers/ransomware-modes.js';
import type { Corpus, CorpusType } from './corpus.js';
import { negativeFilePath, type NegativeKind, type Negatives } from './negatives.js';
import {
  CAMOUFLAGE_EXTENSION,
  CAMOUFLAGE_PLACEMENTS,
  camouflageFilePath,
  camouflageScenario,
  type Camouflage,
  type CamouflageScenario,
} from './camouflage.js';
import { sha256 } from './tools.js';

/** What was done to a file before it was classified. */
export type Scenario = 'intact' | RansomwareMode | NegativeKind | CamouflageScenario;

/** The ciphers the modes are applied with, alternating over files and modes. */
export const CIPHERS: readonly RansomwareCipher[] = ['aes-256-ctr', 'chacha20'];

/** Extensions ransomware gives renamed files (rename and footer modes), cycled over files. */
export const RANSOM_EXTENSIONS = ['.akira', '.lockbit', '.basta', '.play'];

/** The part of a classification the report needs. */
export interface Judged {
  encrypted: boolean;
  strength: Strength;
  judgement: Judgement;
  reasons: string[];
  detail: string;
  score: number;
}

/** One classified case. */
export interface CaseResult {
  /** The corpus type of the original. */
  type: CorpusType;
  scenario: Scenario;
  /** The path classified (corpus namespace). */
  path: string;
  /** Where the original came from on this machine. */
  origin: string;
  size: number;
  withHistory: Judged;
  withoutHistory: Judged;
  /** With history: whether a previous version was found (false: an unpaired new file). */
  paired: boolean;
  /** Seconds the content probe (type, validator, statistics) took over the bytes: detection's cost. */
  probeSeconds: number;
}

/** Everything the previous snapshot knew about one original (its manifest entry). */
type Original = ManifestEntry;

const judged = (input: ClassifyInput): Judged => {
  const c = classify(input);
  return {
    encrypted: c.encrypted,
    strength: c.strength,
    judgement: c.judgement,
    reasons: c.reasons,
    detail: c.detail,
    score: c.score,
  };
};

/** The manifest entry the first snapshot would have stored for an original. */
function originalEntry(relative: string, data: Buffer, features: ContentFeatures): Original {
  const digest = sha256(data);
  const content = classify({ path: relative, features, digest }).summary;
  return { path: relative, type: 'file', size: data.length, digest, content };
}

/** The probe's features for `data` stored at `relative` (its name may claim a magic-less format, as in a scan), and the seconds they took. */
function probe(data: Buffer, relative: string): { features: ContentFeatures; probeSeconds: number } {
  const started = performance.now();
  const features = featuresOf(data, undefined, relative);
  return { features, probeSeconds: (performance.now() - started) / 1000 };
}

/**
 * Classifies `data` at `relative` without history and with the original as history (paired by
 * the scan's rule when the path changed); `probed` when the features are already measured.
 */
function judgeBoth(
  relative: string,
  data: Buffer,
  original: Original,
  probed = probe(data, relative),
): Pick<CaseResult, 'withHistory' | 'withoutHistory' | 'paired' | 'probeSeconds'> {
  const { features, probeSeconds } = probed;
  const digest = sha256(data);
  const before =
    relative === original.path
      ? original
      : renameSource(
          relative,
          data.length,
          new Map([[original.path, original]]),
          undefined,
          containerOf(features) !== null,
        );
  return {
    withoutHistory: judged({ path: relative, features, digest }),
    withHistory: judged({
      path: relative,
      features,
      digest,
      previous: before ? previousContent(before) : null,
    }),
    paired: before !== null,
    probeSeconds,
  };
}

/** Progress callback: files done, files in all. */
export type Progress = (done: number, total: number) => void;

/** One corpus file measured: the entry the previous snapshot held for it, and its cases. */
export interface FileMeasurement {
  index: number;
  original: Original;
  cases: CaseResult[];
}

/** The corpus measured: its originals' entries (the negatives' history) and every case. */
export interface CorpusMeasurement {
  originals: Map<string, Original>;
  cases: CaseResult[];
}

/**
 * Classifies corpus file `index` intact and after every ransomware mode. The cipher alternates
 * over files and modes so each mode × type sees both; rename and footer give the file a
 * ransomware extension.
 */
function measureFile(corpus: Corpus, index: number): FileMeasurement {
  const file = corpus.files[index]!;
  const data = readFileSync(path.join(corpus.root, file.path));
  const probed = probe(data, file.path);
  const original = originalEntry(file.path, data, probed.features);
  const base = { type: file.type, origin: file.origin };
  const cases: CaseResult[] = [
    {
      ...base,
      scenario: 'intact',
      path: file.path,
      size: data.length,
      ...judgeBoth(file.path, data, original, probed),
    },
  ];
  RANSOMWARE_MODES.forEach((mode, m) => {
    const cipher = CIPHERS[(index + m) % CIPHERS.length]!;
    const hit = applyRansomware(data, mode, file.path, cipher);
    const renamed = mode === 'rename' || mode === 'footer';
    const target = renamed ? file.path + RANSOM_EXTENSIONS[index % RANSOM_EXTENSIONS.length] : file.path;
    cases.push({
      ...base,
      scenario: mode,
      path: target,
      size: hit.length,
      ...judgeBoth(target, hit, original),
    });
  });
  return { index, original, cases };
}

/** Measures the corpus files whose index is `shard` modulo `shards` (one process's share). */
export async function measureShard(
  corpus: Corpus,
  shard: number,
  shards: number,
  progress: Progress = () => {},
): Promise<FileMeasurement[]> {
  await prepareValidators();
  const indexes = corpus.files.map((_, index) => index).filter((index) => index % shards === shard);
  return indexes.map((index, done) => {
    const measured = measureFile(corpus, index);
    if ((done + 1) % 250 === 0 || done + 1 === indexes.length) progress(done + 1, indexes.length);
    return measured;
  });
}

const SHARD_ENTRY = fileURLToPath(new URL('./measure-shard.ts', import.meta.url));

/** Runs one shard in its own process (through tsx, like the benchmark itself) and reads its results. */
async function runShardProcess(
  corpus: Corpus,
  shard: number,
  shards: number,
  out: string,
): Promise<FileMeasurement[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', SHARD_ENTRY, path.dirname(corpus.root), String(shard), String(shards), out],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0)
    throw new Error(`detection benchmark: classification shard ${shard + 1}/${shards} exited with ${code}`);
  return JSON.parse(readFileSync(out, 'utf8')) as FileMeasurement[];
}

/**
 * Classifies every corpus file (measureFile), in `jobs` processes at once — the work is
 * CPU-bound and independent per file; results are merged back in corpus order, so the outcome
 * does not depend on `jobs`.
 */
export async function measureCorpus(
  corpus: Corpus,
  options: { jobs: number; progress?: Progress },
): Promise<CorpusMeasurement> {
  let files: FileMeasurement[];
  if (options.jobs <= 1) {
    files = await measureShard(corpus, 0, 1, options.progress);
  } else {
    const scratch = mkdtempSync(path.join(tmpdir(), 'vouch-bench-shards-'));
    try {
      const shards = Array.from({ length: options.jobs }, (_, shard) =>
        runShardProcess(corpus, shard, options.jobs, path.join(scratch, `shard-${shard}.json`)),
      );
      files = (await Promise.all(shards)).flat().sort((a, b) => a.index - b.index);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return {
    originals: new Map(files.map((f) => [f.original.path, f.original])),
    cases: files.flatMap((f) => f.cases),
  };
}

/** Classifies each camouflaged file in place and renamed, with its corpus original as history. */
export async function measureCamouflage(
  camouflage: Camouflage,
  originals: ReadonlyMap<string, Original>,
): Promise<CaseResult[]> {
  await prepareValidators();
  return camouflage.files.flatMap((file) => {
    const data = readFileSync(camouflageFilePath(camouflage, file));
    const original = originals.get(file.source.path);
    if (!original)
      throw new Error(
        `camouflage ${file.container}/${file.source.path}: its source is not in the measured corpus`,
      );
    return CAMOUFLAGE_PLACEMENTS.map((placement) => {
      const target = placement === 'in-place' ? file.source.path : file.source.path + CAMOUFLAGE_EXTENSION;
      return {
        type: file.source.type,
        scenario: camouflageScenario(file.container, placement),
        path: target,
        origin: `${file.container} of ${file.source.origin}`,
        size: data.length,
        ...judgeBoth(target, data, original),
      };
    });
  });
}

/** Classifies each negative, with its corpus original as history where the scan would pair them. */
export async function measureNegatives(
  negatives: Negatives,
  originals: ReadonlyMap<string, Original>,
): Promise<CaseResult[]> {
  await prepareValidators();
  return negatives.files.map((file) => {
    const data = readFileSync(negativeFilePath(negatives, file));
    const original = originals.get(file.source.path);
    if (!original)
      throw new Error(
        `negative ${file.kind}/${file.path}: its source ${file.source.path} is not in the measured corpus`,
      );
    return {
      type: file.source.type,
      scenario: file.kind,
      path: file.path,
      origin: `${file.command} of ${file.source.origin}`,
      size: data.length,
      ...judgeBoth(file.path, data, original),
    };
  });
}
