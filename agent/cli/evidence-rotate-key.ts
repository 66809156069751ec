/** `vouch evidence rotate-key`: replace the signing key; old records stay verifiable. */
import type { Command } from 'commander';
import { formatFingerprint } from '../evidence/signing-key.js';
import { openLedger } from '../state/ledger-store.js';
import { globalOptions, loadOptionalPolicy, resolveStateDir } from './global-options.js';
import { printJson, printLines } from './output.js';

/** Registers `evidence rotate-key`. */
export function registerEvidenceRotateKey(evidence: Command): void {
  evidence
    .command('rotate-key')
    .description('generate a new signing key; a record signed by the old key introduces it, and the old private key is deleted')
    .action(async (_flags, command: Command) => {
      const options = globalOptions(command);
      const ledger = await openLedger(resolveStateDir(options, await loadOptionalPolicy(options)));
      try {
        const rotation = await ledger.rotateKey();
        if (options.json) {
          printJson({ previous: { keyId: rotation.previous.keyId, fingerprint: rotation.previous.fingerprint }, current: { keyId: rotation.current.keyId, fingerprint: rotation.current.fingerprint, publicKey: rotation.current.pem }, seq: rotation.record.seq });
        } else {
          printLines([
            `rotated the signing key at record ${rotation.record.seq}`,
            `  old: ${formatFingerprint(rotation.previous.fingerprint)}`,
            `  new: ${formatFingerprint(rotation.current.fingerprint)}`,
            'Auditors who pinned the old key keep verifying: the rotation record vouches for the new one.',
          ]);
        }
      } finally {
        await ledger.close();
      }
    });
}
