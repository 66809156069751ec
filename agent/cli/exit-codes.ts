/** Exit codes (documented in docs/commands.md; part of the contract). */
export const EXIT = {
  /** All clean / passed. */
  ok: 0,
  /** Runtime error (store unreachable, state unusable…). */
  runtime: 1,
  /** Usage or policy error. */
  usage: 2,
  /** Findings: something suspicious, compromised, drifted, unverified, or a failed drill. */
  findings: 3,
  /** Interrupted (SIGINT). */
  interrupted: 130,
} as const;
