/**
 * Acceptances as folded from the ledger's `finding-acceptance` and `acceptance-revocation` records (ledger/acceptance-records.ts folds them, verdicts/acceptance.ts applies them).
 * Types only (model/ imports nothing else of vouch).
 */
import type { FindingKind, Severity } from './findings.js';

/** What `vouch accept` was asked to cover. */
export interface AcceptanceSelection {
  /** Glob over finding paths (picomatch, dot files included); `**` also selects findings without a path. */
  path: string;
  kind?: FindingKind;
  /** Only this snapshot; absent: every snapshot holding the same content. */
  snapshot?: string;
}

/** One finding an acceptance covers, as it was when accepted, with the snapshots it was seen in. */
export interface CoveredFinding {
  path: string;
  kind: FindingKind;
  severity: Severity;
  detail: string;
  contentId?: string;
  /** Snapshots it was seen in at acceptance; empty for a finding about the set itself. */
  snapshots: string[];
}

/** A revocation: the acceptance stops covering anything from then on. */
export interface Revocation {
  /** Ledger seq of the `acceptance-revocation` record. */
  id: number;
  at: string;
  by: string;
  reason?: string;
}

/** One acceptance, as folded from the ledger. */
export interface Acceptance {
  /** Ledger seq of its `finding-acceptance` record. */
  id: number;
  set: string;
  /** ISO-8601 time of the record. */
  at: string;
  by: string;
  reason: string;
  selection: AcceptanceSelection;
  findings: CoveredFinding[];
  revoked: Revocation | null;
}
