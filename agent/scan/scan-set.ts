/** Scans one backup set: list, discover snapshots, scan each oldest first, keep the index current. */
import type { SetPolicy } from '../config/resolve-policy.js';
import type { DetectionSummary } from '../detection/snapshot-detection.js';
import { describeError } from '../errors.js';
import type { ImmutabilityAudit } from '../immutability/audit-result.js';
import type { BackupSource, SourceObject } from '../sources/backup-source.js';
import { discoverSnapshots } from '../sources/snapshot-discovery.js';
import type { LedgerStore } from '../state/ledger-store.js';
import { readSetIndex, writeSetIndex } from '../state/set-index.js';
import type { Finding, FindingKind } from '../verdicts/findings.js';
import { loadManifest } from '../state/manifest-store.js';
import { lastCleanSnapshot } from '../verdicts/last-clean.js';
import type { Verdict } from '../verdicts/snapshot-verdict.js';
import { silentProgress, type ScanProgress } from './progress.js';
import { scanSnapshot } from './scan-snapshot.js';

/** One snapshot in a scan report (the `--json` contract). */
export interface SnapshotReport {
  id: string;
  time: string;
  verdict: Verdict;
  entries: number;
  bytes: number;
  findings: Finding[];
  findingCounts: Partial<Record<FindingKind, number>>;
  /** Findings counted but not listed (very large or hostile snapshots). */
  findingsOmitted: number;
  /** True when this scan read the snapshot's bytes; false when the metadata pass sufficed. */
  deep: boolean;
  complete: boolean;
  /** Detection's counts (encrypted files, renames, change rate), when detection ran. */
  detection?: DetectionSummary;
}

/** One set in a scan report. */
export interface SetReport {
  name: string;
  location: string;
  lastClean: string | null;
  snapshots: SnapshotReport[];
  /** Baselined snapshots that are no longer in the store. */
  removed: string[];
  /** Discovery notes (skipped objects, unreadable times). */
  notes: string[];
  /** Set when the set could not be scanned at all (e.g. the store was unreachable). */
  error?: string;
  /** True when a stop request ended the scan before every snapshot was scanned. */
  interrupted?: boolean;
  /** The immutability audit that followed the scan, when the policy asks for one. */
  immutability?: ImmutabilityAudit;
}

/** What a set scan needs. */
export interface SetScanOptions {
  stateDir: string;
  ledger: LedgerStore;
  createSource: (set: SetPolicy) => BackupSource | Promise<BackupSource>;
  progress?: ScanProgress;
  now?: () => Date;
  /** Checked before each snapshot: once aborted, the scan stops there (every finished snapshot is recorded). */
  signal?: AbortSignal;
}

function describeLocation(set: SetPolicy): string {
  return set.source.kind === 'fs' ? set.source.path : `s3://${set.source.bucket}/${set.source.prefix}`;
}

async function listAll(source: BackupSource): Promise<SourceObject[]> {
  const objects: SourceObject[] = [];
  for await (const object of source.list()) objects.push(object);
  return objects;
}

/** Scans every snapshot of `set`; never throws for store or content problems (they land in the report). */
export async function scanSet(set: SetPolicy, options: SetScanOptions): Promise<SetReport> {
  const progress = options.progress ?? silentProgress;
  const now = options.now ?? (() => new Date());
  const report: SetReport = { name: set.name, location: describeLocation(set), lastClean: null, snapshots: [], removed: [], notes: [] };
  let source: BackupSource | null = null;
  try {
    source = await options.createSource(set);
    report.location = source.location;
    progress.status(`${set.name}: listing ${source.location}`);
    const discovery = discoverSnapshots(await listAll(source), set);
    report.notes.push(...discovery.notes);
    const index = await readSetIndex(options.stateDir, set.name);
    const sizeOf = (snapshot: (typeof discovery.snapshots)[number]) =>
      snapshot.object?.size ?? snapshot.members!.reduce((sum, member) => sum + member.size, 0);
    progress.addTotal(discovery.snapshots.reduce((sum, snapshot) => sum + sizeOf(snapshot), 0));

    for (const [position, snapshot] of discovery.snapshots.entries()) {
      if (options.signal?.aborted) {
        report.interrupted = true;
        report.notes.push('scan stopped before every snapshot was read (shutdown requested)');
        break;
      }
      progress.status(`${set.name}: ${snapshot.id}`);
      const earlierSnapshots = discovery.snapshots.slice(0, position);
      const previousId = earlierSnapshots.at(-1)?.id;
      let read = 0;
      const result = await scanSnapshot(
        {
          set,
          source,
          stateDir: options.stateDir,
          ledger: options.ledger,
          previous: index.snapshots[snapshot.id],
          now: now(),
          previousEntries: async () => (previousId ? ((await loadManifest(options.stateDir, set.name, previousId))?.entries ?? null) : null),
          changeHistory: earlierSnapshots.map((earlier) => index.snapshots[earlier.id]?.detection?.changeRate).filter((rate): rate is number => typeof rate === 'number'),
          progress: (bytes) => {
            read += bytes;
            progress.advance(bytes);
          },
        },
        snapshot,
      );
      progress.advance(Math.max(0, sizeOf(snapshot) - read));
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
      index.snapshots[snapshot.id] = result.state;
      index.updatedAt = now().toISOString();
      await writeSetIndex(options.stateDir, index);
      const { state } = result;
      report.snapshots.push({
        id: state.id,
        time: state.time,
        verdict: state.verdict,
        entries: state.entries,
        bytes: state.bytes,
        findings: state.findings,
        findingCounts: state.findingCounts,
        findingsOmitted: result.findingsOmitted,
        deep: result.deep,
        complete: state.complete,
        ...(state.detection ? { detection: state.detection } : {}),
      });
    }

    const present = new Set(discovery.snapshots.map((snapshot) => snapshot.id));
    for (const [id, state] of report.interrupted ? [] : Object.entries(index.snapshots)) {
      if (present.has(id)) continue;
      report.removed.push(id);
      await options.ledger.append('snapshot-removed', { set: set.name, snapshot: id, lastVerdict: state.verdict, baseline: state.baseline });
      delete index.snapshots[id];
    }
    if (report.removed.length) await writeSetIndex(options.stateDir, index);
    report.lastClean = lastCleanSnapshot(report.snapshots)?.id ?? null;
  } catch (error) {
    report.error = describeError(error);
  } finally {
    await source?.close().catch(() => undefined);
  }
  return report;
}
