/**
 * Digest verifier: every restored file must be byte-for-byte what the baseline recorded the first
 * time vouch read the snapshot (the digests were computed while the files were written). A full
 * drill must also restore every baseline entry and nothing else. (The archive object's own digest
 * is in the drill's report for auditors; entries are what a restore delivers, so they decide.)
 */
import { entryDrift } from '../../integrity/drift.js';
import type { ManifestEntry } from '../../model/manifest.js';
import { reportFrom, type Verifier } from './verifier.js';
import { type VerifierFailure } from '../../model/drill.js';

/** The restored entry as a manifest entry, so the scan's drift rules judge it. */
function asManifestEntry(restored: {
  path: string;
  type: string;
  size: number;
  digest?: string;
  linkTarget?: string;
}): ManifestEntry {
  const type =
    restored.type === 'hardlink' || restored.type === 'symlink' || restored.type === 'directory'
      ? restored.type
      : 'file';
  return {
    path: restored.path,
    type,
    size: restored.size,
    ...(restored.digest !== undefined ? { digest: restored.digest } : {}),
    ...(restored.linkTarget !== undefined ? { linkTarget: restored.linkTarget } : {}),
  };
}

export const digestVerifier: Verifier = {
  name: 'digest',
  phase: 'verify',
  sandboxed: false,
  enabled: (drill) => drill.verify.digests,
  async run({ baseline, restore, sampled }) {
    if (!baseline) {
      return {
        status: 'skipped',
        detail:
          'the snapshot has no baseline yet (run vouch scan first): restored digests were computed but could not be compared',
        failures: [],
      };
    }
    const failures: VerifierFailure[] = [];
    let compared = 0;
    for (const restored of restore.entries.values()) {
      const before = baseline.entries.get(restored.path);
      if (!before) {
        failures.push({ path: restored.path, detail: `${restored.type} restored but not in the baseline` });
        continue;
      }
      // A hardlink restored as a copy is checked as the file it names.
      const current = asManifestEntry(
        restored.type === 'hardlink' && before.type === 'hardlink'
          ? { ...restored, digest: undefined, size: 0 }
          : restored,
      );
      const drift = entryDrift(before, current);
      if (drift) failures.push({ path: restored.path, detail: drift.detail });
      compared++;
    }
    if (!sampled && restore.complete) {
      for (const before of baseline.entries.values()) {
        if (!restore.entries.has(before.path))
          failures.push({
            path: before.path,
            detail: `${before.type} of ${before.size} bytes in the baseline was not restored`,
          });
      }
    }
    const scope = sampled ? `${compared} sampled entries` : `all ${compared} entries`;
    return reportFrom(
      failures,
      `${scope} match the baseline (${baseline.header.algorithm})`,
      `${failures.length} entr${failures.length === 1 ? 'y differs' : 'ies differ'} from the baseline (${baseline.header.algorithm})`,
    );
  },
};
