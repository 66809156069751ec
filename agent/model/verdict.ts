/**
 * A snapshot's verdict: the four words every report, metric and exit code is built on (verdicts/snapshot-verdict.ts decides it).
 * Types only (model/ imports nothing else of vouch).
 */

/** What vouch concludes about one snapshot. */
export type Verdict = 'clean' | 'suspicious' | 'compromised' | 'unverified';

/** Every verdict, worst first. */
export const VERDICTS: readonly Verdict[] = ['compromised', 'suspicious', 'unverified', 'clean'];
