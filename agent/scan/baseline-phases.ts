/**
 * The phases of a snapshot scan after the read, each a merge-join of the spooled entries in path
 * order (memory stays bounded whatever the snapshot's size): detection's history (files gone
 * since the previous snapshot), then drift against the baseline, or the new baseline.
 */
import type { ContentSummary } from '../model/content.js';
import type { DetectionSummary } from '../model/detection.js';
import type { ManifestEntry, ManifestHeader } from '../model/manifest.js';
import type { GoneFiles, SnapshotDetection } from '../detection/snapshot-detection.js';
import { addedEntry, entryDrift, missingEntry } from '../integrity/drift.js';
import { emptyTally, tallyMember, type MemberTally } from '../integrity/member-replacement.js';
import { joinByPath } from '../integrity/path-join.js';
import type { Snapshot } from '../sources/snapshot-discovery.js';
import { createManifestWriter, type ManifestReader, type ManifestWriter } from '../state/manifest-store.js';
import type { EntrySpool } from './entry-spool.js';
import type { FindingsCollector } from './findings-collector.js';

/** Files that disappeared since the previous snapshot handed to detection for pairing; the rest are counted. */
const MAX_GONE_HELD = 100_000;

/** What detection concluded of the whole snapshot. */
export interface FinishedDetection {
  summary: DetectionSummary;
  /** New judgements of files detection paired as renames, by path. */
  reclassified: Map<string, ContentSummary>;
}

/**
 * History: finds the previous snapshot's files that are gone by merge-joining the spool with the
 * previous manifest, hands detection (up to MAX_GONE_HELD of) them, adds its snapshot-level
 * findings to `collector` and returns its summary and the new judgements of renamed files.
 */
export async function finishDetection(
  detection: SnapshotDetection,
  complete: boolean,
  spool: EntrySpool,
  history: ManifestReader | null,
  collector: FindingsCollector,
): Promise<FinishedDetection> {
  let gone: GoneFiles | undefined;
  if (history) {
    const files: ManifestEntry[] = [];
    let count = 0;
    let previousEntries = 0;
    for await (const batch of joinByPath(spool.sortedBatches(), history.entryBatches())) {
      for (const joined of batch) {
        if (joined.right) previousEntries++;
        if (joined.left || joined.right?.type !== 'file') continue;
        count++;
        if (files.length < MAX_GONE_HELD) files.push(joined.right);
      }
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

/**
 * Drift: merge-joins the spool with the baseline, adding a finding for every entry that changed,
 * appeared or (after a complete read only) vanished. Returns the directory members' tally, which
 * tells a replaced directory from a drifted one (empty for an archive).
 */
export async function compareWithBaseline(
  spool: EntrySpool,
  baseline: ManifestReader,
  layout: Snapshot['layout'],
  complete: boolean,
  collector: FindingsCollector,
): Promise<MemberTally> {
  const members = emptyTally();
  for await (const batch of joinByPath(spool.sortedBatches(), baseline.entryBatches())) {
    for (const joined of batch) {
      if (joined.left && joined.right) collector.add(entryDrift(joined.right, joined.left));
      else if (joined.left) collector.add(addedEntry(joined.left));
      else if (joined.right && complete) collector.add(missingEntry(joined.right));
      if (layout === 'directory') tallyMember(members, joined.right, joined.left, complete);
    }
  }
  return members;
}

/**
 * The new baseline: streams the spool, in path order, into a manifest writer under `stateDir`
 * (renamed files with detection's new judgement). Nothing is visible until the caller commits
 * the writer it returns; the caller aborts it otherwise.
 */
export async function writeNewBaseline(
  stateDir: string,
  header: ManifestHeader,
  spool: EntrySpool,
  reclassified: ReadonlyMap<string, ContentSummary>,
): Promise<ManifestWriter> {
  const writer = await createManifestWriter(stateDir, header);
  try {
    for await (const entry of spool.sorted()) {
      const renamed = reclassified.get(entry.path);
      await writer.add(renamed ? { ...entry, content: renamed } : entry);
    }
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer;
}
