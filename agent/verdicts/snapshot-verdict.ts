/** Snapshot verdicts from findings: pure, so every rule is tested without I/O. */
import { DRIFT_KINDS, type FindingKind } from '../model/findings.js';
import type { Verdict } from '../model/verdict.js';

/** When encrypted files make a snapshot compromised rather than suspicious. */
export interface EncryptionThresholds {
  /** At least this many strongly encrypted files… */
  files: number;
  /** …or at least this share (0…1) of the snapshot's files. */
  fraction: number;
}

/** The facts a verdict is decided from. */
export interface VerdictInput {
  /** Number of findings of each kind. */
  findingCounts: Partial<Record<FindingKind, number>>;
  /** False when some bytes of the snapshot were not read (error, truncation, cap). */
  complete: boolean;
  /** Detection's counts, when detection ran. */
  detection?: { files: number; encryptedStrong: number };
  thresholds?: EncryptionThresholds;
}

/** The default thresholds: 3 files or 1 %. */
export const DEFAULT_THRESHOLDS: EncryptionThresholds = { files: 3, fraction: 0.01 };

/** Findings that make a snapshot suspicious when nothing worse applies. */
const SUSPICIOUS_KINDS: readonly FindingKind[] = [
  'encrypted',
  'corrupted',
  'structure-invalid',
  'magic-mismatch',
  'extension-change',
  'mass-change',
  'unsafe-entry',
  'immutability',
];

/**
 * The verdict, first rule that applies:
 * 1. any drift in an immutable snapshot, or any ransom note → compromised;
 * 2. strongly encrypted files at or over the thresholds → compromised (even if the read was
 *    incomplete: what was read is already enough);
 * 3. anything not read → unverified (never clean);
 * 4. fewer encrypted files, corrupted (damaged, not encrypted) or renamed files, mass change, unsafe entries, weak
 *    immutability → suspicious;
 * 5. otherwise clean.
 */
export function snapshotVerdict({
  findingCounts,
  complete,
  detection,
  thresholds = DEFAULT_THRESHOLDS,
}: VerdictInput): Verdict {
  const has = (kind: FindingKind) => (findingCounts[kind] ?? 0) > 0;
  if ([...DRIFT_KINDS].some(has) || has('ransom-note')) return 'compromised';
  if (detection && detection.encryptedStrong > 0) {
    const fraction = detection.files > 0 ? detection.encryptedStrong / detection.files : 0;
    if (detection.encryptedStrong >= thresholds.files || fraction >= thresholds.fraction)
      return 'compromised';
  }
  if (!complete || has('read-error')) return 'unverified';
  if (SUSPICIOUS_KINDS.some(has)) return 'suspicious';
  return 'clean';
}
