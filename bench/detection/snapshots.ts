/**
 * Snapshot-level results through the real scan pipeline: for each hit rate, a backup set of two
 * directory snapshots built from the corpus (its files up to 512 KiB) — the first clean, the
 * next one a night later with ordinary churn (edited text files, a row added to some databases,
 * deleted files, new files that are legitimately encrypted or recompressed, some of them
 * replacing their original — those that encrypt are under the policy's `detection.allow`, files
 * encrypted on purpose) plus the ransomware hit: that share of the files encrypted in the
 * benchmark's modes and camouflaged in legitimate containers (gpg, age, openssl enc, 7z, zip -P,
 * LUKS, base64), cycled, with rename, footer and every other camouflaged file renamed. No ransom note is dropped:
 * the verdict must come from the encrypted files themselves. All sets are scanned by runScan
 * with the default detection policy on a fresh state directory, and each snapshot's verdict is
 * reported.
 */
import { copyFileSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { DEFAULT_DETECTION } from '../../agent/config/resolve-policy.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { loadManifest } from '../../agent/state/manifest-store.js';
import type { Finding, FindingKind } from '../../agent/model/findings.js';
import type { Verdict } from '../../agent/model/verdict.js';
import {
  applyRansomware,
  RANSOMWARE_MODES,
  type RansomwareMode,
} from '../../test/helpers/ransomware-modes.js';
import type { Corpus, CorpusFile } from './corpus.js';
import { CIPHERS, RANSOM_EXTENSIONS } from './measure.js';
import { NEGATIVE_GROUP, NEGATIVE_KINDS, negativeFilePath, type Negatives } from './negatives.js';
import { mixedOrder, runTool } from './tools.js';
import {
  CAMOUFLAGE_CONTAINERS,
  CAMOUFLAGE_EXTENSION,
  createEncaser,
  type CamouflageContainer,
  type Encaser,
} from './camouflage.js';

/** Shares of the files hit, one backup set each. */
export const HIT_FRACTIONS = [0, 0.001, 0.01, 0.3] as const;
/**
 * Corpus files larger than this stay out of the snapshots: the 8 snapshot scans would otherwise
 * read the corpus 8 times, and per-file behaviour at every size is measured in memory anyway.
 */
export const SNAPSHOT_MAX_FILE_BYTES = 512 * 1024;

const FIRST = '2025-01-01';
const SECOND = '2025-01-02';
/** Legitimate churn between the two nights, as shares of the files (or of their type). */
const EDITED_TEXT_SHARE = 0.04;
const EDITED_DATABASE_SHARE = 0.05;
const DELETED_SHARE = 0.005;
/** New legitimately encrypted or recompressed files per kind in the second snapshot. */
const NEW_NEGATIVES_PER_KIND = 4;

/** What the verdict of the hit snapshot should be under the policy's thresholds. */
export type Expectation = 'not-compromised' | 'flagged' | 'compromised';

/** One scanned snapshot. */
export interface SnapshotOutcome {
  id: string;
  verdict: Verdict;
  files: number;
  findingCounts: Partial<Record<FindingKind, number>>;
  /** The most serious findings (critical first), for the report's offenders. */
  topFindings: Finding[];
}

/** One backup set's history and what the scan made of it. */
export interface HistoryResult {
  name: string;
  fraction: number;
  files: number;
  hit: number;
  churn: { edited: number; deleted: number; added: number; replaced: number };
  expectation: Expectation;
  first: SnapshotOutcome;
  second: SnapshotOutcome;
  /** Hit files the scan judged encrypted (strongly / at all), by the second snapshot's manifest. */
  hitEncryptedStrong: number;
  hitEncrypted: number;
  /** Hit files it did not judge encrypted, with their mode. */
  missedHits: { path: string; mode: HitMode; judgement: string }[];
}

/** How a hit file was hit: a ransomware mode, or a camouflage container. */
export type HitMode = RansomwareMode | `camouflage:${CamouflageContainer}`;
const HIT_MODES: readonly HitMode[] = [
  ...RANSOMWARE_MODES,
  ...CAMOUFLAGE_CONTAINERS.map((container) => `camouflage:${container}` as const),
];

/** The expectation for `hit` of `files` under the default policy (≥ 3 files or ≥ 1 % → compromised). */
export function expectationFor(hit: number, files: number): Expectation {
  if (hit === 0) return 'not-compromised';
  return hit >= DEFAULT_DETECTION.compromisedFiles || hit / files >= DEFAULT_DETECTION.compromisedFraction
    ? 'compromised'
    : 'flagged';
}

/** Hard-links `from` to `to` (copies across file systems). */
function place(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

function write(to: string, data: Uint8Array): void {
  mkdirSync(path.dirname(to), { recursive: true });
  writeFileSync(to, data);
}

/** The hit files for a share: spread over the corpus by a mixed order, avoiding churned files. */
function pickHits(candidates: readonly CorpusFile[], fraction: number, total: number): CorpusFile[] {
  const count = fraction === 0 ? 0 : Math.max(1, Math.floor(fraction * total));
  return mixedOrder(candidates, (file) => file.path, 'snapshot-hit').slice(0, count);
}

/** Writes one set's two snapshots under `base`; returns what the second one holds. */
function buildHistory(
  base: string,
  corpus: Corpus,
  negatives: Negatives,
  fraction: number,
  encaser: Encaser,
) {
  const first = path.join(base, FIRST);
  const second = path.join(base, SECOND);
  for (const file of corpus.files) place(path.join(corpus.root, file.path), path.join(first, file.path));

  const byType = (type: string) =>
    mixedOrder(
      corpus.files.filter((f) => f.type === type),
      (f) => f.path,
      'snapshot-churn',
    );
  const texts = byType('text');
  const edited = new Set(texts.slice(0, Math.ceil(texts.length * EDITED_TEXT_SHARE)).map((f) => f.path));
  const databases = byType('sqlite');
  const updated = new Set(
    databases.slice(0, Math.ceil(databases.length * EDITED_DATABASE_SHARE)).map((f) => f.path),
  );
  const others = mixedOrder(corpus.files, (f) => f.path, 'snapshot-churn').filter(
    (f) => !edited.has(f.path) && !updated.has(f.path),
  );
  const deleted = new Set(others.slice(0, Math.ceil(corpus.files.length * DELETED_SHARE)).map((f) => f.path));
  // New files: a few of each negative kind; every other one replaces its original (as `gpg`
  // followed by `rm`, or `xz file`, would).
  const added = NEGATIVE_KINDS.flatMap((kind) =>
    mixedOrder(
      negatives.files.filter(
        (n) =>
          n.kind === kind &&
          !deleted.has(n.source.path) &&
          !edited.has(n.source.path) &&
          !updated.has(n.source.path),
      ),
      (n) => n.path,
      'snapshot-new',
    ).slice(0, NEW_NEGATIVES_PER_KIND),
  );
  const replaced = new Set(
    added.filter((_, i) => i % 2 === 0 && added[i]!.path !== added[i]!.source.path).map((n) => n.source.path),
  );
  const untouched = corpus.files.filter(
    (f) =>
      !edited.has(f.path) &&
      !updated.has(f.path) &&
      !deleted.has(f.path) &&
      !replaced.has(f.path) &&
      !added.some((n) => n.path === f.path),
  );
  const hits = pickHits(untouched, fraction, corpus.files.length);
  const hitPaths = new Map<string, HitMode>();

  hits.forEach((file, index) => {
    const mode = HIT_MODES[index % HIT_MODES.length]!;
    const original = readFileSync(path.join(corpus.root, file.path));
    let data: Buffer;
    let target: string;
    if (mode.startsWith('camouflage:')) {
      data = encaser.encase(
        original,
        mode.slice('camouflage:'.length) as CamouflageContainer,
        `${SECOND}/${file.path}`,
      );
      target = Math.floor(index / HIT_MODES.length) % 2 === 0 ? file.path : file.path + CAMOUFLAGE_EXTENSION;
    } else {
      const ransomware = mode as RansomwareMode;
      data = applyRansomware(original, ransomware, `${SECOND}/${file.path}`, CIPHERS[index % CIPHERS.length]);
      target =
        ransomware === 'rename' || ransomware === 'footer'
          ? file.path + RANSOM_EXTENSIONS[index % RANSOM_EXTENSIONS.length]
          : file.path;
    }
    write(path.join(second, target), data);
    hitPaths.set(target, mode);
  });
  const hitSources = new Set(hits.map((f) => f.path));
  for (const file of corpus.files) {
    const from = path.join(corpus.root, file.path);
    const to = path.join(second, file.path);
    if (hitSources.has(file.path) || deleted.has(file.path) || replaced.has(file.path)) continue;
    if (edited.has(file.path))
      write(to, Buffer.concat([readFileSync(from), Buffer.from(`\n# edited on ${SECOND}\n`)]));
    else if (updated.has(file.path)) {
      copyFileSync(from, to);
      runTool('sqlite3', [to], {
        input: `CREATE TABLE IF NOT EXISTS audit(at TEXT, what TEXT); INSERT INTO audit VALUES('${SECOND}', 'nightly update');`,
      });
    } else if (!added.some((n) => n.path === file.path)) place(from, to);
  }
  for (const negative of added)
    place(negativeFilePath(negatives, negative), path.join(second, negative.path));
  // Encryption on purpose that replaced its original: the policy allows it at those paths.
  const allowed = added
    .filter(
      (negative) => NEGATIVE_GROUP[negative.kind] === 'legit-encrypted' && replaced.has(negative.source.path),
    )
    .map((negative) => negative.path);
  return {
    allowed,
    hitPaths,
    files: corpus.files.length,
    churn: {
      edited: edited.size + updated.size,
      deleted: deleted.size,
      added: added.length,
      replaced: replaced.size,
    },
  };
}

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;

function outcome(snapshot: {
  id: string;
  verdict: Verdict;
  entries: number;
  findings: Finding[];
  findingCounts: Partial<Record<FindingKind, number>>;
}): SnapshotOutcome {
  const topFindings = [...snapshot.findings]
    .sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity])
    .slice(0, 20);
  return {
    id: snapshot.id,
    verdict: snapshot.verdict,
    files: snapshot.entries,
    findingCounts: snapshot.findingCounts,
    topFindings,
  };
}

const setName = (fraction: number) => `hit-${String(fraction * 100).replace('.', '-')}pct`;

/** Builds every history under `workDir` (removed afterwards), scans them all in one runScan, and reports each. */
export async function runSnapshotHistories(
  corpus: Corpus,
  negatives: Negatives,
  workDir: string,
): Promise<HistoryResult[]> {
  rmSync(workDir, { recursive: true, force: true });
  try {
    return await scanHistories(corpus, negatives, workDir);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function scanHistories(
  fullCorpus: Corpus,
  allNegatives: Negatives,
  workDir: string,
): Promise<HistoryResult[]> {
  const corpus = {
    root: fullCorpus.root,
    files: fullCorpus.files.filter((file) => file.size <= SNAPSHOT_MAX_FILE_BYTES),
  };
  const kept = new Set(corpus.files.map((file) => file.path));
  const negatives = {
    root: allNegatives.root,
    files: allNegatives.files.filter((negative) => kept.has(negative.source.path)),
  };
  const encaser = createEncaser();
  let built;
  try {
    built = HIT_FRACTIONS.map((fraction) => ({
      fraction,
      name: setName(fraction),
      ...buildHistory(path.join(workDir, setName(fraction)), corpus, negatives, fraction, encaser),
    }));
  } finally {
    encaser.close();
  }
  const sets = Object.fromEntries(
    built.map(({ name, allowed }) => [
      name,
      {
        source: { fs: { path: path.join(workDir, name) } },
        snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
        ...(allowed.length ? { detection: { allow: allowed } } : {}),
      },
    ]),
  );
  const policy = validatePolicy({ sets }, 'detection benchmark policy', workDir);
  const stateDir = path.join(workDir, 'state');
  const report = await runScan(policy, { stateDir });
  const results: HistoryResult[] = [];
  for (const history of built) {
    const set = report.sets.find((s) => s.name === history.name);
    if (!set || set.error)
      throw new Error(
        `detection benchmark: scanning set ${history.name} failed: ${set?.error ?? 'missing from the report'}`,
      );
    const [first, second] = [...set.snapshots].sort((a, b) => (a.time < b.time ? -1 : 1));
    if (!first || !second)
      throw new Error(
        `detection benchmark: set ${history.name} has ${set.snapshots.length} snapshots, expected 2`,
      );
    const manifest = await loadManifest(stateDir, history.name, second.id);
    let hitEncrypted = 0;
    let hitEncryptedStrong = 0;
    const missedHits: HistoryResult['missedHits'] = [];
    for (const [hitPath, mode] of history.hitPaths) {
      const content = manifest?.entries.get(hitPath)?.content;
      if (content?.judgement === 'encrypted') {
        hitEncrypted++;
        if (content.strength === 'strong') hitEncryptedStrong++;
      } else
        missedHits.push({
          path: hitPath,
          mode,
          judgement: content
            ? `${content.judgement} (${content.type}, structure ${content.structure})`
            : 'no manifest entry',
        });
    }
    results.push({
      name: history.name,
      fraction: history.fraction,
      files: history.files,
      hit: history.hitPaths.size,
      churn: history.churn,
      expectation: expectationFor(history.hitPaths.size, history.files),
      first: outcome(first),
      second: outcome(second),
      hitEncrypted,
      hitEncryptedStrong,
      missedHits,
    });
  }
  return results;
}
