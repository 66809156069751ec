/**
 * Detection's per-snapshot counts, as the set index stores them and the verdict and metrics read them (detection/snapshot-detection.ts produces them).
 * Types only (model/ imports nothing else of vouch).
 */

/** Counts the verdict and the metrics need. */
export interface DetectionSummary {
  /** Files classified. */
  files: number;
  encryptedStrong: number;
  encryptedWeak: number;
  ransomNotes: number;
  renamed: number;
  /**
   * Files whose bytes were the same as an entry this version already judged intact, and that kept
   * that judgement without being measured again (`detection.remeasure: changed`); included in `files`.
   */
  kept?: number;
  /** Files their archive stores password-protected (zip -P), whose bytes vouch cannot read. */
  archiveEncrypted?: number;
  /** Files whose content changed, appeared or disappeared since the previous snapshot. */
  changed: number;
  /** `changed` over the larger of the two snapshots' file counts; null without a previous snapshot. */
  changeRate: number | null;
}
