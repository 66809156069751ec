/**
 * The 3-2-1-1-0 rule for one data set (pure): at least 3 copies, on 2 kinds of media, 1 off-site,
 * 1 immutable or offline, and 0 verification errors. Counted over the backup copies vouch
 * verifies (the sets listed under `datasets.NAME.copies`).
 */
import type { StorageMedia } from '../config/resolve-policy.js';

/** What the rule needs to know about one copy. */
export interface CopyFacts {
  set: string;
  media: StorageMedia;
  offsite: boolean;
  /** The last immutability audit found the copy protected; null when it was never audited. */
  protected: boolean | null;
  /** Snapshots that are not clean, plus one if the copy's last scan failed or it was never scanned. */
  verificationErrors: number;
}

/** The parts of the rule, in order. */
export const RULE_PARTS = ['copies', 'media', 'offsite', 'immutable', 'errors'] as const;
/** One part of the rule. */
export type RulePart = (typeof RULE_PARTS)[number];

/** How one part came out. */
export interface RulePartResult {
  ok: boolean;
  /** The measured count (copies, media kinds, off-site copies, protected copies, errors). */
  count: number;
  /** What the part requires: at least this many (at most, for errors). */
  required: number;
}

/** A data set's rule report. */
export interface DatasetRuleReport {
  dataset: string;
  copies: string[];
  ok: boolean;
  parts: Record<RulePart, RulePartResult>;
}

/** Evaluates the rule for one data set. */
export function evaluate32110(dataset: string, copies: readonly CopyFacts[]): DatasetRuleReport {
  const atLeast = (count: number, required: number): RulePartResult => ({
    ok: count >= required,
    count,
    required,
  });
  const errors = copies.reduce((sum, copy) => sum + copy.verificationErrors, 0);
  const parts: Record<RulePart, RulePartResult> = {
    copies: atLeast(copies.length, 3),
    media: atLeast(new Set(copies.map((copy) => copy.media)).size, 2),
    offsite: atLeast(copies.filter((copy) => copy.offsite).length, 1),
    immutable: atLeast(copies.filter((copy) => copy.protected === true).length, 1),
    errors: { ok: errors === 0, count: errors, required: 0 },
  };
  return {
    dataset,
    copies: copies.map((copy) => copy.set),
    ok: RULE_PARTS.every((part) => parts[part].ok),
    parts,
  };
}
