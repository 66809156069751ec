/**
 * The decisions of a snapshot scan, pure (no I/O) so they are tested without a store: which
 * digests to compute, what a read's outcome says (complete, object changed, the object and listing
 * as seen), the baseline's header and record, and the state and ledger record a scan leaves.
 * scan-snapshot.ts runs the phases that read and write; these decide what they record.
 */
import type { ReadSummary } from '../archives/entry-reader.js';
import { objectDrift } from '../integrity/drift.js';
import type { DetectionSummary } from '../model/detection.js';
import type { Finding, FindingKind } from '../model/findings.js';
import type { DigestAlgorithm, ManifestHeader, ObjectIdentity } from '../model/manifest.js';
import type { SnapshotState } from '../model/snapshot-state.js';
import type { ServedIdentity } from '../sources/archive-input.js';
import type { SourceObject } from '../sources/backup-source.js';
import {
  problemPath,
  type ListingSummary,
  type Snapshot,
  type SumsReference,
} from '../sources/snapshot-discovery.js';

/** Findings a scan record lists in full; the rest are counted. */
const RECORDED_FINDINGS = 100;

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

/** Which digests a deep read computes. */
export interface DigestPlan {
  /** The manifest's algorithm: the baseline's when there is one (digests are compared in it), else the policy's. */
  algorithm: DigestAlgorithm;
  /** More per-entry digests that checksum lists of entries use. */
  extraAlgorithms: DigestAlgorithm[];
  /** The whole-object digest's algorithm: the first object checksum list's, else `algorithm`. */
  objectAlgorithm: DigestAlgorithm;
}

/** The digests to compute, given the policy, the baseline's algorithm (if any) and the checksum lists. */
export function digestPlan(
  policyAlgorithm: DigestAlgorithm,
  baselineAlgorithm: DigestAlgorithm | undefined,
  lists: readonly SumsReference[],
): DigestPlan {
  const algorithm = baselineAlgorithm ?? policyAlgorithm;
  const entryLists = lists.filter((list) => list.scope === 'entries');
  const objectLists = lists.filter((list) => list.scope === 'object');
  return {
    algorithm,
    // Only checksum lists of entries need per-entry digests kept (one map entry per listed file).
    extraAlgorithms: [...new Set(entryLists.map((list) => list.algorithm))].filter(
      (other) => other !== algorithm,
    ),
    objectAlgorithm: objectLists[0]?.algorithm ?? algorithm,
  };
}

/** A warning when the baseline was taken in another algorithm than the policy now names; null otherwise. */
export function algorithmChangeFinding(
  snapshotId: string,
  baselineAlgorithm: DigestAlgorithm | undefined,
  policyAlgorithm: DigestAlgorithm,
): Finding | null {
  if (baselineAlgorithm === undefined || baselineAlgorithm === policyAlgorithm) return null;
  return {
    kind: 'read-error',
    path: snapshotId,
    severity: 'warning',
    detail: `baseline uses ${baselineAlgorithm} but the policy now says ${policyAlgorithm}; digests are compared in ${baselineAlgorithm}`,
  };
}

/** A read is complete when the reader got to the end and nothing failed to read. */
export function readComplete(
  summary: ReadSummary,
  findingCounts: Partial<Record<FindingKind, number>>,
): boolean {
  return summary.complete && !(findingCounts['read-error'] ?? 0);
}

/**
 * A critical drift finding when the store stopped serving the listed version mid-read of an
 * object that has a baseline; null otherwise (without a baseline there is nothing it drifted from).
 */
export function objectChangedFinding(
  snapshot: Snapshot,
  changed: Error | null,
  baselineHasObject: boolean,
): Finding | null {
  if (!changed || !baselineHasObject) return null;
  return {
    kind: 'drift-object-changed',
    path: problemPath(snapshot),
    severity: 'critical',
    detail: `object rewritten after its baseline: the store no longer holds the listed version (${changed.message.replace(/^.*?: /, '')})`,
  };
}

/** The header of the baseline a complete first read writes. */
export function baselineHeader(
  set: { name: string; algorithm: DigestAlgorithm },
  snapshot: Snapshot,
  served: ServedIdentity,
  now: Date,
): ManifestHeader {
  const listed = snapshot.layout === 'archive' ? identityOf(snapshot.object) : undefined;
  return {
    format: 'vouch-manifest',
    version: 2,
    set: set.name,
    snapshot: snapshot.id,
    snapshotTime: snapshot.time.toISOString(),
    layout: snapshot.layout,
    algorithm: set.algorithm,
    createdAt: now.toISOString(),
    // The version the store served is the version this baseline describes (`ID@VERSION` reads it back after an overwrite).
    ...(listed
      ? {
          object: {
            ...listed,
            ...(served.versionId && !listed.versionId ? { versionId: served.versionId } : {}),
          },
        }
      : {}),
  };
}

/**
 * An archive snapshot's object as this read saw it: the listed identity with what the store
 * served, and the whole-object digest when every byte went through it (a random-access zip's
 * digest only from a complete read). Undefined for a directory snapshot.
 */
export function currentObjectIdentity(
  snapshot: Snapshot,
  read: { served: ServedIdentity; object: { bytes: number; digest: string } | null },
  complete: boolean,
): ObjectIdentity | undefined {
  if (snapshot.layout !== 'archive') return undefined;
  const listed = identityOf(snapshot.object);
  const digest =
    read.object &&
    listed.size > 0 &&
    read.object.bytes === listed.size &&
    (complete || snapshot.format !== 'zip')
      ? read.object.digest
      : undefined;
  return {
    ...listed,
    ...(read.served.etag ? { etag: read.served.etag } : {}),
    ...(read.served.versionId ? { versionId: read.served.versionId } : {}),
    ...(digest ? { digest } : {}),
  };
}

/**
 * A directory snapshot's listing to record: as this read streamed it when the read was complete,
 * else as discovery listed it. Undefined for an archive snapshot.
 */
export function scanListing(
  snapshot: Snapshot,
  complete: boolean,
  listed: ListingSummary | null,
): ListingSummary | undefined {
  if (snapshot.layout !== 'directory') return undefined;
  return complete && listed ? listed : (snapshot.listing ?? undefined);
}

type BaselineInfo = NonNullable<SnapshotState['baseline']>;

/**
 * The previous state's baseline, with the VersionId filled in when it was recorded before versions
 * were: from the manifest header, or the current object's when the store still serves the
 * baselined bytes (no drift, not changed under the read).
 */
export function carriedBaseline(
  previous: BaselineInfo | undefined,
  baselineObject: ObjectIdentity | undefined,
  currentObject: ObjectIdentity | undefined,
  changed: boolean,
): BaselineInfo | undefined {
  if (!previous || previous.versionId !== undefined) return previous;
  const versionId =
    baselineObject?.versionId ??
    (baselineObject && currentObject && !objectDrift(baselineObject, currentObject) && !changed
      ? currentObject.versionId
      : undefined);
  return versionId !== undefined ? { ...previous, versionId } : previous;
}

/** The baseline a scan just wrote, as the state records it. */
export function writtenBaseline(
  written: { sha256: string; entries: number },
  now: Date,
  currentObject: ObjectIdentity | undefined,
): BaselineInfo {
  return {
    sha256: written.sha256,
    entries: written.entries,
    createdAt: now.toISOString(),
    ...(currentObject?.versionId ? { versionId: currentObject.versionId } : {}),
  };
}

/** The store's faults to record: a copy when any fault was retried or given up, else none. */
export function faultsToRecord(faults: SnapshotState['faults']): SnapshotState['faults'] {
  return faults && faults.transient + faults.gaveUp > 0
    ? { ...faults, examples: [...faults.examples] }
    : undefined;
}

/** When the snapshot was last read completely, by the state before this scan. */
export function previouslyVerified(previous: SnapshotState | undefined): string | undefined {
  return previous?.lastVerified ?? (previous?.complete ? previous.lastDeepScan : undefined);
}

/** What a scan record says about acceptances: the scan's own verdict and the accepted findings, when any. */
export function acceptanceFacts(
  state: SnapshotState,
): Partial<Pick<SnapshotState, 'verdictBeforeAcceptance' | 'acceptedCounts'>> {
  return state.verdictBeforeAcceptance
    ? { verdictBeforeAcceptance: state.verdictBeforeAcceptance, acceptedCounts: state.acceptedCounts! }
    : {};
}

/** The state after the cheap pass: the previous one, re-timed and re-stamped (acceptances not yet applied). */
export function cheapPassState(
  previous: SnapshotState,
  snapshot: Snapshot,
  now: Date,
  runId: string | undefined,
): SnapshotState {
  return {
    ...previous,
    time: snapshot.time.toISOString(),
    lastScan: now.toISOString(),
    ...(runId ? { runId } : {}),
  };
}

/** The ledger record of a cheap pass. */
export function cheapPassRecord(setName: string, snapshot: Snapshot, state: SnapshotState) {
  return {
    set: setName,
    snapshot: snapshot.id,
    deep: false,
    verdict: state.verdict,
    ...acceptanceFacts(state),
    entries: state.entries,
    bytes: state.bytes,
    findingCounts: state.findingCounts,
    object: snapshot.layout === 'archive' ? identityOf(snapshot.object) : undefined,
    listing: snapshot.layout === 'directory' ? (snapshot.listing ?? undefined) : undefined,
  };
}

/** Everything a deep read decided, for its state and ledger record. */
export interface DeepScanOutcome {
  snapshot: Snapshot;
  /** Why the snapshot was read (null when a state-less snapshot is read for the first time). */
  reason: string | null;
  verdict: SnapshotState['verdict'];
  complete: boolean;
  summary: ReadSummary;
  findings: { kept: Finding[]; counts: Partial<Record<FindingKind, number>>; total: number };
  object: ObjectIdentity | undefined;
  listing: ListingSummary | undefined;
  detection: DetectionSummary | undefined;
  baseline: BaselineInfo | undefined;
  faults: SnapshotState['faults'];
  now: Date;
  previous: SnapshotState | undefined;
  runId: string | undefined;
}

/** The state a deep read leaves (acceptances not yet applied). */
export function deepScanState(outcome: DeepScanOutcome): SnapshotState {
  const { snapshot, now, complete, detection, baseline, faults, runId } = outcome;
  const verified = complete ? now.toISOString() : previouslyVerified(outcome.previous);
  return {
    id: snapshot.id,
    time: snapshot.time.toISOString(),
    verdict: outcome.verdict,
    complete,
    entries: outcome.summary.entries,
    bytes: outcome.summary.bytes,
    findings: outcome.findings.kept,
    findingCounts: outcome.findings.counts,
    ...(outcome.object ? { object: outcome.object } : {}),
    ...(outcome.listing ? { listing: outcome.listing } : {}),
    lastScan: now.toISOString(),
    lastDeepScan: now.toISOString(),
    ...(verified ? { lastVerified: verified } : {}),
    ...(detection ? { detection } : {}),
    ...(baseline ? { baseline } : {}),
    ...(runId ? { runId } : {}),
    ...(faults ? { faults } : {}),
  };
}

/** The ledger record of a deep read, given the state it left (acceptances applied). */
export function deepScanRecord(setName: string, outcome: DeepScanOutcome, state: SnapshotState) {
  const { complete, detection, faults, findings } = outcome;
  return {
    set: setName,
    snapshot: outcome.snapshot.id,
    deep: true,
    reason: outcome.reason,
    verdict: state.verdict,
    ...acceptanceFacts(state),
    complete,
    entries: state.entries,
    bytes: state.bytes,
    findingCounts: findings.counts,
    ...(detection ? { detection } : {}),
    findings: state.findings.slice(0, RECORDED_FINDINGS),
    findingsOmitted: findings.total - Math.min(findings.kept.length, RECORDED_FINDINGS),
    object: outcome.object,
    listing: outcome.listing,
    baseline: outcome.baseline,
    ...(faults ? { faults } : {}),
  };
}
