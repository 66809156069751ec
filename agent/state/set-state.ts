/** Everything the state directory knows about one set, read in one go (for metrics, readiness, the API). */
import type { ImmutabilityAudit } from '../model/immutability.js';
import type { Acceptance } from '../model/acceptance.js';
import { acceptancesOf, readAcceptanceIndex, type AcceptanceIndex } from './acceptance-index.js';
import { readDrillIndex } from './drill-index.js';
import { type DrillIndex } from '../model/drill.js';
import { readImmutabilityAudit } from './immutability-store.js';
import { readScanStatus, type ScanStatus } from './scan-status.js';
import { readSetIndex } from './set-index.js';
import { type SetIndex } from '../model/snapshot-state.js';

/** A set's stored state. */
export interface SetState {
  name: string;
  index: SetIndex;
  scan: ScanStatus;
  drills: DrillIndex;
  audit: ImmutabilityAudit | null;
  /** The set's acceptances (revoked ones included), oldest first. */
  acceptances: Acceptance[];
}

/**
 * Reads a set's state; missing files read as empty. Throws when a file exists but is unreadable.
 * `acceptances` is the acceptance index when the caller already read it (one read for many sets).
 */
export async function loadSetState(
  stateDir: string,
  set: string,
  acceptances?: Promise<AcceptanceIndex>,
): Promise<SetState> {
  const [index, scan, drills, audit, accepted] = await Promise.all([
    readSetIndex(stateDir, set),
    readScanStatus(stateDir, set),
    readDrillIndex(stateDir, set),
    readImmutabilityAudit(stateDir, set),
    acceptances ?? readAcceptanceIndex(stateDir),
  ]);
  return { name: set, index, scan, drills, audit, acceptances: acceptancesOf(accepted, set) };
}
