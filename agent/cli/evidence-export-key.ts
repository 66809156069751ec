/** `vouch evidence export-key [--out FILE]`: the public key auditors pin (PEM), with its fingerprint. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { currentPublicKey, formatFingerprint } from '../ledger/signing-key.js';
import { openLedger } from '../ledger/ledger-store.js';
import { evidenceLedgerOptions } from './evidence-recovery.js';
import { globalOptions, loadOptionalPolicy, resolveStateDir } from './global-options.js';
import { printErrorLines, printJson } from './output.js';

/** Registers `evidence export-key`. */
export function registerEvidenceExportKey(evidence: Command): void {
  evidence
    .command('export-key')
    .description(
      'print the current public signing key (PEM) for auditors to pin with `evidence verify --key`',
    )
    .option('--out <file>', 'write the PEM to this file instead of stdout')
    .action(async (flags: { out?: string }, command: Command) => {
      const options = globalOptions(command);
      const policy = await loadOptionalPolicy(options);
      const stateDir = resolveStateDir(options, policy);
      let key = await currentPublicKey(stateDir);
      if (!key) {
        // First run: opening the ledger generates the key (under the ledger's lock); a key lost
        // from a signed ledger is refused there instead.
        await (await openLedger(stateDir, evidenceLedgerOptions(policy))).close();
        key = (await currentPublicKey(stateDir))!;
      }
      if (flags.out) await writeFile(flags.out, key.pem, { mode: 0o644 });
      if (options.json)
        printJson({
          keyId: key.keyId,
          fingerprint: key.fingerprint,
          publicKey: key.pem,
          ...(flags.out ? { file: flags.out } : {}),
        });
      else if (!flags.out) process.stdout.write(key.pem);
      printErrorLines([
        `key ${key.keyId}, SHA-256 fingerprint ${formatFingerprint(key.fingerprint)}${flags.out ? `, written to ${flags.out}` : ''}`,
      ]);
    });
}
