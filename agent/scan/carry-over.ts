/**
 * Which earlier judgement an unchanged entry keeps, so detection measures only bytes it has not
 * judged before (issue 13: a steady-state scan re-reads and re-hashes every byte, but measuring
 * the content of bytes already judged gives the same answer at many times the cost of hashing).
 *
 * An entry keeps its reference's judgement — and its bytes go through the digests only — when all
 * of these hold, and is measured in full otherwise:
 * - the reference manifest was judged by this detection (vouch's version and the digest of its
 *   detection code, version.ts detectionVersion), in the same digest algorithm, and is still the
 *   file recorded when it was written (its SHA-256; scan-snapshot.ts);
 * - for the snapshot's own baseline as reference (a re-scan), that baseline was judged against
 *   the same history manifest detection uses now; the previous snapshot as reference is its own
 *   history, so the same bytes meet the same facts;
 * - the reference entry was judged `intact` (anything else is judged again, with its features);
 * - the path is not allowed by the policy (allowed paths are judged by the policy, not the bytes);
 * - the entry is not new at its path while a previous snapshot exists (such entries may be the
 *   new name of a renamed file, which detection pairs by content);
 * - and, checked by whoever reads the bytes, the digest and size equal the reference's.
 * A ransom note kept this way keeps its markers (ContentSummary.markers), so it is still reported.
 * Pure functions.
 */
import type { DetectionStamp, ManifestEntry, ManifestHeader } from '../model/manifest.js';

/** The identity a manifest is named by in a DetectionStamp's `previous`. */
export function manifestIdentity(header: Pick<ManifestHeader, 'snapshot' | 'createdAt'>): string {
  return `${header.snapshot}@${header.createdAt}`;
}

/** The stamp a baseline judged now is written with. */
export function detectionStamp(
  version: string,
  history: Pick<ManifestHeader, 'snapshot' | 'createdAt'> | null,
): DetectionStamp {
  return { version, previous: history ? manifestIdentity(history) : null };
}

/** Where unchanged entries find the judgement they keep. */
export type CarryOverSource = 'baseline' | 'history' | null;

/** What the choice of a reference needs to know. */
export interface CarryOverInput {
  /** The policy lets detection keep judgements (`detection.remeasure: changed`). */
  enabled: boolean;
  /** This vouch's version. */
  version: string;
  /** The digest algorithm of this scan's manifest. */
  algorithm: string;
  /** The snapshot's own baseline (a re-scan), if any. */
  baseline: Pick<ManifestHeader, 'algorithm' | 'detection'> | null;
  /** The history manifest detection uses (the previous snapshot's), if any. */
  history: Pick<ManifestHeader, 'algorithm' | 'detection' | 'snapshot' | 'createdAt'> | null;
}

/**
 * The manifest whose judgements unchanged entries keep, or null to measure every entry. The
 * caller also checks that the manifest it picks is still the file recorded when it was written.
 */
export function carryOverSource(input: CarryOverInput): CarryOverSource {
  if (!input.enabled) return null;
  const { baseline, history, version, algorithm } = input;
  if (
    baseline?.detection?.version === version &&
    baseline.algorithm === algorithm &&
    baseline.detection.previous === (history ? manifestIdentity(history) : null)
  )
    return 'baseline';
  if (history?.detection?.version === version && history.algorithm === algorithm) return 'history';
  return null;
}

/**
 * The digest an entry must have for its reference's judgement to be kept (the bytes then skip
 * detection's measurements), or undefined to measure it in full.
 */
export function keepableDigest(
  reference: ManifestEntry | undefined,
  options: { allowed: boolean; newAtPath: boolean },
): string | undefined {
  if (!reference || options.allowed || options.newAtPath) return undefined;
  if (reference.type !== 'file' || reference.digest === undefined) return undefined;
  return reference.content?.judgement === 'intact' ? reference.digest : undefined;
}
