/**
 * Scans one backup set: list (streamed), discover snapshots, decide which to read — changed or
 * new ones always, unchanged ones per `rehash` or the sampling plan — scan each oldest first,
 * keep the index current.
 *
 * Every read of the store goes through the set's decorated source (read limit shared per store,
 * retries, resumable bodies); the faults it reports are tallied per snapshot.
 */
import { problemFinding } from './entry-judge.js';
import { formatBytes } from '../config/byte-size.js';
import { describeSource, type SetPolicy } from '../config/resolve-policy.js';
import type { DetectionSummary } from '../model/detection.js';
import { describeError, VersionNotFoundError } from '../errors.js';
import type { ImmutabilityAudit } from '../model/immutability.js';
import type { BackupSource, SourceObject } from '../sources/backup-source.js';
import { decorateSource, type SourceFault } from '../sources/create-source.js';
import { discoverSourceSnapshots, snapshotBytes, type Snapshot } from '../sources/snapshot-discovery.js';
import type { LedgerStore } from '../ledger/ledger-store.js';
import { listManifests, openManifest } from '../state/manifest-store.js';
import { readSetIndex, writeSetIndex, snapshotOwners } from '../state/set-index.js';
import { type SetIndex, type SnapshotState } from '../model/snapshot-state.js';
import { acceptanceMatcher, markSetFindings, type AcceptanceMatcher } from '../verdicts/acceptance.js';
import { type Acceptance } from '../model/acceptance.js';
import type { Finding, FindingKind } from '../model/findings.js';
import { lastCleanSnapshot } from '../verdicts/last-clean.js';
import type { Verdict } from '../model/verdict.js';
import { deepReadReason, expectsDeepRead, type DeepReadFacts } from './deep-read-decision.js';
import { FOREIGN_HEAD_BYTES, headsToRead, judgeForeignObjects } from './foreign-objects.js';
import { withNotCleanSince } from '../verdicts/not-clean-since.js';
import {
  judgeRemoval,
  mergeSetFindings,
  replacementFinding,
  type BaselineVersionCheck,
} from './set-findings.js';
import { silentProgress, type ScanProgress } from './progress.js';
import { dayStart, planSample, type SamplePlan } from './sample-plan.js';
import {
  emptyFaults,
  manifestLookups,
  scanSnapshot,
  type FaultTally,
  type SnapshotScanResult,
} from './scan-snapshot.js';
import { identityOf } from './snapshot-decisions.js';
import { ScanAbortedError } from './snapshot-read.js';
import { ListingSpool } from './listing-spool.js';
import { now as clockNow } from '../clock.js';
import { analysisPool } from '../analysis/analysis-pool.js';

/** One snapshot in a scan report (the `--json` contract). */
export interface SnapshotReport {
  id: string;
  time: string;
  /** From the findings that count: accepted findings (`vouch accept`) do not. */
  verdict: Verdict;
  /** The scan's own verdict, from every finding; present whenever a finding is accepted. */
  verdictBeforeAcceptance?: Verdict;
  entries: number;
  bytes: number;
  /** Accepted ones carry `accepted` (who, when, why, the acceptance's id). */
  findings: Finding[];
  findingCounts: Partial<Record<FindingKind, number>>;
  /** Of `findingCounts`, the accepted findings (absent: none). */
  acceptedCounts?: Partial<Record<FindingKind, number>>;
  /** Findings counted but not listed (very large or hostile snapshots). */
  findingsOmitted: number;
  /** True when this scan read the snapshot's bytes; false when the metadata pass sufficed. */
  deep: boolean;
  /** Why it was read (`no baseline yet`, `object changed (…)`, `sampled: …`), when it was. */
  reason?: string;
  complete: boolean;
  /** Detection's counts (encrypted files, renames, change rate), when detection ran. */
  detection?: DetectionSummary;
  /** What the store did during the read: transient faults retried or resumed, reads given up. */
  faults?: FaultTally;
}

/** The sampling plan a set scan followed (sets with `integrity.sample`). */
export interface SamplingReport {
  /** Unchanged snapshots that could be re-read. */
  candidates: number;
  /** Of those, re-read by this scan. */
  sampled: number;
  /** Bytes those re-reads cost. */
  bytes: number;
  /** Bytes per day a full cycle within the window needs. */
  neededPerDay: number;
  /** False when the daily budget cannot keep every byte inside the window. */
  feasible: boolean;
  /** Snapshots whose last complete read is older than the window. */
  overdue: number;
}

/** One set in a scan report. */
export interface SetReport {
  name: string;
  location: string;
  lastClean: string | null;
  snapshots: SnapshotReport[];
  /** Snapshots known to the state that are no longer in the store (pruned by retention or not). */
  removed: string[];
  /** Discovery notes (skipped objects, unreadable times), store faults. */
  notes: string[];
  /** Set when the set could not be scanned at all (e.g. the store was unreachable). */
  error?: string;
  /** True when a stop request ended the scan before every snapshot was scanned. */
  interrupted?: boolean;
  /** The immutability audit that followed the scan, when the policy asks for one. */
  immutability?: ImmutabilityAudit;
  /** The sampling plan, when the set samples. */
  sampling?: SamplingReport;
  /**
   * Findings about the set itself: `no-snapshots` when the store holds nothing the policy's
   * layout and match call a snapshot; `snapshot-removed`, `snapshot-replaced` and
   * `foreign-object` ones held in the index until accepted (accepted ones carry `accepted`).
   */
  findings?: Finding[];
}

/** What a set scan needs. */
export interface SetScanOptions {
  stateDir: string;
  ledger: LedgerStore;
  createSource: (set: SetPolicy) => BackupSource | Promise<BackupSource>;
  /** Where snapshot scans put temporary files (a run-private folder under the state directory). */
  tempDir: string;
  progress?: ScanProgress;
  now?: () => Date;
  /** Once aborted, the scan stops: a read in progress is abandoned (nothing recorded for it), every finished snapshot is recorded. */
  signal?: AbortSignal;
  /** This run's id, recorded with each snapshot it reads. */
  runId?: string;
  /** An interrupted run this one continues: snapshots it already read are not read again. */
  resumingRun?: string;
  /** Called before a snapshot is read in full (the run marker names it, so a crash report can). */
  beforeDeepRead?: (set: string, snapshot: string) => Promise<void>;
  /** Retry backoff (tests shorten it). */
  retryDelays?: { baseDelayMs: number; maxDelayMs: number };
  /** The set's acceptances (from the ledger, state/acceptance-index.ts); findings they cover do not count. */
  acceptances?: readonly Acceptance[];
}

/** Cheap-pass results are written to the index at least this often (deep reads: after each one). */
const INDEX_FLUSH_MS = 2_000;
/** Faults described per snapshot. */
const FAULT_EXAMPLES = 5;

/** Bytes deep reads of this set took from the store since midnight UTC (from the index's last reads). */
function spentToday(index: SetIndex, now: Date): number {
  const start = dayStart(now.getTime());
  let bytes = 0;
  for (const state of Object.values(index.snapshots)) {
    if (state.lastDeepScan && Date.parse(state.lastDeepScan) >= start)
      bytes += state.object?.size ?? state.listing?.bytes ?? state.bytes;
  }
  return bytes;
}

/** Why a snapshot not listed yet is read when the rules give no reason (never, by construction). */
const READ_UNLISTED = 'not listed before its read';

/**
 * Why a snapshot is read, or null for the cheap pass, from its listing's fingerprint now — for a
 * directory snapshot not listed yet (`fingerprint` undefined), as if its listing were unchanged
 * since the last read (pure).
 */
function reasonToRead(
  set: SetPolicy,
  id: string,
  facts: Pick<DeepReadFacts, 'object' | 'listingFingerprint'>,
  index: SetIndex,
  now: Date,
  resumingRun: string | undefined,
  hasBaseline: (id: string) => boolean,
): string | null {
  const previous = index.snapshots[id];
  const listingFingerprint =
    'object' in facts ? undefined : (facts.listingFingerprint ?? previous?.listing?.fingerprint);
  return deepReadReason({
    hasBaseline: hasBaseline(id),
    previous,
    ...(facts.object ? { object: facts.object } : {}),
    ...(listingFingerprint !== undefined ? { listingFingerprint } : {}),
    rehashSeconds: set.sample ? Number.POSITIVE_INFINITY : set.rehashSeconds,
    now,
    ...(resumingRun !== undefined ? { resumingRun } : {}),
  });
}

/**
 * Whether the directory snapshot `id` is read in full whatever its listing says (pure): then
 * discovery need not list it, its read does (DiscoveryOptions.deferListing).
 */
export function readWhateverListed(
  set: SetPolicy,
  id: string,
  index: SetIndex,
  now: Date,
  resumingRun: string | undefined,
  hasBaseline: (id: string) => boolean,
): boolean {
  return reasonToRead(set, id, {}, index, now, resumingRun, hasBaseline) !== null;
}

/** Why each snapshot is read (null: the cheap pass), with the sampling plan applied (pure apart from the plan). */
export function readDecisions(
  set: SetPolicy,
  snapshots: readonly Snapshot[],
  index: SetIndex,
  now: Date,
  resumingRun: string | undefined,
  hasBaseline: (id: string) => boolean,
): { reasons: Map<string, string | null>; plan: SamplePlan | null; candidates: number } {
  const reasons = new Map<string, string | null>();
  const candidates: { id: string; bytes: number; lastVerified: number }[] = [];
  for (const snapshot of snapshots) {
    const previous = index.snapshots[snapshot.id];
    const unlisted = snapshot.layout === 'directory' && snapshot.listing === null;
    const reason =
      reasonToRead(
        set,
        snapshot.id,
        snapshot.layout === 'archive'
          ? { object: identityOf(snapshot.object) }
          : snapshot.listing
            ? { listingFingerprint: snapshot.listing.fingerprint }
            : {},
        index,
        now,
        resumingRun,
        hasBaseline,
      ) ?? (unlisted ? READ_UNLISTED : null);
    reasons.set(snapshot.id, reason);
    const verified = previous?.lastVerified ?? previous?.lastDeepScan;
    if (
      reason === null &&
      set.sample &&
      verified &&
      !(resumingRun !== undefined && previous?.runId === resumingRun)
    ) {
      candidates.push({
        id: snapshot.id,
        bytes: snapshotBytes(snapshot) || (previous?.bytes ?? 0),
        lastVerified: Date.parse(verified),
      });
    }
  }
  if (!set.sample) return { reasons, plan: null, candidates: 0 };
  const plan = planSample({
    candidates,
    now: now.getTime(),
    spentToday: spentToday(index, now),
    policy: set.sample,
  });
  for (const { id, reason } of plan.read) reasons.set(id, reason);
  return { reasons, plan, candidates: candidates.length };
}

/** The finding for a set whose store holds no snapshot: cron and CI must not read that as success. */
export function noSnapshotsFinding(set: SetPolicy, location: string, listed: number): Finding {
  const match = set.match ? ` matching ${set.match.source}` : '';
  return {
    kind: 'no-snapshots',
    path: location,
    severity: 'critical',
    detail: `no ${set.layout === 'archive' ? 'archive' : 'directory'} snapshot${match} at ${location} (${listed} object${listed === 1 ? '' : 's'} listed): a typo in snapshots.match or the location, or the backups stopped arriving`,
  };
}

/**
 * The first FOREIGN_HEAD_BYTES of each of `objects` (key → bytes); an object that cannot be read
 * is left out with a note (its name is still judged).
 */
async function readHeads(
  source: BackupSource,
  objects: readonly SourceObject[],
  notes: string[],
): Promise<Map<string, Uint8Array>> {
  const heads = new Map<string, Uint8Array>();
  for (const object of objects) {
    try {
      const body = await source.open(object.key, {
        start: 0,
        end: Math.min(object.size, FOREIGN_HEAD_BYTES),
      });
      const chunks: Buffer[] = [];
      for await (const chunk of body.stream) chunks.push(chunk as Buffer);
      heads.set(object.key, Buffer.concat(chunks));
    } catch (error) {
      notes.push(`${object.key}: could not read its first bytes to judge it: ${describeError(error)}`);
    }
  }
  return heads;
}

/** What every phase of one set scan shares; the phases below fill `report` and `index`. */
interface SetScan {
  set: SetPolicy;
  options: SetScanOptions;
  source: BackupSource;
  /** The set's index as read at the start; the phases update it in place. */
  index: SetIndex;
  report: SetReport;
  progress: ScanProgress;
  now: () => Date;
  acceptances: AcceptanceMatcher;
  faults: FaultCounter;
  /** The directory snapshots' members as discovery listed them, for their reads (directory layout). */
  spool: ListingSpool | null;
  /** The snapshots with a baseline manifest in the state, by id. */
  manifests: ReadonlySet<string>;
}

/** Counts the store's faults into `current`: the listing's first, then each snapshot's own. */
interface FaultCounter {
  current: FaultTally;
  onFault(fault: SourceFault): void;
}

/** A fault counter starting at zero (the read loop gives each snapshot a fresh `current`). */
function faultCounter(): FaultCounter {
  const counter: FaultCounter = {
    current: emptyFaults(),
    onFault(fault) {
      const tally = counter.current;
      if (fault.action === 'gave-up') tally.gaveUp++;
      else tally.transient++;
      if (fault.action === 'resumed') tally.resumed++;
      if (tally.examples.length < FAULT_EXAMPLES)
        tally.examples.push(
          `${fault.action} (${fault.transient ? 'transient' : 'permanent'}): ${fault.detail}`,
        );
    },
  };
  return counter;
}

/** The snapshots a discovery found (oldest first), and the set findings it judged (foreign objects, …). */
interface Discovered {
  snapshots: readonly Snapshot[];
  /** Set findings of this scan; the read loop and the removal check add theirs. */
  fresh: Finding[];
}

/**
 * Phase 1, discover: lists the store (counting what it lists), finds the snapshots, judges the
 * objects beside them, and announces the bytes to come to `progress`. Adds the `no-snapshots`
 * finding when there are none, and discovery's, the head reads' and the listing's fault notes to
 * the report, in that order.
 */
async function discover(scan: SetScan): Promise<Discovered> {
  const { set, source, index, report } = scan;
  let listed = 0;
  const counted = async function* (objects: AsyncIterable<SourceObject>) {
    for await (const object of objects) {
      listed++;
      yield object;
    }
  };
  const now = scan.now();
  const discovery = await discoverSourceSnapshots(
    source,
    { ...set, owners: snapshotOwners(index) },
    {
      listing: scan.spool ? (objects) => scan.spool!.record(counted(objects)) : counted,
      deferListing: (id) =>
        readWhateverListed(set, id, index, now, scan.options.resumingRun, (known) =>
          scan.manifests.has(known),
        ),
    },
  );
  report.notes.push(...discovery.notes);
  if (discovery.snapshots.length === 0) report.findings = [noSnapshotsFinding(set, report.location, listed)];
  const fresh: Finding[] = judgeForeignObjects(
    discovery.others,
    await readHeads(source, headsToRead(discovery.others), report.notes),
  );
  // Names the listing could not list outside every snapshot (a snapshot folder named in invalid UTF-8).
  for (const object of discovery.unlisted)
    fresh.push(
      problemFinding({ kind: object.unlisted!.kind, path: object.key, detail: object.unlisted!.detail }),
    );
  if (discovery.otherCount > discovery.others.length)
    report.notes.push(
      `${discovery.otherCount} files beside the snapshots; the first ${discovery.others.length} were judged for ransom notes and encrypted leftovers`,
    );
  const tally = scan.faults.current;
  if (tally.transient + tally.gaveUp > 0)
    report.notes.push(...tally.examples.map((example) => `listing: ${example}`));
  scan.progress.addTotal(
    discovery.snapshots.reduce((sum, snapshot) => sum + expectedBytes(index, snapshot), 0),
  );
  return { snapshots: discovery.snapshots, fresh };
}

/** A snapshot's size as the progress counts it: restic and borg snapshots have none until read, the last read's bytes stand in. */
function expectedBytes(index: SetIndex, snapshot: Snapshot): number {
  return snapshotBytes(snapshot) || (index.snapshots[snapshot.id]?.bytes ?? 0);
}

/**
 * Phase 2, decide: why each snapshot is read (null: the cheap pass), from the index, the
 * manifests on disk and the sampling plan (`readDecisions`); records the plan in the report.
 */
async function decideReads(
  scan: SetScan,
  snapshots: readonly Snapshot[],
  startedAt: Date,
): Promise<Map<string, string | null>> {
  const { set, options, report } = scan;
  const { reasons, plan, candidates } = readDecisions(
    set,
    snapshots,
    scan.index,
    startedAt,
    options.resumingRun,
    (id) => scan.manifests.has(id),
  );
  if (plan) {
    const { sampling, note } = samplingSummary(set, plan, candidates);
    report.sampling = sampling;
    if (note) report.notes.push(note);
  }
  return reasons;
}

/** The report's account of a sampling plan, and a note when the budget cannot keep the window (pure). */
export function samplingSummary(
  set: SetPolicy,
  plan: SamplePlan,
  candidates: number,
): { sampling: SamplingReport; note: string | null } {
  return {
    sampling: {
      candidates,
      sampled: plan.read.length,
      bytes: plan.bytes,
      neededPerDay: Math.round(plan.neededPerDay),
      feasible: plan.feasible,
      overdue: plan.overdue,
    },
    note:
      plan.feasible || !set.sample
        ? null
        : `sampling cannot keep every byte within ${set.sample.windowSeconds / 86_400}d: the unchanged snapshots need ${formatBytes(plan.neededPerDay)}/day (plus room for the largest one), the budget is ${formatBytes(set.sample.dailyBytes)}/day`,
  };
}

/**
 * Phase 3, read: scans each snapshot oldest first (`scanSnapshot`, deep or cheap per `reasons`),
 * records it in the index (written after each deep read and at least every INDEX_FLUSH_MS, and
 * once more however the loop ends), the ledger (`verdict-change`) and the report, and adds
 * `snapshot-replaced` findings to `fresh`. Stops early, marking the report interrupted, when the
 * signal is aborted; a read abandoned mid-way records nothing. Other errors propagate.
 */
async function readSnapshots(
  scan: SetScan,
  snapshots: readonly Snapshot[],
  reasons: ReadonlyMap<string, string | null>,
  fresh: Finding[],
): Promise<void> {
  const { options, index, report } = scan;
  let lastFlush = Date.now();
  let unflushed = false;
  const flush = async () => {
    if (!unflushed) return;
    index.updatedAt = scan.now().toISOString();
    await writeSetIndex(options.stateDir, index);
    unflushed = false;
    lastFlush = Date.now();
  };
  try {
    for (const [position, snapshot] of snapshots.entries()) {
      if (options.signal?.aborted) {
        report.interrupted = true;
        break;
      }
      const result = await readOne(
        scan,
        snapshots.slice(0, position),
        snapshot,
        reasons.get(snapshot.id) ?? null,
      );
      if (!result) break;
      await recordSnapshot(scan, snapshot, result, fresh);
      unflushed = true;
      if (result.deep || Date.now() - lastFlush >= INDEX_FLUSH_MS) await flush();
      report.snapshots.push(snapshotReport(result, scan.faults.current));
    }
  } finally {
    await flush();
  }
  if (report.interrupted)
    report.notes.push(
      'scan stopped before every snapshot was read (stop requested); the next scan resumes from here',
    );
}

/**
 * Scans one snapshot (`earlier`: the ones before it, oldest first) with a fresh fault tally, and
 * counts it in `progress` whole however much was read; null when an abort ended the read (the
 * report is marked interrupted and says the snapshot will be read again).
 */
async function readOne(
  scan: SetScan,
  earlier: readonly Snapshot[],
  snapshot: Snapshot,
  reason: string | null,
): Promise<SnapshotScanResult | null> {
  const { set, options, index, report } = scan;
  scan.progress.status(`${set.name}: ${snapshot.id}`);
  const previousId = earlier.at(-1)?.id;
  const deep = reason !== null || !index.snapshots[snapshot.id];
  if (deep) await options.beforeDeepRead?.(set.name, snapshot.id);
  scan.faults.current = emptyFaults();
  let read = 0;
  let result: SnapshotScanResult;
  try {
    result = await scanSnapshot(
      {
        set,
        source: scan.source,
        stateDir: options.stateDir,
        ledger: options.ledger,
        previous: index.snapshots[snapshot.id],
        now: scan.now(),
        tempDir: options.tempDir,
        previousManifest: async () =>
          previousId
            ? openManifest(options.stateDir, set.name, previousId, manifestLookups(snapshot.layout))
            : null,
        ...(previousId && index.snapshots[previousId]?.baseline
          ? { previousManifestSha256: index.snapshots[previousId].baseline.sha256 }
          : {}),
        changeHistory: earlier
          .map((before) => index.snapshots[before.id]?.detection?.changeRate)
          .filter((rate): rate is number => typeof rate === 'number'),
        progress: (bytes) => {
          read += bytes;
          scan.progress.advance(bytes);
        },
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.runId ? { runId: options.runId } : {}),
        ...(scan.spool ? { recordedListing: (prefix: string) => scan.spool!.members(prefix) } : {}),
        faults: scan.faults.current,
        acceptances: scan.acceptances,
      },
      snapshot,
      reason,
    );
  } catch (error) {
    if (error instanceof ScanAbortedError) {
      report.interrupted = true;
      report.notes.push(`${error.message}; it will be read again from the start`);
      return null;
    }
    throw error;
  }
  scan.progress.advance(Math.max(0, expectedBytes(index, snapshot) - read));
  return result;
}

/**
 * Keeps a scanned snapshot's outcome: a `verdict-change` ledger record when its verdict moved,
 * its state in the index (with `notCleanSince` carried), and a `snapshot-replaced` finding in
 * `fresh` when the store replaced the archive its baseline came from.
 */
async function recordSnapshot(
  scan: SetScan,
  snapshot: Snapshot,
  result: SnapshotScanResult,
  fresh: Finding[],
): Promise<void> {
  const { set, options, index } = scan;
  const verdictBefore = index.snapshots[snapshot.id]?.verdict;
  if (verdictBefore !== undefined && verdictBefore !== result.state.verdict) {
    await options.ledger.append('verdict-change', {
      set: set.name,
      snapshot: snapshot.id,
      from: verdictBefore,
      to: result.state.verdict,
      findingCounts: result.state.findingCounts,
      scanSeq: result.state.ledgerSeq,
    });
  }
  index.snapshots[snapshot.id] = withNotCleanSince(result.state, index.snapshots[snapshot.id], scan.now());
  const replaced = replacementFinding(
    result.state,
    set.name,
    await baselineVersionCheck(scan.source, result.state),
  );
  if (replaced) fresh.push(replaced);
}

/** A scanned snapshot as the report shows it; `faults` only for a deep read the store troubled (pure). */
export function snapshotReport(result: SnapshotScanResult, tally: FaultTally): SnapshotReport {
  const { state } = result;
  return {
    id: state.id,
    time: state.time,
    verdict: state.verdict,
    ...(state.verdictBeforeAcceptance ? { verdictBeforeAcceptance: state.verdictBeforeAcceptance } : {}),
    entries: state.entries,
    bytes: state.bytes,
    findings: state.findings,
    findingCounts: state.findingCounts,
    ...(state.acceptedCounts ? { acceptedCounts: state.acceptedCounts } : {}),
    findingsOmitted: result.findingsOmitted,
    deep: result.deep,
    ...(result.deepReason ? { reason: result.deepReason } : {}),
    complete: state.complete,
    ...(state.detection ? { detection: state.detection } : {}),
    ...(result.deep && tally.transient + tally.gaveUp > 0
      ? { faults: { ...tally, examples: [...tally.examples] } }
      : {}),
  };
}

/**
 * Phase 4a, removals: each snapshot the index knows that the store no longer holds is dropped
 * from the index, listed in `report.removed` and recorded (`snapshot-removed`); one retention
 * explains is a note, any other a finding in `fresh`. Skipped when the scan was interrupted
 * (the unread snapshots were not looked for).
 */
async function recordRemovals(
  scan: SetScan,
  snapshots: readonly Snapshot[],
  fresh: Finding[],
): Promise<void> {
  const { set, options, index, report } = scan;
  if (report.interrupted) return;
  const present = new Set(snapshots.map((snapshot) => snapshot.id));
  for (const [id, state] of Object.entries(index.snapshots)) {
    if (present.has(id)) continue;
    report.removed.push(id);
    const removal = judgeRemoval(state, set.retentionSeconds, scan.now());
    if (removal.expected) report.notes.push(removal.note);
    else fresh.push(removal.finding);
    await options.ledger.append('snapshot-removed', {
      set: set.name,
      snapshot: id,
      lastVerdict: state.verdict,
      baseline: state.baseline,
      ...(state.object ? { object: state.object } : {}),
      expected: removal.expected,
    });
    delete index.snapshots[id];
  }
}

/**
 * Phase 4b, set findings: merges this scan's `fresh` findings into the ones the index holds
 * (`mergeSetFindings`), records each new one (`set-finding`), marks the accepted ones and shows
 * them all in the report. Returns whether the index holds any.
 */
async function recordSetFindings(scan: SetScan, fresh: readonly Finding[]): Promise<boolean> {
  const { set, options, index, report } = scan;
  const held = index.setFindings ?? [];
  const merged = mergeSetFindings(held, fresh);
  for (const finding of merged.slice(held.length)) {
    await options.ledger.append('set-finding', { set: set.name, finding });
  }
  if (!merged.length) return false;
  index.setFindings = markSetFindings(merged, scan.acceptances);
  report.findings = [...(report.findings ?? []), ...index.setFindings];
  return true;
}

/**
 * Scans every snapshot of `set`: discover → decide which to read → read them → removals and set
 * findings → write the index. Never throws for store or content problems (they land in the report
 * as `error`); the source is closed however it ends.
 */
export async function scanSet(set: SetPolicy, options: SetScanOptions): Promise<SetReport> {
  const progress = options.progress ?? silentProgress;
  const now = options.now ?? clockNow;
  const report: SetReport = {
    name: set.name,
    location: describeSource(set.source),
    lastClean: null,
    snapshots: [],
    removed: [],
    notes: [],
  };
  const faults = faultCounter();
  let source: BackupSource | null = null;
  const spool = set.layout === 'directory' ? new ListingSpool(options.tempDir) : null;
  try {
    source = decorateSource(set.source, await options.createSource(set), {
      onFault: faults.onFault,
      ...(options.retryDelays ?? {}),
    });
    report.location = source.location;
    progress.status(`${set.name}: listing ${source.location}`);
    const scan: SetScan = {
      set,
      options,
      source,
      index: await readSetIndex(options.stateDir, set.name),
      report,
      progress,
      now,
      acceptances: acceptanceMatcher(options.acceptances ?? []),
      faults,
      spool,
      manifests: await listManifests(options.stateDir, set.name),
    };
    if (expectsDeepRead(set, scan.index)) analysisPool().warm();
    const { snapshots, fresh } = await discover(scan);
    const reasons = await decideReads(scan, snapshots, now());
    await readSnapshots(scan, snapshots, reasons, fresh);
    await recordRemovals(scan, snapshots, fresh);
    const holdsFindings = await recordSetFindings(scan, fresh);
    if (report.removed.length || holdsFindings) await writeSetIndex(options.stateDir, scan.index);
    report.lastClean = lastCleanSnapshot(report.snapshots)?.id ?? null;
  } catch (error) {
    report.error = describeError(error);
  } finally {
    await spool?.close();
    await source?.close().catch(() => undefined);
  }
  return report;
}

/**
 * Asks a store that keeps versions whether it still holds the version a replaced archive's
 * baseline was taken from; null when there is nothing to ask (not replaced, no baselined
 * VersionId, a source without versions).
 */
async function baselineVersionCheck(
  source: BackupSource | null,
  state: SnapshotState,
): Promise<BaselineVersionCheck> {
  const version = state.baseline?.versionId;
  const key = state.object?.key;
  if (
    !source?.headVersion ||
    version === undefined ||
    key === undefined ||
    !state.findings.some((finding) => finding.kind === 'drift-object-changed')
  )
    return null;
  try {
    await source.headVersion(key, version);
    return { kept: true };
  } catch (error) {
    if (error instanceof VersionNotFoundError) return { kept: false, detail: describeError(error) };
    return null;
  }
}

export type { SnapshotState };
export { withNotCleanSince };
