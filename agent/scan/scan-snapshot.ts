/**
 * Scans one snapshot: decides between the cheap metadata pass and a deep read; a deep read
 * streams every entry once (digest, plus any other sinks), compares with the baseline, checks
 * checksum lists, writes the baseline on the first complete read, and records the result in the
 * ledger. Never throws for bad backup content: every problem becomes a finding.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ArchiveEntry, ArchiveProblem, EntryVisitor, ReadSummary } from '../archives/entry-reader.js';
import { readPlainEntries } from '../archives/plain-reader.js';
import { readerFor } from '../archives/registry.js';
import type { DigestAlgorithm, SetPolicy } from '../config/resolve-policy.js';
import { describeError } from '../errors.js';
import { createDigester, digestStream, type ChunkSink } from '../integrity/digest.js';
import { addedEntry, entryDrift, missingEntry, objectDrift } from '../integrity/drift.js';
import type { ManifestEntry, ManifestHeader, ObjectIdentity } from '../integrity/manifest.js';
import type { BackupSource, SourceObject } from '../sources/backup-source.js';
import { archiveInputFor, type ServedIdentity } from '../sources/archive-input.js';
import type { Snapshot, SumsReference } from '../sources/snapshot-discovery.js';
import type { LedgerStore } from '../state/ledger-store.js';
import { createManifestWriter, loadManifest, type ManifestWriter } from '../state/manifest-store.js';
import type { SnapshotState } from '../state/set-index.js';
import type { Finding } from '../verdicts/findings.js';
import { snapshotVerdict } from '../verdicts/snapshot-verdict.js';
import { claimedType, type ContentSummary } from '../detection/classify.js';
import { SnapshotDetection } from '../detection/snapshot-detection.js';
import { analyzeStream } from './analyze-stream.js';
import { FindingsCollector } from './findings-collector.js';
import { deepReadReason } from './deep-read-decision.js';
import { checkSums, loadSumsTables, type SumsTable } from './sums-check.js';

/** Everything a snapshot scan needs from its set scan. */
export interface SnapshotScanContext {
  set: SetPolicy;
  source: BackupSource;
  stateDir: string;
  ledger: LedgerStore;
  previous: SnapshotState | undefined;
  now: Date;
  /** Called with the number of source bytes read, as they are read. */
  progress?: (bytes: number) => void;
  /**
   * The previous snapshot's baseline entries by path, for detection's history (loaded only when
   * the snapshot is read); null when there is no previous snapshot with a baseline.
   */
  previousEntries?: () => Promise<ReadonlyMap<string, ManifestEntry> | null>;
  /** The set's change rates of earlier snapshots, oldest first (mass-change baseline). */
  changeHistory?: readonly number[];
}

/** A snapshot's result: its new state, whether bytes were read, and findings not kept in full. */
export interface SnapshotScanResult {
  state: SnapshotState;
  deep: boolean;
  deepReason: string | null;
  findingsOmitted: number;
}

function identityOf(object: SourceObject): ObjectIdentity {
  return {
    key: object.key,
    size: object.size,
    mtime: object.mtime.toISOString(),
    ...(object.etag ? { etag: object.etag } : {}),
    ...(object.versionId ? { versionId: object.versionId } : {}),
  };
}

/** Fingerprint of a directory snapshot's listing: any added, removed or rewritten object changes it. */
export function listingFingerprint(members: readonly SourceObject[]): string {
  const hash = createHash('sha256');
  for (const member of [...members].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    hash.update(`${member.key}\0${member.kind}\0${member.size}\0${member.etag ?? ''}\0${member.versionId ?? ''}\0${member.mtime.toISOString()}\n`);
  }
  return hash.digest('hex');
}

function problemFinding(problem: ArchiveProblem): Finding {
  return {
    kind: problem.kind,
    path: problem.path,
    severity: problem.kind === 'read-error' ? 'critical' : 'warning',
    detail: problem.detail,
  };
}

/**
 * Files of a directory snapshot read at once: keeps every analysis worker busy and hides store
 * latency (one S3 GET per file). Manifest lines are therefore in the order reads finished.
 */
const PARALLEL_FILE_READS = 4;

/** A sink that counts bytes for progress. */
function progressSink(progress: ((bytes: number) => void) | undefined): ChunkSink[] {
  return progress ? [{ update: (chunk) => progress(chunk.length) }] : [];
}

/** Scans one snapshot and records the result in the ledger. */
export async function scanSnapshot(ctx: SnapshotScanContext, snapshot: Snapshot): Promise<SnapshotScanResult> {
  const { set, source, stateDir, previous, now } = ctx;
  const baseline = await loadManifest(stateDir, set.name, snapshot.id);
  const listedObject = snapshot.object ? identityOf(snapshot.object) : undefined;
  const listing = snapshot.members
    ? {
        objects: snapshot.members.length,
        bytes: snapshot.members.reduce((sum, member) => sum + member.size, 0),
        fingerprint: listingFingerprint(snapshot.members),
      }
    : undefined;
  const reason = deepReadReason({
    hasBaseline: baseline !== null,
    previous,
    ...(listedObject ? { object: listedObject } : {}),
    ...(listing ? { listingFingerprint: listing.fingerprint } : {}),
    rehashSeconds: set.rehashSeconds,
    now,
  });

  if (reason === null && previous) {
    const state: SnapshotState = { ...previous, time: snapshot.time.toISOString(), lastScan: now.toISOString() };
    const record = await ctx.ledger.append('snapshot-scan', {
      set: set.name,
      snapshot: snapshot.id,
      deep: false,
      verdict: state.verdict,
      entries: state.entries,
      bytes: state.bytes,
      findingCounts: state.findingCounts,
      object: listedObject,
      listing,
    });
    return { state: { ...state, ledgerSeq: record.seq }, deep: false, deepReason: null, findingsOmitted: 0 };
  }

  const collector = new FindingsCollector();
  const sumsTables = set.verifySums ? await loadSumsTables(source, snapshot, collector) : [];
  const entryTables = sumsTables.filter((table) => table.scope === 'entries');
  const objectTables = sumsTables.filter((table) => table.scope === 'object');

  const header: ManifestHeader = {
    format: 'vouch-manifest',
    version: 1,
    set: set.name,
    snapshot: snapshot.id,
    snapshotTime: snapshot.time.toISOString(),
    layout: snapshot.layout,
    algorithm: set.algorithm,
    createdAt: now.toISOString(),
    ...(listedObject ? { object: listedObject } : {}),
  };
  const writer: ManifestWriter | null = baseline ? null : await createManifestWriter(stateDir, header);
  const baselineEntries = baseline?.entries;
  if (baseline && baseline.header.algorithm !== set.algorithm) {
    collector.add({
      kind: 'read-error',
      path: snapshot.id,
      severity: 'warning',
      detail: `baseline uses ${baseline.header.algorithm} but the policy now says ${set.algorithm}; digests are compared in ${baseline.header.algorithm}`,
    });
  }
  const algorithm = baseline?.header.algorithm ?? set.algorithm;
  const membersByKey = new Map((snapshot.members ?? []).map((member) => [member.key.slice(snapshot.prefix!.length), member]));
  const entryDigests = new Map<string, Map<DigestAlgorithm, string>>();

  // Checksum lists in another algorithm are checked from the same pass.
  const extraAlgorithms = [...new Set(entryTables.map((table) => table.algorithm))].filter((other) => other !== algorithm);
  const detection = set.detection.enabled ? new SnapshotDetection(set.detection, (await ctx.previousEntries?.()) ?? null, ctx.changeHistory) : null;
  // Entries new at their path are written once detection has looked for renames (finish()).
  const heldBack: ManifestEntry[] = [];
  const visitor: EntryVisitor = {
    async entry(entry: ArchiveEntry, body: Readable | null) {
      let size = entry.size;
      let digest: string | undefined;
      let content: ContentSummary | undefined;
      let newPath = false;
      if (body) {
        const sinks = snapshot.layout === 'directory' ? progressSink(ctx.progress) : [];
        // Members zip itself encrypted hold ciphertext by design: digests only.
        const detect = detection && !entry.encrypted ? { size: entry.size, claim: claimedType(entry.path) } : undefined;
        const result = await analyzeStream(body, { algorithm, extraAlgorithms, ...(detect ? { detect } : {}) }, { sizeHint: entry.size, sinks });
        size = result.bytes;
        digest = result.digest;
        if (detection && result.content) {
          const judged = detection.judge({ path: entry.path, size, digest, features: result.content });
          for (const finding of judged.findings) collector.add(finding);
          content = judged.classification.summary;
          newPath = detection.isPending(entry.path);
        }
        if (entryTables.length) {
          const digests = new Map<DigestAlgorithm, string>([[algorithm, digest]]);
          for (const [extraAlgorithm, extraDigest] of Object.entries(result.extra) as [DigestAlgorithm, string][]) digests.set(extraAlgorithm, extraDigest);
          entryDigests.set(entry.path, digests);
        }
      }
      const member = membersByKey.get(entry.path);
      const current: ManifestEntry = {
        path: entry.path,
        type: entry.type,
        size,
        ...(digest ? { digest } : {}),
        ...(entry.linkTarget !== undefined ? { linkTarget: entry.linkTarget } : {}),
        ...(member?.etag ? { etag: member.etag } : {}),
        ...(member?.versionId ? { versionId: member.versionId } : {}),
        ...(member ? { mtime: member.mtime.toISOString() } : {}),
        ...(content ? { content } : {}),
      };
      if (baselineEntries) {
        const before = baselineEntries.get(entry.path);
        if (before) {
          collector.add(entryDrift(before, current));
          baselineEntries.delete(entry.path);
        } else {
          collector.add(addedEntry(current));
        }
      }
      if (newPath) heldBack.push(current);
      else await writer?.add(current);
    },
    problem(problem) {
      collector.add(problemFinding(problem));
    },
  };

  const objectAlgorithm = objectTables[0]?.algorithm ?? algorithm;
  const objectDigester = snapshot.object ? await createDigester(objectAlgorithm) : null;
  let objectBytes = 0;
  const served: ServedIdentity = {};
  let summary: ReadSummary = { entries: 0, bytes: 0, complete: false };
  try {
    if (snapshot.layout === 'archive') {
      const object = snapshot.object!;
      const tap: ChunkSink = {
        update(chunk) {
          objectDigester!.update(chunk);
          objectBytes += chunk.length;
          ctx.progress?.(chunk.length);
        },
      };
      const input = archiveInputFor(source, object, tap, served);
      summary = await readerFor(snapshot.format!).read(input, visitor, set.limits);
      if (snapshot.format === 'zip') {
        ctx.progress?.(object.size);
        if (objectTables.length && summary.complete) {
          const body = await source.open(object.key);
          objectBytes = (await digestStream(body.stream, objectAlgorithm, [objectDigester!])).bytes;
        }
      }
    } else {
      const members = (async function* () {
        for (const [key, member] of membersByKey) yield { ...member, key };
      })();
      summary = await readPlainEntries(
        members,
        async (key) => (await source.open(snapshot.prefix + key)).stream,
        visitor,
        set.limits,
        PARALLEL_FILE_READS,
      );
    }
  } catch (error) {
    collector.add({ kind: 'read-error', path: snapshot.object?.key ?? snapshot.id, severity: 'critical', detail: describeError(error) });
    summary = { ...summary, complete: false };
  }

  const complete = summary.complete && !(collector.counts['read-error'] ?? 0);
  const detected = detection?.finish(complete);
  if (detected) {
    for (const finding of detected.findings) collector.add(finding);
    for (const entry of heldBack) {
      const renamed = detected.reclassified.get(entry.path);
      await writer?.add(renamed ? { ...entry, content: renamed.summary } : entry);
    }
  }
  const currentObject: ObjectIdentity | undefined = listedObject
    ? {
        ...listedObject,
        ...(served.etag ? { etag: served.etag } : {}),
        ...(served.versionId ? { versionId: served.versionId } : {}),
        ...(objectDigester && objectBytes === listedObject.size && (complete || snapshot.format !== 'zip') ? { digest: objectDigester.hex() } : {}),
      }
    : undefined;
  if (baseline?.header.object && currentObject) collector.add(objectDrift(baseline.header.object, currentObject));
  if (baselineEntries && complete) for (const missing of baselineEntries.values()) collector.add(missingEntry(missing));
  for (const finding of checkSums(sumsTables, { snapshot, objectDigest: currentObject?.digest, objectAlgorithm, entryDigests, complete })) {
    collector.add(finding);
  }

  let baselineInfo = previous?.baseline;
  if (writer) {
    if (complete) {
      const written = await writer.commit();
      baselineInfo = { sha256: written.sha256, entries: written.entries, createdAt: now.toISOString() };
      await ctx.ledger.append('baseline', {
        set: set.name,
        snapshot: snapshot.id,
        manifest: written.file.slice(stateDir.length + 1),
        sha256: written.sha256,
        entries: written.entries,
        object: currentObject,
      });
    } else {
      await writer.abort();
    }
  }

  const verdict = snapshotVerdict({
    findingCounts: collector.counts,
    complete,
    ...(detected ? { detection: detected.summary } : {}),
    thresholds: { files: set.detection.compromisedFiles, fraction: set.detection.compromisedFraction },
  });
  const state: SnapshotState = {
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
    ...(detected ? { detection: detected.summary } : {}),
    ...(baselineInfo ? { baseline: baselineInfo } : {}),
  };
  const record = await ctx.ledger.append('snapshot-scan', {
    set: set.name,
    snapshot: snapshot.id,
    deep: true,
    reason,
    verdict,
    complete,
    entries: state.entries,
    bytes: state.bytes,
    findingCounts: collector.counts,
    ...(detected ? { detection: detected.summary } : {}),
    findings: collector.kept.slice(0, 100),
    findingsOmitted: collector.total - Math.min(collector.kept.length, 100),
    object: currentObject,
    listing,
    baseline: baselineInfo,
  });
  return { state: { ...state, ledgerSeq: record.seq }, deep: true, deepReason: reason, findingsOmitted: collector.omitted };
}
