/** Records a finished (or aborted) drill: a signed `drill` record in the ledger, then the per-set index. */
import { anchorOptions } from '../ledger/head-anchor.js';
import { type AnchorSpec } from '../model/anchor-spec.js';
import { openLedger } from '../ledger/ledger-store.js';
import { addToDrillIndex } from '../state/drill-index.js';
import { toDrillResult } from './drill-report.js';
import { type DrillReport } from '../model/drill.js';
import { now as clockNow } from '../clock.js';

/** Appends the report to the ledger (anchoring its head per `anchor`) and the index; returns it with its `ledgerSeq`. */
export async function recordDrill(
  stateDir: string,
  report: DrillReport,
  now = clockNow(),
  anchor?: AnchorSpec,
): Promise<DrillReport> {
  const ledger = await openLedger(stateDir, anchorOptions(anchor));
  let recorded: DrillReport;
  try {
    const record = await ledger.append('drill', report);
    recorded = { ...report, ledgerSeq: record.seq };
  } finally {
    await ledger.close();
  }
  await addToDrillIndex(stateDir, toDrillResult(recorded), now);
  return recorded;
}
