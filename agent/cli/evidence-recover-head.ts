/** `vouch evidence recover-head`: sign a new head over an intact chain whose head was lost, with a record saying what was found. */
import type { Command } from 'commander';
import { recoverHead } from './evidence-recovery.js';
import { globalOptions, loadOptionalPolicy, resolveStateDir } from './global-options.js';
import { printJson, printLines } from './output.js';

/** Registers `evidence recover-head`. */
export function registerEvidenceRecoverHead(evidence: Command): void {
  evidence
    .command('recover-head')
    .description(
      'after `evidence verify` found the head missing, unreadable or wrong over an intact chain: record what was found (signed) and sign a new head',
    )
    .action(async (_flags, command: Command) => {
      const options = globalOptions(command);
      const policy = await loadOptionalPolicy(options);
      const stateDir = resolveStateDir(options, policy);
      const { record, found } = await recoverHead(stateDir, policy);
      if (options.json) {
        printJson({ seq: record.seq, type: record.type, found });
        return;
      }
      printLines([
        `recorded the recovery at record ${record.seq} and signed a new head over it`,
        `  found: ${String(found.reason)} — ${String(found.detail)}`,
        'The record stays in the ledger: `vouch evidence verify` lists it, and auditors see it in the report.',
      ]);
    });
}
