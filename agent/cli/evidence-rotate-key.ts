/**
 * `vouch evidence rotate-key [--lost]`: replace the signing key; old records stay verifiable.
 * With --lost, for a signing key that is gone: a new key is introduced by a `key-replaced` record
 * it signs itself (the old key cannot vouch for it), saying what was found.
 */
import type { Command } from 'commander';
import { formatFingerprint } from '../ledger/signing-key.js';
import { openLedger, type KeyRotation } from '../ledger/ledger-store.js';
import { evidenceLedgerOptions, recoverLostKey } from './evidence-recovery.js';
import { globalOptions, loadOptionalPolicy, resolveStateDir } from './global-options.js';
import { printJson, printLines } from './output.js';

/** Registers `evidence rotate-key`. */
export function registerEvidenceRotateKey(evidence: Command): void {
  evidence
    .command('rotate-key')
    .description(
      'generate a new signing key; a record signed by the old key introduces it, and the old private key is deleted',
    )
    .option(
      '--lost',
      'the signing key is missing: introduce a new key with a record it signs itself, saying what was found (auditors who pinned the old key must pin the new one)',
    )
    .action(async (flags: { lost?: boolean }, command: Command) => {
      const options = globalOptions(command);
      const policy = await loadOptionalPolicy(options);
      const stateDir = resolveStateDir(options, policy);
      let rotation: KeyRotation;
      if (flags.lost) rotation = await recoverLostKey(stateDir, policy);
      else {
        const ledger = await openLedger(stateDir, evidenceLedgerOptions(policy));
        try {
          rotation = await ledger.rotateKey();
        } finally {
          await ledger.close();
        }
      }
      if (options.json) {
        printJson({
          previous: { keyId: rotation.previous.keyId, fingerprint: rotation.previous.fingerprint },
          current: {
            keyId: rotation.current.keyId,
            fingerprint: rotation.current.fingerprint,
            publicKey: rotation.current.pem,
          },
          seq: rotation.record.seq,
          type: rotation.record.type,
        });
        return;
      }
      printLines([
        `${flags.lost ? 'replaced the lost' : 'rotated the'} signing key at record ${rotation.record.seq}`,
        `  old: ${rotation.previous.fingerprint ? formatFingerprint(rotation.previous.fingerprint) : `key ${rotation.previous.keyId} (its private key is gone)`}`,
        `  new: ${formatFingerprint(rotation.current.fingerprint)}`,
        flags.lost
          ? 'The old key could not vouch for the new one: auditors who pinned the old key must check this record and pin the new key (vouch evidence export-key).'
          : 'Auditors who pinned the old key keep verifying: the rotation record vouches for the new one.',
      ]);
    });
}
