/** Runs detection on bytes in memory, the way a scan does (probe in odd-sized chunks, then classify). */
import { classify, type Classification, type PreviousContent } from '../../agent/detection/classify.js';
import { claimedType } from '../../agent/detection/classify.js';
import { type ContentFeatures } from '../../agent/detection/content-probe.js';
import { probeFor } from '../../agent/detection/registry.js';

/**
 * The probe's features for `data`, fed in chunks of `chunk` bytes (odd by default, to cross every
 * boundary); `path` selects validators of magic-less formats its name claims, as scans do.
 */
export function featuresOf(data: Uint8Array, chunk = 65_537, path?: string): ContentFeatures {
  const claim = path ? claimedType(path) : null;
  const probe = probeFor(data.length, claim);
  for (let at = 0; at < data.length; at += chunk) probe.update(data.subarray(at, at + chunk));
  return probe.finish();
}

/** Classifies `data` as the entry `path`, optionally with the previous snapshot's version of it. */
export function classifyBytes(
  path: string,
  data: Uint8Array,
  previous?: { path?: string; data: Uint8Array },
): Classification {
  let before: PreviousContent | null = null;
  if (previous) {
    const earlier = classify({
      path: previous.path ?? path,
      features: featuresOf(previous.data, undefined, previous.path ?? path),
    });
    before = { path: previous.path ?? path, size: previous.data.length, content: earlier.summary };
  }
  return classify({ path, features: featuresOf(data, undefined, path), previous: before });
}
