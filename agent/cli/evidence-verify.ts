/** `vouch evidence verify [--key FILE…]`: check the chain, signatures, head and manifests offline; exit 3 when anything is wrong. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatFingerprint } from '../evidence/signing-key.js';
import { verifyLedger, type LedgerVerification } from '../evidence/verify-ledger.js';
import { ConfigError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadOptionalPolicy, resolveStateDir } from './global-options.js';
import { printJson, printLines } from './output.js';

/** The verification as lines. */
export function verificationText(stateDir: string, result: LedgerVerification): string[] {
  const lines: string[] = [];
  if (result.ok) {
    lines.push(`evidence in ${stateDir}: OK — ${result.records} records; chain, signatures and signed head verified`);
  } else {
    const bad = result.firstBad!;
    const where = bad.segment ? ` (${bad.segment} line ${bad.line})` : '';
    lines.push(`evidence in ${stateDir}: FAILED at record ${bad.seq}${where}: ${bad.problem} — ${bad.detail}`);
  }
  if (result.head) lines.push(`  signed head: seq ${result.head.seq}, written ${result.head.time}`);
  lines.push(`  trusted keys: ${result.trust === 'pinned' ? 'pinned with --key' : "the state's keys/public"}`);
  for (const fingerprint of result.keyFingerprints) lines.push(`  signed by: ${formatFingerprint(fingerprint)}`);
  if (result.legacyUnsigned) lines.push(`  ${result.legacyUnsigned} records from before signing, covered by the chain of the first signed record`);
  if (result.tornTail) lines.push('  the last line was cut by a crash mid-append (ignored; the next append removes it)');
  lines.push(`  baseline manifests checked against their recorded digests: ${result.manifests.checked}`);
  for (const problem of result.manifests.problems.slice(1)) lines.push(`  also: record ${problem.seq}: ${problem.problem} — ${problem.detail}`);
  return lines;
}

/** Reads the PEM public keys given with --key. */
export async function readTrustedKeys(files: string[] | undefined): Promise<string[] | undefined> {
  if (!files?.length) return undefined;
  return Promise.all(
    files.map((file) =>
      readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new ConfigError(`cannot read public key ${file}: ${error.code ?? error.message}`);
      }),
    ),
  );
}

/** Registers `evidence verify`. */
export function registerEvidenceVerify(evidence: Command): void {
  evidence
    .command('verify')
    .description('verify the ledger offline: hash chain, ed25519 signatures, key rotations, signed head, baseline manifests; names the first bad record')
    .option('--key <file...>', 'trust only these PEM public keys (an auditor\'s pinned key from `vouch evidence export-key`)')
    .option('--no-manifests', 'skip re-hashing baseline manifests')
    .action(async (flags: { key?: string[]; manifests: boolean }, command: Command) => {
      const options = globalOptions(command);
      const stateDir = resolveStateDir(options, await loadOptionalPolicy(options));
      const trustedKeys = await readTrustedKeys(flags.key);
      const result = await verifyLedger(stateDir, { ...(trustedKeys ? { trustedKeys } : {}), checkManifests: flags.manifests });
      if (options.json) printJson({ stateDir, ...result });
      else printLines(verificationText(stateDir, result));
      process.exitCode = result.ok ? EXIT.ok : EXIT.findings;
    });
}
