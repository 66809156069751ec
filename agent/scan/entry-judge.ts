/**
 * The judge phase of a snapshot scan: the visitor the read hands every entry to. It digests and
 * measures each body (in this thread, or in the analysis pool for a local file), lets detection
 * judge it against its history, keeps its digests when a checksum list of entries will check
 * them, and spools its manifest entry for the phases after the read.
 */
import type { Readable } from 'node:stream';
import type { ArchiveEntry, ArchiveProblem, EntryVisitor } from '../archives/entry-reader.js';
import { claimedType } from '../detection/classify.js';
import type { SnapshotDetection } from '../detection/snapshot-detection.js';
import type { LocalFile } from '../fs/local-file.js';
import type { ChunkSink } from '../integrity/digest.js';
import type { ContentSummary } from '../model/content.js';
import type { Finding } from '../model/findings.js';
import type { DigestAlgorithm, ManifestEntry } from '../model/manifest.js';
import type { Snapshot } from '../sources/snapshot-discovery.js';
import type { ManifestReader } from '../state/manifest-store.js';
import { analysisPool } from '../analysis/analysis-pool.js';
import { readForAnalysis } from '../analysis/analyze-stream.js';
import { entryLabel } from '../archives/safe-path.js';
import { describeError } from '../errors.js';
import type { AnalysisRequest, AnalysisResult } from '../analysis/entry-analysis.js';
import { keepableDigest } from './carry-over.js';
import type { EntrySpool } from './entry-spool.js';
import type { FindingsCollector } from './findings-collector.js';

/** Entry path → algorithm → digest, for checksum lists of entries. */
export type EntryDigests = Map<string, Map<DigestAlgorithm, string>>;

/** What the judge needs of the scan. */
export interface JudgeOptions {
  layout: Snapshot['layout'];
  /** The manifest's digest algorithm, and any more that checksum lists of entries use. */
  algorithm: DigestAlgorithm;
  extraAlgorithms: DigestAlgorithm[];
  /** Detection for this snapshot (null when the policy turns it off). */
  detection: SnapshotDetection | null;
  /** The previous snapshot's manifest, for each entry's history (null without one). */
  history: ManifestReader | null;
  /**
   * The manifest whose `intact` judgements entries with the same bytes keep without being
   * measured again (`history` itself or the snapshot's own baseline; carry-over.ts), or null.
   */
  carryOver?: ManifestReader | null;
  /** Keep every entry's digests in `entryDigests` (a checksum list of entries will check them). */
  keepDigests: boolean;
  /** Where manifest entries go, in read order. */
  spool: EntrySpool;
  /** Where findings go: detection's, and the readers' problems. */
  collector: FindingsCollector;
  progress?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** The judge's visitor and the per-entry digests it keeps for checksum lists. */
export interface EntryJudge {
  visitor: EntryVisitor;
  entryDigests: EntryDigests;
  /**
   * Resolves once every entry the visitor took is judged and spooled. The visitor returns as soon
   * as a body is read, while its analysis may still run in the pool (so an archive's reader goes
   * on to the next member): call this after the read, before the spool or the findings are used.
   * Never rejects: an analysis that fails is that entry's read-error finding.
   */
  settle(): Promise<void>;
}

/**
 * Bodies read whose analyses may run on while the reader goes on, at most, and the bytes this
 * thread holds for them (small members are copied whole until their analysis is done): enough to
 * keep both workers of a 2-core machine busy with an archive's small members. More (192 members,
 * 16 MiB) measured no faster and no larger on the 36,000-member `.tar.gz`; the memory pipelining
 * costs is the second worker it keeps busy (~25 MiB), not these bytes.
 */
export const ANALYSES_AHEAD = 64;
export const ANALYSIS_BYTES_AHEAD = 8 * 2 ** 20;

/** A reader's problem as a finding: a read error is critical, anything else a warning (pure). */
export function problemFinding(problem: ArchiveProblem): Finding {
  return {
    kind: problem.kind,
    path: problem.path,
    severity: problem.kind === 'read-error' ? 'critical' : 'warning',
    detail: problem.detail,
  };
}

/**
 * The manifest entry an entry is recorded as (pure): its analysed size and digest when it had a
 * body, detection's summary when judged; a directory snapshot's members keep their mtime.
 */
export function manifestEntryOf(
  entry: ArchiveEntry,
  layout: Snapshot['layout'],
  analysed: { size: number; digest?: string; content?: ContentSummary },
): ManifestEntry {
  // Built field by field (once per entry, on the scan's busiest thread); the fields keep this
  // order, which is the manifest line's.
  const out: ManifestEntry = { path: entry.path, type: entry.type, size: analysed.size };
  if (analysed.digest) out.digest = analysed.digest;
  if (entry.linkTarget !== undefined) out.linkTarget = entry.linkTarget;
  if (entry.etag) out.etag = entry.etag;
  if (entry.versionId) out.versionId = entry.versionId;
  if (layout === 'directory' && entry.mtime) out.mtime = entry.mtime.toISOString();
  if (analysed.content) out.content = analysed.content;
  return out;
}

/** What lookUp found for one entry. */
interface Looked {
  /** The same path in the previous snapshot (null: none, or no history). */
  before: ManifestEntry | null;
  /** The entry whose judgement the same bytes keep, when they may keep one. */
  reference: ManifestEntry | null;
  /** The digest the bytes must have to keep it. */
  keepIfDigest?: string;
}

const NOTHING_LOOKED_UP: Looked = { before: null, reference: null };

/** The judge for one snapshot's read. */
export function entryJudge(options: JudgeOptions): EntryJudge {
  const { algorithm, extraAlgorithms, detection, history, collector, spool, signal } = options;
  const entryDigests: EntryDigests = new Map();

  const carryOver = options.carryOver ?? null;

  /**
   * What detection needs of a body's entry before it is read: the same path in the previous
   * snapshot, and the entry whose judgement the same bytes would keep (carry-over.ts).
   */
  const lookUp = (entry: ArchiveEntry): Looked => {
    if (!detection) return NOTHING_LOOKED_UP;
    const before = history ? (history.get(entry.path) ?? null) : null;
    if (!carryOver || entry.encrypted) return { before, reference: null };
    const reference = carryOver === history ? before : (carryOver.get(entry.path) ?? null);
    const keepIfDigest = keepableDigest(reference ?? undefined, {
      allowed: detection.allows(entry.path),
      newAtPath: history !== null && before === null,
    });
    return keepIfDigest === undefined ? { before, reference: null } : { before, reference, keepIfDigest };
  };

  /** What the analysis of an entry's bytes is asked for (encrypted zip members hold ciphertext by design: digests only). */
  const requestOf = (entry: ArchiveEntry, looked: Looked): AnalysisRequest => {
    const request: AnalysisRequest = { algorithm, extraAlgorithms };
    if (detection && !entry.encrypted) {
      const detect: NonNullable<AnalysisRequest['detect']> = {
        size: entry.size,
        claim: claimedType(entry.path),
      };
      if (looked.keepIfDigest !== undefined) detect.keepIfDigest = looked.keepIfDigest;
      request.detect = detect;
    }
    return request;
  };

  /**
   * Judges an entry's analysed bytes (when it has a body) and spools its manifest entry; returns
   * a promise only when the spool must first write a run (EntrySpool.add).
   */
  const keepEntry = (
    entry: ArchiveEntry,
    result: AnalysisResult | null,
    looked: Looked,
  ): Promise<void> | undefined => {
    if (!result) return spool.add(manifestEntryOf(entry, options.layout, { size: entry.size }));
    const { bytes: size, digest } = result;
    let content: ContentSummary | undefined;
    // Readable bytes are judged by their features, or keep the judgement the same bytes had;
    // members the archive itself encrypted are unreadable ciphertext by design, judged by their
    // history alone (plain last night is a hit).
    const kept = result.unchanged ? looked.reference?.content : undefined;
    if (detection && (result.content || kept || entry.encrypted)) {
      const { before } = looked;
      const judged = kept
        ? detection.judgeUnchanged({ path: entry.path, size, digest }, kept, before)
        : result.content
          ? detection.judge({ path: entry.path, size, digest, features: result.content }, before)
          : detection.judgeArchiveEncrypted({ path: entry.path, size, digest }, before);
      for (const finding of judged.findings) collector.add(finding);
      content = judged.classification.summary;
    }
    if (options.keepDigests) {
      const digests = new Map<DigestAlgorithm, string>([[algorithm, digest]]);
      for (const [extraAlgorithm, extraDigest] of Object.entries(result.extra) as [DigestAlgorithm, string][])
        digests.set(extraAlgorithm, extraDigest);
      entryDigests.set(entry.path, digests);
    }
    return spool.add(manifestEntryOf(entry, options.layout, { size, digest, content }));
  };

  const { progress } = options;
  /** A directory's members count toward progress as their bodies stream (an archive counts its object's bytes). */
  const progressSinks = (): ChunkSink[] =>
    options.layout === 'directory' && progress ? [{ update: (chunk) => progress(chunk.length) }] : [];
  /** Analyses still running for bodies already read, and the bytes held for them. */
  const ahead = new Set<Promise<void>>();
  let heldBytes = 0;
  const room = async () => {
    while (ahead.size >= ANALYSES_AHEAD || (heldBytes > ANALYSIS_BYTES_AHEAD && ahead.size > 0))
      await Promise.race(ahead);
  };
  const visitor: EntryVisitor = {
    async entry(entry: ArchiveEntry, body: Readable | null) {
      if (!body) {
        const kept = keepEntry(entry, null, NOTHING_LOOKED_UP);
        if (kept) await kept;
        return;
      }
      const looked = lookUp(entry);
      const { result, held } = await readForAnalysis(body, requestOf(entry, looked), {
        sizeHint: entry.size,
        sinks: progressSinks(),
      });
      heldBytes += held;
      const judged: Promise<void> = result
        .then((analysed) => keepEntry(entry, analysed, looked))
        .catch((error: unknown) => {
          collector.add(
            problemFinding({
              kind: 'read-error',
              path: entry.path,
              detail: `${entryLabel(entry.path)}: ${describeError(error)}`,
            }),
          );
        })
        .finally(() => {
          heldBytes -= held;
          ahead.delete(judged);
        });
      ahead.add(judged);
      await room();
    },
    async localEntry(entry: ArchiveEntry, file: LocalFile) {
      signal?.throwIfAborted();
      const looked = lookUp(entry);
      const result = await analysisPool().analyzeFile(requestOf(entry, looked), file, signal);
      if (!result) return null;
      progress?.(result.bytes);
      const kept = keepEntry(entry, result, looked);
      if (kept) await kept;
      return result.bytes;
    },
    problem(problem) {
      collector.add(problemFinding(problem));
    },
  };
  const settle = async () => {
    while (ahead.size > 0) await Promise.all(ahead);
  };
  return { visitor, entryDigests, settle };
}
