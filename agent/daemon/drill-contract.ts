/**
 * The restore-drill entry point the daemon calls (the contract with agent/drills/run-drill.ts):
 * the scheduler and API receive it by injection, so the daemon never imports the drill runner.
 */
import type { Logger } from 'pino';
import type { SetPolicy } from '../config/resolve-policy.js';
import type { AnchorSpec } from '../model/anchor-spec.js';
import type { RequestedBy } from '../model/requested-by.js';
import type { DrillResult } from '../model/drill.js';

/** Options of one drill run. */
export interface DrillOptions {
  stateDir: string;
  /** Snapshot id, or `latest`, `last-clean`, `random` (default: the policy's `drill.pick`). */
  snapshot?: string;
  signal?: AbortSignal;
  now?: () => Date;
  logger?: Logger;
  /** Where the ledger's heads are anchored (policy `evidence.anchor`). */
  anchor?: AnchorSpec;
  /** Who asked for the drill (recorded in its ledger record). */
  requestedBy?: RequestedBy;
}

/** Runs one restore drill of `set` and records it (ledger + `drills/SET.json`). */
export type RunDrill = (set: SetPolicy, options: DrillOptions) => Promise<DrillResult>;
