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
import { analysisPool } from '../analysis/analysis-pool.js';
import type { SetPolicy } from '../config/resolve-policy.js';
import { SnapshotDetection } from '../detection/snapshot-detection.js';
import type { LedgerStore } from '../ledger/ledger-store.js';
import type { ContentSummary } from '../model/content.js';
import type { ObjectIdentity } from '../model/manifest.js';
import type { SnapshotState } from '../model/snapshot-state.js';
import { objectDrift } from '../integrity/drift.js';
import { directoryReplacement } from '../integrity/member-replacement.js';
import type { BackupSource, SourceObject } from '../sources/backup-source.js';
import type { Snapshot } from '../sources/snapshot-discovery.js';
import {
  IN_ORDER_CACHED_BLOCKS,
  manifestSha256,
  openManifest,
  type ManifestReader,
  type ManifestWriter,
  type OpenManifestOptions,
} from '../state/manifest-store.js';
import { withAcceptances, type AcceptanceMatcher } from '../verdicts/acceptance.js';
import { snapshotVerdict } from '../verdicts/snapshot-verdict.js';
import { detectionVersion } from '../version.js';
import { compareWithBaseline, finishDetection, writeNewBaseline } from './baseline-phases.js';
import { carryOverSource, detectionStamp } from './carry-over.js';
import { entryJudge, type EntryDigests, type EntryJudge } from './entry-judge.js';
import { EntrySpool } from './entry-spool.js';
import { attachContentIds } from './finding-identity.js';
import { FindingsCollector } from './findings-collector.js';
import {
  algorithmChangeFinding,
  baselineHeader,
  carriedBaseline,
  cheapPassRecord,
  cheapPassState,
  currentObjectIdentity,
  deepScanRecord,
  deepScanState,
  digestPlan,
  faultsToRecord,
  objectChangedFinding,
  readComplete,
  scanListing,
  writtenBaseline,
  type DeepScanOutcome,
  type DigestPlan,
} from './snapshot-decisions.js';
import { readSnapshot } from './snapshot-read.js';
import { checkSums, loadSumsTables, type SumsTable } from './sums-check.js';

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
  /** The SHA-256 recorded for that manifest when it was written (its judgements are kept only if it still matches). */
  previousManifestSha256?: string;
  /** The set's change rates of earlier snapshots, oldest first (mass-change baseline). */
  changeHistory?: readonly number[];
  /** Aborts a deep read at once (nothing is recorded for the snapshot). */
  signal?: AbortSignal;
  /** A directory snapshot's members as discovery listed them, when kept (ReadContext.recordedListing). */
  recordedListing?: (prefix: string) => AsyncIterable<SourceObject[]> | undefined;
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

/** The state with the set's acceptances applied (unchanged without any). */
function applySetAcceptances(ctx: SnapshotScanContext, state: SnapshotState): SnapshotState {
  if (!ctx.acceptances) return state;
  return withAcceptances(state, state.id, ctx.acceptances, {
    files: ctx.set.detection.compromisedFiles,
    fraction: ctx.set.detection.compromisedFraction,
  });
}

/** The cheap pass: the store reports the same objects as the last complete read; record that. */
async function cheapPass(
  ctx: SnapshotScanContext,
  snapshot: Snapshot,
  previous: SnapshotState,
): Promise<SnapshotScanResult> {
  const state = applySetAcceptances(ctx, cheapPassState(previous, snapshot, ctx.now, ctx.runId));
  const record = await ctx.ledger.append('snapshot-scan', cheapPassRecord(ctx.set.name, snapshot, state));
  return { state: { ...state, ledgerSeq: record.seq }, deep: false, deepReason: null, findingsOmitted: 0 };
}

/** What the checksum-list phase compares. */
interface ListsCheck {
  snapshot: Snapshot;
  /** The object as the baseline recorded it (archive snapshots with a baseline). */
  baselineObject: ObjectIdentity | undefined;
  /** The object as this read saw it. */
  currentObject: ObjectIdentity | undefined;
  /** The store stopped serving the listed version mid-read (already a finding of its own). */
  changed: boolean;
  sumsTables: readonly SumsTable[];
  digests: DigestPlan;
  entryDigests: EntryDigests;
  complete: boolean;
  spool: EntrySpool;
  collector: FindingsCollector;
}

/**
 * The object and checksum lists: the archive object's drift from its baseline (unless it changed
 * under the read), every disagreement with a checksum list, then content ids on the kept
 * findings (what acceptances match). Writes findings to `check.collector` only.
 */
async function checkObjectAndLists(check: ListsCheck): Promise<void> {
  const { collector, currentObject, digests } = check;
  if (check.baselineObject && currentObject && !check.changed)
    collector.add(objectDrift(check.baselineObject, currentObject));
  for (const finding of checkSums(check.sumsTables, {
    snapshot: check.snapshot,
    objectDigest: currentObject?.digest,
    objectAlgorithm: digests.objectAlgorithm,
    entryDigests: check.entryDigests,
    complete: check.complete,
  }))
    collector.add(finding);
  await attachContentIds(
    collector.kept,
    () => check.spool.sorted(),
    digests.algorithm,
    currentObject
      ? {
          key: currentObject.key,
          ...(currentObject.digest
            ? { contentId: `${digests.objectAlgorithm}:${currentObject.digest}` }
            : {}),
        }
      : undefined,
  );
}

/**
 * Commits a new baseline (aborting it when the commit fails) and records it in the ledger;
 * returns what the state records of it.
 */
async function commitBaseline(
  ctx: SnapshotScanContext,
  snapshot: Snapshot,
  writer: ManifestWriter,
  currentObject: ObjectIdentity | undefined,
): Promise<NonNullable<SnapshotState['baseline']>> {
  let written: Awaited<ReturnType<ManifestWriter['commit']>>;
  try {
    written = await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await ctx.ledger.append('baseline', {
    set: ctx.set.name,
    snapshot: snapshot.id,
    manifest: written.file.slice(ctx.stateDir.length + 1),
    sha256: written.sha256,
    entries: written.entries,
    object: currentObject,
  });
  return writtenBaseline(written, ctx.now, currentObject);
}

/**
 * The manifest whose judgements unchanged entries keep (carry-over.ts), checked first: a manifest
 * is used only when its SHA-256 is still the one recorded when it was written (the set index, as
 * the ledger's `baseline` record binds it), so a judgement edited in the state directory is never
 * trusted — those entries are measured again.
 */
async function chooseCarryOver(
  ctx: SnapshotScanContext,
  snapshotId: string,
  algorithm: string,
  baseline: ManifestReader | null,
  history: ManifestReader | null,
): Promise<ManifestReader | null> {
  const intact = async (id: string | undefined, recorded: string | undefined) =>
    id !== undefined &&
    recorded !== undefined &&
    (await manifestSha256(ctx.stateDir, ctx.set.name, id)) === recorded;
  const choose = (usable: ManifestReader | null) =>
    carryOverSource({
      enabled: ctx.set.detection.remeasure === 'changed',
      version: detectionVersion(),
      algorithm,
      baseline: usable?.header ?? null,
      history: history?.header ?? null,
    });
  let source = choose(baseline);
  if (source === 'baseline' && !(await intact(snapshotId, ctx.previous?.baseline?.sha256)))
    source = choose(null);
  if (source === 'history' && !(await intact(history?.header.snapshot, ctx.previousManifestSha256)))
    source = null;
  return source === 'baseline' ? baseline : source === 'history' ? history : null;
}

/**
 * How to open a manifest that a read of a snapshot of `layout` looks its entries up in: a
 * directory is listed, hence looked up, in the manifest's path order, so a few parsed blocks
 * serve it; an archive's members can come in any order.
 */
export function manifestLookups(layout: Snapshot['layout']): OpenManifestOptions {
  return layout === 'directory' ? { cachedBlocks: IN_ORDER_CACHED_BLOCKS } : {};
}

/**
 * Scans one snapshot and records the result in the ledger: the cheap pass when `reason` is null
 * and the snapshot has a state, otherwise a deep read. Throws ScanAbortedError when `ctx.signal`
 * stopped the read (nothing recorded).
 *
 * A deep read runs as phases: read (each entry judged as it streams), history, drift or the new
 * baseline, checksum lists, verdict, state, ledger. The decisions between them are pure
 * (snapshot-decisions.ts); this function only sequences them and owns what is opened.
 */
export async function scanSnapshot(
  ctx: SnapshotScanContext,
  snapshot: Snapshot,
  reason: string | null,
): Promise<SnapshotScanResult> {
  if (reason === null && ctx.previous) return cheapPass(ctx, snapshot, ctx.previous);
  // A deep read analyses entries: the workers boot while the manifests and checksum lists load.
  analysisPool().warm();
  const { set, source, stateDir, now } = ctx;
  const baseline = await openManifest(stateDir, set.name, snapshot.id, manifestLookups(snapshot.layout));
  const history = set.detection.enabled ? ((await ctx.previousManifest?.()) ?? null) : null;
  const spool = new EntrySpool(ctx.tempDir);
  let writer: ManifestWriter | null = null;
  let judge: EntryJudge | null = null;
  try {
    const collector = new FindingsCollector();
    const sumsTables = set.verifySums ? await loadSumsTables(source, snapshot, collector) : [];
    const baselineAlgorithm = baseline?.header.algorithm;
    const algorithmChanged = algorithmChangeFinding(snapshot.id, baselineAlgorithm, set.algorithm);
    if (algorithmChanged) collector.add(algorithmChanged);
    const digests = digestPlan(set.algorithm, baselineAlgorithm, sumsTables);
    const detection = set.detection.enabled
      ? new SnapshotDetection(set.detection, history ? 'streamed' : null, ctx.changeHistory, {
          maxPending: MAX_PENDING_RENAMES,
        })
      : null;

    // Unchanged bytes keep the judgement this detection already made of them (carry-over.ts).
    const carryOver = detection
      ? await chooseCarryOver(ctx, snapshot.id, digests.algorithm, baseline, history)
      : null;

    // ---- read, judging each entry as it streams ----
    judge = entryJudge({
      layout: snapshot.layout,
      algorithm: digests.algorithm,
      extraAlgorithms: digests.extraAlgorithms,
      detection,
      history,
      carryOver,
      keepDigests: sumsTables.some((table) => table.scope === 'entries'),
      spool,
      collector,
      progress: ctx.progress,
      signal: ctx.signal,
    });
    const read = await readSnapshot(
      ctx,
      snapshot,
      judge.visitor,
      {
        algorithm: digests.objectAlgorithm,
        wholeObject: sumsTables.some((table) => table.scope === 'object'),
      },
      collector,
    );
    // Members read last may still be in the pool.
    await judge.settle();
    const complete = readComplete(read.summary, collector.counts);
    const changed = objectChangedFinding(snapshot, read.changed, baseline?.header.object !== undefined);
    if (changed) collector.add(changed);

    // ---- history, then drift or the new baseline, in path order ----
    const detected = detection ? await finishDetection(detection, complete, spool, history, collector) : null;
    const members = baseline
      ? await compareWithBaseline(spool, baseline, snapshot.layout, complete, collector)
      : null;
    if (!baseline && complete)
      writer = await writeNewBaseline(
        stateDir,
        {
          ...baselineHeader(set, snapshot, read.served, now),
          ...(detection ? { detection: detectionStamp(detectionVersion(), history?.header ?? null) } : {}),
        },
        spool,
        detected?.reclassified ?? new Map<string, ContentSummary>(),
      );

    // ---- the object, checksum lists, content ids ----
    const currentObject = currentObjectIdentity(snapshot, read, complete);
    await checkObjectAndLists({
      snapshot,
      baselineObject: baseline?.header.object,
      currentObject,
      changed: read.changed !== null,
      sumsTables,
      digests,
      entryDigests: judge.entryDigests,
      complete,
      spool,
      collector,
    });
    const listing = scanListing(snapshot, complete, read.listed);
    // A directory whose baselined members mostly changed or vanished was replaced, not drifted (member-replacement.ts).
    if (members && snapshot.layout === 'directory')
      collector.add(directoryReplacement(snapshot.prefix, members, listing?.fingerprint));

    // ---- the baseline: carried over, or the one just written, recorded ----
    let baselineInfo = carriedBaseline(
      ctx.previous?.baseline,
      baseline?.header.object,
      currentObject,
      read.changed !== null,
    );
    if (writer) {
      const pending = writer;
      writer = null;
      baselineInfo = await commitBaseline(ctx, snapshot, pending, currentObject);
    }

    // ---- verdict, state, ledger ----
    const outcome: DeepScanOutcome = {
      snapshot,
      reason,
      verdict: snapshotVerdict({
        findingCounts: collector.counts,
        complete,
        ...(detected ? { detection: detected.summary } : {}),
        thresholds: { files: set.detection.compromisedFiles, fraction: set.detection.compromisedFraction },
      }),
      complete,
      summary: read.summary,
      findings: { kept: collector.kept, counts: collector.counts, total: collector.total },
      object: currentObject,
      listing,
      detection: detected?.summary,
      baseline: baselineInfo,
      faults: faultsToRecord(ctx.faults),
      now,
      previous: ctx.previous,
      runId: ctx.runId,
    };
    const state = applySetAcceptances(ctx, deepScanState(outcome));
    const record = await ctx.ledger.append('snapshot-scan', deepScanRecord(set.name, outcome, state));
    return {
      state: { ...state, ledgerSeq: record.seq },
      deep: true,
      deepReason: reason,
      findingsOmitted: collector.omitted,
    };
  } finally {
    // A stopped read leaves analyses running: they end before the spool they write to goes.
    await judge?.settle();
    await writer?.abort();
    await spool.dispose();
    await baseline?.close();
    await history?.close();
  }
}
