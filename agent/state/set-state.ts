/** Everything the state directory knows about one set, read in one go (for metrics, readiness, the API). */
import type { ImmutabilityAudit } from '../immutability/audit-result.js';
import { readDrillIndex, type DrillIndex } from './drill-index.js';
import { readImmutabilityAudit } from './immutability-store.js';
import { readScanStatus, type ScanStatus } from './scan-status.js';
import { readSetIndex, type SetIndex } from './set-index.js';

/** A set's stored state. */
export interface SetState {
  name: string;
  index: SetIndex;
  scan: ScanStatus;
  drills: DrillIndex;
  audit: ImmutabilityAudit | null;
}

/** Reads a set's state; missing files read as empty. Throws when a file exists but is unreadable. */
export async function loadSetState(stateDir: string, set: string): Promise<SetState> {
  const [index, scan, drills, audit] = await Promise.all([
    readSetIndex(stateDir, set),
    readScanStatus(stateDir, set),
    readDrillIndex(stateDir, set),
    readImmutabilityAudit(stateDir, set),
  ]);
  return { name: set, index, scan, drills, audit };
}
