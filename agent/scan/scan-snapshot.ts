/**
 * Scans one snapshot: the cheap metadata pass, or a deep read that streams every entry once
 * (digest, content features, any other sinks), compares with the baseline, checks checksum
 * lists, writes the baseline on the first complete read, and records the result in the ledger.
 * Never throws for bad backup content: every problem becomes a finding.
 *
 * Memory is bounded whatever the snapshot's size: entries go to an EntrySpool (sorted runs on
 * disk past a bound); once the read ends, the spool is merge-joined in path order with the
 * previous snapshot's manifest (files that disappeared, for detection) and then with the
 * baseline (drift) or into the new baseline. Detection looks each entry's history up in the
 * previous manifest one block at a time.
 *
 * A stop request (`signal`) aborts the read at once: nothing is recorded for the snapshot and no
 * baseline is written, so the next scan reads it again from the start.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type {
  ArchiveEntry,
  ArchiveInput,
  ArchiveProblem,
  EntryVisitor,
  ReadSummary,
} from '../archives/entry-reader.js';
import { readPlainEntries } from '../archives/plain-reader.js';
import { readerFor } from '../archives/registry.js';
import type { SetPolicy } from '../config/resolve-policy.js';
import type { DigestAlgorithm } from '../model/manifest.js';
import { claimedType } from '../detection/classify.js';
import { type ContentSummary } from '../model/content.js';
import { SnapshotDetection, type GoneFiles } from '../detection/snapshot-detection.js';
import { type DetectionSummary } from '../model/detection.js';
import { describeError, ObjectChangedError } from '../errors.js';
import { createDigester, digestStream, type ChunkSink } from '../integrity/digest.js';
import { addedEntry, entryDrift, missingEntry, objectDrift } from '../integrity/drift.js';
import { directoryReplacement, emptyTally, tallyMember } from '../integrity/member-replacement.js';
import type { ManifestEntry, ManifestHeader, ObjectIdentity } from '../model/manifest.js';
import { joinByPath } from '../integrity/path-join.js';
import { abortableInput, archiveInputFor, type ServedIdentity } from '../sources/archive-input.js';
import { readConditions, type BackupSource, type SourceObject } from '../sources/backup-source.js';
import {
  addToFingerprint,
  problemPath,
  type ListingSummary,
  type Snapshot,
} from '../sources/snapshot-discovery.js';
import type { LedgerStore } from '../ledger/ledger-store.js';
import {
  createManifestWriter,
  openManifest,
  type ManifestReader,
  type ManifestWriter,
} from '../state/manifest-store.js';
import type { SnapshotState } from '../model/snapshot-state.js';
import { withAcceptances, type AcceptanceMatcher } from '../verdicts/acceptance.js';
import type { Finding } from '../model/findings.js';
import { snapshotVerdict } from '../verdicts/snapshot-verdict.js';
import type { LocalFile } from '../fs/local-file.js';
import { analysisPool } from './analysis-pool.js';
import { analyzeStream } from './analyze-stream.js';
import type { AnalysisResult } from './entry-analysis.js';
import { EntrySpool } from './entry-spool.js';
import { attachContentIds } from './finding-identity.js';
import { FindingsCollector } from './findings-collector.js';
import { checkSums, loadSumsTables } from './sums-check.js';

/** What the store did while a snapshot was read (see retrying-source.ts). */
export interface FaultTally {
  /** Transient faults retried or resumed: the read went on. */
  transient: number;
  /** Bodies continued from where they broke (Range + If-Match). */
  resumed: number;
  /** Reads given up (after retries, or at once for permanent errors). */
  gaveUp: number;
  /** The first few faults, one line each. */
  examples: string[];
}

/** An empty tally. */
export function emptyFaults(): FaultTally {
  return { transient: 0, resumed: 0, gaveUp: 0, examples: [] };
}

/** Everything a snapshot scan needs from its set scan. */
export interface SnapshotScanContext {
  set: SetPolicy;
  source: BackupSource;
  stateDir: string;
  ledger: LedgerStore;
  previous: SnapshotState | undefined;
  now: Date;
  /** Where spools put their runs (a scan-private folder under the state directory). */
  tempDir: string;
  /** Called with the number of source bytes read, as they are read. */
  progress?: (bytes: number) => void;
  /**
   * The previous snapshot's baseline manifest, for detection's history (opened only when the
   * snapshot is read); null when there is no previous snapshot with a baseline.
   */
  previousManifest?: () => Promise<ManifestReader | null>;
  /** The set's change rates of earlier snapshots, oldest first (mass-change baseline). */
  changeHistory?: readonly number[];
  /** Aborts a deep read at once (nothing is recorded for the snapshot). */
  signal?: AbortSignal;
  /** The scan run this result belongs to (recorded, so an interrupted run can be resumed). */
  runId?: string;
  /** The store's faults during this snapshot's read, filled in by the set scan's source wrapper. */
  faults?: FaultTally;
  /** The set's acceptances in force: findings they cover stay listed but do not count toward the verdict. */
  acceptances?: AcceptanceMatcher;
}

/** A snapshot's result: its new state, whether bytes were read, and findings not kept in full. */
export interface SnapshotScanResult {
  state: SnapshotState;
  deep: boolean;
  deepReason: string | null;
  findingsOmitted: number;
}

/** New-at-path entries detection keeps for rename pairing during a scan (bounded memory). */
const MAX_PENDING_RENAMES = 50_000;
/** Files that disappeared since the previous snapshot handed to detection for pairing; the rest are counted. */
const MAX_GONE_HELD = 100_000;

/** What the state records of a snapshot's archive object (the fields that must never change). */
export function identityOf(object: SourceObject): ObjectIdentity {
  return {
    key: object.key,
    size: object.size,
    mtime: object.mtime.toISOString(),
    ...(object.etag ? { etag: object.etag } : {}),
    ...(object.versionId ? { versionId: object.versionId } : {}),
  };
}

function problemFinding(problem: ArchiveProblem): Finding {
  return {
    kind: problem.kind,
    path: problem.path,
    severity: problem.kind === 'read-error' ? 'critical' : 'warning',
    detail: problem.detail,
  };
}

/** A sink that counts bytes for progress. */
function progressSink(progress: ((bytes: number) => void) | undefined): ChunkSink[] {
  return progress ? [{ update: (chunk) => progress(chunk.length) }] : [];
}

/** When the snapshot was last read completely, by the state before this scan. */
function previouslyVerified(previous: SnapshotState | undefined): string | undefined {
  return previous?.lastVerified ?? (previous?.complete ? previous.lastDeepScan : undefined);
}

/** Thrown out of a read that a stop request ended. */
export class ScanAbortedError extends Error {
  override name = 'ScanAbortedError';
}

/** The cheap pass: the store reports the same objects as the last complete read; record that. */
async function cheapPass(ctx: SnapshotScanContext, snapshot: Snapshot): Promise<SnapshotScanResult> {
  const previous = ctx.previous!;
  const state = applySetAcceptances(ctx, {
    ...previous,
    time: snapshot.time.toISOString(),
    lastScan: ctx.now.toISOString(),
    ...(ctx.runId ? { runId: ctx.runId } : {}),
  });
  const record = await ctx.ledger.append('snapshot-scan', {
    set: ctx.set.name,
    snapshot: snapshot.id,
    deep: false,
    verdict: state.verdict,
    ...acceptanceFacts(state),
    entries: state.entries,
    bytes: state.bytes,
    findingCounts: state.findingCounts,
    object: snapshot.layout === 'archive' ? identityOf(snapshot.object) : undefined,
    listing: snapshot.layout === 'directory' ? snapshot.listing : undefined,
  });
  return { state: { ...state, ledgerSeq: record.seq }, deep: false, deepReason: null, findingsOmitted: 0 };
}

/** The state with the set's acceptances applied (unchanged without any). */
function applySetAcceptances(ctx: SnapshotScanContext, state: SnapshotState): SnapshotState {
  if (!ctx.acceptances) return state;
  return withAcceptances(state, state.id, ctx.acceptances, {
    files: ctx.set.detection.compromisedFiles,
    fraction: ctx.set.detection.compromisedFraction,
  });
}

/** What a scan record says about acceptances: the scan's own verdict and the accepted findings, when any. */
function acceptanceFacts(
  state: SnapshotState,
): Partial<Pick<SnapshotState, 'verdictBeforeAcceptance' | 'acceptedCounts'>> {
  return state.verdictBeforeAcceptance
    ? { verdictBeforeAcceptance: state.verdictBeforeAcceptance, acceptedCounts: state.acceptedCounts! }
    : {};
}

/** Streams a directory snapshot's members from the store, fingerprinting the listing as it goes. */
function streamMembers(
  source: BackupSource,
  prefix: string,
  signal: AbortSignal | undefined,
  listing: { objects: number; bytes: number; hash: ReturnType<typeof createHash> },
) {
  return (async function* () {
    for await (const member of source.list(prefix)) {
      if (signal?.aborted) return;
      listing.objects++;
      listing.bytes += member.size;
      addToFingerprint(listing.hash, member);
      yield { ...member, key: member.key.slice(prefix.length) };
    }
  })();
}

/**
 * Scans one snapshot and records the result in the ledger: the cheap pass when `reason` is null
 * and the snapshot has a state, otherwise a deep read. Throws ScanAbortedError when `ctx.signal`
 * stopped the read (nothing recorded).
 */
export async function scanSnapshot(
  ctx: SnapshotScanContext,
  snapshot: Snapshot,
  reason: string | null,
): Promise<SnapshotScanResult> {
  if (reason === null && ctx.previous) return cheapPass(ctx, snapshot);
  const { set, source, stateDir, now, signal } = ctx;
  const baseline = await openManifest(stateDir, set.name, snapshot.id);
  const history = set.detection.enabled ? ((await ctx.previousManifest?.()) ?? null) : null;
  const spool = new EntrySpool(ctx.tempDir);
  let writer: ManifestWriter | null = null;
  try {
    const collector = new FindingsCollector();
    const sumsTables = set.verifySums ? await loadSumsTables(source, snapshot, collector) : [];
    const entryTables = sumsTables.filter((table) => table.scope === 'entries');
    const objectTables = sumsTables.filter((table) => table.scope === 'object');
    const listedObject = snapshot.layout === 'archive' ? identityOf(snapshot.object) : undefined;

    if (baseline && baseline.header.algorithm !== set.algorithm) {
      collector.add({
        kind: 'read-error',
        path: snapshot.id,
        severity: 'warning',
        detail: `baseline uses ${baseline.header.algorithm} but the policy now says ${set.algorithm}; digests are compared in ${baseline.header.algorithm}`,
      });
    }
    const algorithm = baseline?.header.algorithm ?? set.algorithm;
    // Only checksum lists of entries need per-entry digests kept (one map entry per listed file).
    const entryDigests = new Map<string, Map<DigestAlgorithm, string>>();
    const extraAlgorithms = [...new Set(entryTables.map((table) => table.algorithm))].filter(
      (other) => other !== algorithm,
    );
    const detection = set.detection.enabled
      ? new SnapshotDetection(set.detection, history ? 'streamed' : null, ctx.changeHistory, {
          maxPending: MAX_PENDING_RENAMES,
        })
      : null;

    /** What detection measures of an entry (encrypted zip members hold ciphertext by design: digests only). */
    const detectOf = (entry: ArchiveEntry) =>
      detection && !entry.encrypted ? { detect: { size: entry.size, claim: claimedType(entry.path) } } : {};
    /** Judges an entry's analysed bytes (when it has a body) and spools its manifest entry. */
    const keepEntry = async (entry: ArchiveEntry, result: AnalysisResult | null) => {
      let size = entry.size;
      let digest: string | undefined;
      let content: ContentSummary | undefined;
      if (result) {
        size = result.bytes;
        digest = result.digest;
        // Readable bytes are judged by their features; members the archive itself encrypted are
        // unreadable ciphertext by design, judged by their history alone (plain last night is a hit).
        if (detection && (result.content || entry.encrypted)) {
          const before = history ? ((await history.get(entry.path)) ?? null) : null;
          const judged = result.content
            ? detection.judge({ path: entry.path, size, digest, features: result.content }, before)
            : detection.judgeArchiveEncrypted({ path: entry.path, size, digest }, before);
          for (const finding of judged.findings) collector.add(finding);
          content = judged.classification.summary;
        }
        if (entryTables.length) {
          const digests = new Map<DigestAlgorithm, string>([[algorithm, digest]]);
          for (const [extraAlgorithm, extraDigest] of Object.entries(result.extra) as [
            DigestAlgorithm,
            string,
          ][])
            digests.set(extraAlgorithm, extraDigest);
          entryDigests.set(entry.path, digests);
        }
      }
      await spool.add({
        path: entry.path,
        type: entry.type,
        size,
        ...(digest ? { digest } : {}),
        ...(entry.linkTarget !== undefined ? { linkTarget: entry.linkTarget } : {}),
        ...(entry.etag ? { etag: entry.etag } : {}),
        ...(entry.versionId ? { versionId: entry.versionId } : {}),
        ...(snapshot.layout === 'directory' && entry.mtime ? { mtime: entry.mtime.toISOString() } : {}),
        ...(content ? { content } : {}),
      });
    };

    const visitor: EntryVisitor = {
      async entry(entry: ArchiveEntry, body: Readable | null) {
        let result: AnalysisResult | null = null;
        if (body) {
          const sinks = snapshot.layout === 'directory' ? progressSink(ctx.progress) : [];
          result = await analyzeStream(
            body,
            { algorithm, extraAlgorithms, ...detectOf(entry) },
            { sizeHint: entry.size, sinks },
          );
        }
        await keepEntry(entry, result);
      },
      async localEntry(entry: ArchiveEntry, file: LocalFile) {
        signal?.throwIfAborted();
        const result = await analysisPool().analyzeFile(
          { algorithm, extraAlgorithms, ...detectOf(entry) },
          file,
        );
        if (!result) return null;
        ctx.progress?.(result.bytes);
        await keepEntry(entry, result);
        return result.bytes;
      },
      problem(problem) {
        collector.add(problemFinding(problem));
      },
    };

    // ---- read ----
    const objectAlgorithm = objectTables[0]?.algorithm ?? algorithm;
    const objectDigester = snapshot.layout === 'archive' ? await createDigester(objectAlgorithm) : null;
    let objectBytes = 0;
    const served: ServedIdentity = {};
    let changedUnderUs: ObjectChangedError | null = null;
    const readListing = { objects: 0, bytes: 0, hash: createHash('sha256') };
    let summary: ReadSummary = { entries: 0, bytes: 0, complete: false };
    try {
      if (snapshot.layout === 'archive') {
        const object = snapshot.object;
        const tap: ChunkSink = {
          update(chunk) {
            objectDigester!.update(chunk);
            objectBytes += chunk.length;
            ctx.progress?.(chunk.length);
          },
        };
        const pinned = archiveInputFor(source, object, tap, served, {
          scratchDir: ctx.tempDir,
          ...(set.archivePasswordFile ? { passwordFile: set.archivePasswordFile } : {}),
        });
        const watched: ArchiveInput = {
          ...pinned,
          open: () => pinned.open().catch((error: unknown) => Promise.reject(noteChange(error))),
          openRange: (start, end) =>
            pinned.openRange(start, end).catch((error: unknown) => Promise.reject(noteChange(error))),
        };
        const noteChange = (error: unknown) => {
          if (error instanceof ObjectChangedError) changedUnderUs ??= error;
          return error;
        };
        summary = await readerFor(snapshot.format).read(abortableInput(watched, signal), visitor, set.limits);
        // Random-access formats (zip, a local 7z) are not read as one stream: no object digest came with them.
        if (objectBytes < object.size && !signal?.aborted) {
          ctx.progress?.(object.size - objectBytes);
          if (objectTables.length && summary.complete) {
            const body = await source.open(object.key, undefined, readConditions(object));
            objectBytes = (await digestStream(body.stream, objectAlgorithm, [objectDigester!])).bytes;
          }
        }
      } else {
        const prefix = snapshot.prefix;
        summary = await readPlainEntries(
          streamMembers(source, prefix, signal, readListing),
          async (key, member) => {
            signal?.throwIfAborted();
            return (await source.open(prefix + key, undefined, readConditions(member))).stream;
          },
          visitor,
          set.limits,
          set.readConcurrency,
          source.localFile
            ? (key, member) =>
                source.localFile!(
                  prefix + key,
                  member.size,
                  member.validator !== undefined ? { ifMatch: member.validator } : {},
                )
            : undefined,
        );
      }
    } catch (error) {
      if (!signal?.aborted)
        collector.add({
          kind: 'read-error',
          path: problemPath(snapshot),
          severity: 'critical',
          detail: describeError(error),
        });
      summary = { ...summary, complete: false };
    }
    if (signal?.aborted)
      throw new ScanAbortedError(
        `scan of ${snapshot.id} stopped: ${describeError(signal.reason ?? 'aborted')}`,
      );

    const complete = summary.complete && !(collector.counts['read-error'] ?? 0);
    const changed = changedUnderUs as ObjectChangedError | null;
    if (changed && baseline?.header.object) {
      collector.add({
        kind: 'drift-object-changed',
        path: problemPath(snapshot),
        severity: 'critical',
        detail: `object rewritten after its baseline: the store no longer holds the listed version (${changed.message.replace(/^.*?: /, '')})`,
      });
    }

    // ---- after the read: history, then drift or the new baseline, in path order ----
    const detected = detection ? await finishDetection(detection, complete, spool, history, collector) : null;
    const reclassified = detected?.reclassified ?? new Map<string, ContentSummary>();
    const header: ManifestHeader = {
      format: 'vouch-manifest',
      version: 2,
      set: set.name,
      snapshot: snapshot.id,
      snapshotTime: snapshot.time.toISOString(),
      layout: snapshot.layout,
      algorithm: set.algorithm,
      createdAt: now.toISOString(),
      // The version the store served is the version this baseline describes (`ID@VERSION` reads it back after an overwrite).
      ...(listedObject
        ? {
            object: {
              ...listedObject,
              ...(served.versionId && !listedObject.versionId ? { versionId: served.versionId } : {}),
            },
          }
        : {}),
    };
    const members = emptyTally();
    if (baseline) {
      for await (const joined of joinByPath(spool.sorted(), baseline.entries())) {
        if (joined.left && joined.right) collector.add(entryDrift(joined.right, joined.left));
        else if (joined.left) collector.add(addedEntry(joined.left));
        else if (joined.right && complete) collector.add(missingEntry(joined.right));
        if (snapshot.layout === 'directory') tallyMember(members, joined.right, joined.left, complete);
      }
    } else if (complete) {
      writer = await createManifestWriter(stateDir, header);
      for await (const entry of spool.sorted()) {
        const renamed = reclassified.get(entry.path);
        await writer.add(renamed ? { ...entry, content: renamed } : entry);
      }
    }

    const currentObject: ObjectIdentity | undefined = listedObject
      ? {
          ...listedObject,
          ...(served.etag ? { etag: served.etag } : {}),
          ...(served.versionId ? { versionId: served.versionId } : {}),
          ...(objectDigester &&
          listedObject.size > 0 &&
          objectBytes === listedObject.size &&
          (complete || snapshot.layout !== 'archive' || snapshot.format !== 'zip')
            ? { digest: objectDigester.hex() }
            : {}),
        }
      : undefined;
    if (baseline?.header.object && currentObject && !changed)
      collector.add(objectDrift(baseline.header.object, currentObject));
    for (const finding of checkSums(sumsTables, {
      snapshot,
      objectDigest: currentObject?.digest,
      objectAlgorithm,
      entryDigests,
      complete,
    }))
      collector.add(finding);
    await attachContentIds(
      collector.kept,
      () => spool.sorted(),
      algorithm,
      currentObject
        ? {
            key: currentObject.key,
            ...(currentObject.digest ? { contentId: `${objectAlgorithm}:${currentObject.digest}` } : {}),
          }
        : undefined,
    );

    const listing: ListingSummary | undefined =
      snapshot.layout === 'directory'
        ? complete
          ? {
              objects: readListing.objects,
              bytes: readListing.bytes,
              fingerprint: readListing.hash.digest('hex'),
            }
          : snapshot.listing
        : undefined;
    // A directory whose baselined members mostly changed or vanished was replaced, not drifted (member-replacement.ts).
    if (baseline && snapshot.layout === 'directory')
      collector.add(directoryReplacement(snapshot.prefix, members, listing?.fingerprint));
    let baselineInfo = ctx.previous?.baseline;
    if (baselineInfo && baselineInfo.versionId === undefined) {
      // A baseline recorded before versions were: its manifest header, or the current object when the store still serves the baselined bytes.
      const versionId =
        baseline?.header.object?.versionId ??
        (baseline?.header.object &&
        currentObject &&
        !objectDrift(baseline.header.object, currentObject) &&
        !changed
          ? currentObject.versionId
          : undefined);
      if (versionId !== undefined) baselineInfo = { ...baselineInfo, versionId };
    }
    if (writer) {
      const written = await writer.commit();
      writer = null;
      baselineInfo = {
        sha256: written.sha256,
        entries: written.entries,
        createdAt: now.toISOString(),
        ...(currentObject?.versionId ? { versionId: currentObject.versionId } : {}),
      };
      await ctx.ledger.append('baseline', {
        set: set.name,
        snapshot: snapshot.id,
        manifest: written.file.slice(stateDir.length + 1),
        sha256: written.sha256,
        entries: written.entries,
        object: currentObject,
      });
    }

    const verdict = snapshotVerdict({
      findingCounts: collector.counts,
      complete,
      ...(detected ? { detection: detected.summary } : {}),
      thresholds: { files: set.detection.compromisedFiles, fraction: set.detection.compromisedFraction },
    });
    const faults =
      ctx.faults && ctx.faults.transient + ctx.faults.gaveUp > 0
        ? { ...ctx.faults, examples: [...ctx.faults.examples] }
        : undefined;
    const state: SnapshotState = applySetAcceptances(ctx, {
      id: snapshot.id,
      time: snapshot.time.toISOString(),
      verdict,
      complete,
      entries: summary.entries,
      bytes: summary.bytes,
      findings: collector.kept,
      findingCounts: collector.counts,
      ...(currentObject ? { object: currentObject } : {}),
      ...(listing ? { listing } : {}),
      lastScan: now.toISOString(),
      lastDeepScan: now.toISOString(),
      ...(complete
        ? { lastVerified: now.toISOString() }
        : previouslyVerified(ctx.previous)
          ? { lastVerified: previouslyVerified(ctx.previous)! }
          : {}),
      ...(detected ? { detection: detected.summary } : {}),
      ...(baselineInfo ? { baseline: baselineInfo } : {}),
      ...(ctx.runId ? { runId: ctx.runId } : {}),
      ...(faults ? { faults } : {}),
    });
    const record = await ctx.ledger.append('snapshot-scan', {
      set: set.name,
      snapshot: snapshot.id,
      deep: true,
      reason,
      verdict: state.verdict,
      ...acceptanceFacts(state),
      complete,
      entries: state.entries,
      bytes: state.bytes,
      findingCounts: collector.counts,
      ...(detected ? { detection: detected.summary } : {}),
      findings: state.findings.slice(0, 100),
      findingsOmitted: collector.total - Math.min(collector.kept.length, 100),
      object: currentObject,
      listing,
      baseline: baselineInfo,
      ...(faults ? { faults } : {}),
    });
    return {
      state: { ...state, ledgerSeq: record.seq },
      deep: true,
      deepReason: reason,
      findingsOmitted: collector.omitted,
    };
  } finally {
    await writer?.abort();
    await spool.dispose();
    await baseline?.close();
    await history?.close();
  }
}

/**
 * Finishes detection: finds the previous snapshot's files that are gone by merge-joining the
 * spool with the previous manifest, hands detection (up to MAX_GONE_HELD of) them, adds its
 * snapshot-level findings and returns the new judgements of renamed files.
 */
async function finishDetection(
  detection: SnapshotDetection,
  complete: boolean,
  spool: EntrySpool,
  history: ManifestReader | null,
  collector: FindingsCollector,
): Promise<{ summary: DetectionSummary; reclassified: Map<string, ContentSummary> }> {
  let gone: GoneFiles | undefined;
  if (history) {
    const files: ManifestEntry[] = [];
    let count = 0;
    let previousEntries = 0;
    for await (const joined of joinByPath(spool.sorted(), history.entries())) {
      if (joined.right) previousEntries++;
      if (joined.left || joined.right?.type !== 'file') continue;
      count++;
      if (files.length < MAX_GONE_HELD) files.push(joined.right);
    }
    gone = { files, count, previousEntries };
  }
  const detected = detection.finish(complete, gone);
  for (const finding of detected.findings) collector.add(finding);
  return {
    summary: detected.summary,
    reclassified: new Map(
      [...detected.reclassified].map(([path, classification]) => [path, classification.summary]),
    ),
  };
}
