/**
 * A child process for crash tests: appends large records to the ledger of the state directory
 * given as argv[2] until it is killed, printing each seq once it is on disk.
 */
import { openLedger } from '../../agent/ledger/ledger-store.js';

const ledger = await openLedger(process.argv[2]!);
const padding = 'x'.repeat(Number(process.argv[3] ?? 1_000_000));
for (let i = 0; ; i++) {
  const record = await ledger.append('scan-run', { sets: [], note: `append ${i}`, padding });
  process.stdout.write(`${record.seq}\n`);
}
