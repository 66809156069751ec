/** `vouch evidence verify [--key FILE…] [--anchor [WHERE]]`: check the chain, signatures, head, manifests and anchored heads offline; exit 3 when anything is wrong. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Policy } from '../config/resolve-policy.js';
import { createHeadAnchor } from '../ledger/head-anchor.js';
import { type HeadAnchor } from '../ledger/anchored-head.js';
import { type AnchorSpec } from '../model/anchor-spec.js';
import { formatFingerprint } from '../ledger/signing-key.js';
import { verifyLedger, type LedgerVerification } from '../ledger/verify-ledger.js';
import { ConfigError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadOptionalPolicy, resolveStateDir } from './global-options.js';
import { printJson, printLines } from './output.js';

/** The verification as lines. */
export function verificationText(stateDir: string, result: LedgerVerification): string[] {
  const lines: string[] = [];
  if (result.ok) {
    lines.push(
      `evidence in ${stateDir}: OK — ${result.records} records; chain, signatures and signed head verified`,
    );
  } else {
    const bad = result.firstBad!;
    const where = bad.segment ? ` (${bad.segment} line ${bad.line})` : '';
    lines.push(
      `evidence in ${stateDir}: FAILED at record ${bad.seq}${where}: ${bad.problem} — ${bad.detail}`,
    );
  }
  if (result.head) lines.push(`  signed head: seq ${result.head.seq}, written ${result.head.time}`);
  lines.push(
    `  trusted keys: ${result.trust === 'pinned' ? 'pinned with --key' : "the state's keys/public"}`,
  );
  for (const fingerprint of result.keyFingerprints)
    lines.push(`  signed by: ${formatFingerprint(fingerprint)}`);
  if (result.legacyUnsigned)
    lines.push(
      `  ${result.legacyUnsigned} records from before signing, covered by the chain of the first signed record`,
    );
  if (result.tornTail)
    lines.push('  the last line was cut by a crash mid-append (ignored; the next append removes it)');
  for (const recovery of result.recoveries)
    lines.push(
      `  recovery recorded at record ${recovery.seq} (${recovery.type}, ${recovery.time}): ${recovery.detail}`,
    );
  if (result.anchor) {
    const anchor = result.anchor;
    lines.push(
      `  anchor ${anchor.location}: ${anchor.heads} head${anchor.heads === 1 ? '' : 's'}, newest signed at seq ${anchor.newest?.seq ?? 'none'}; the ledger ends at seq ${anchor.localSeq}${anchor.problems.length ? '' : ' — not behind any anchored head'}`,
    );
    for (const problem of anchor.problems.slice(
      result.firstBad?.problem === anchor.problems[0]?.problem ? 1 : 0,
    ))
      lines.push(`  also: ${problem.problem} — ${problem.detail}`);
    for (const note of anchor.notes) lines.push(`  note: ${note}`);
  }
  lines.push(`  baseline manifests checked against their recorded digests: ${result.manifests.checked}`);
  for (const problem of result.manifests.problems.slice(1))
    lines.push(`  also: record ${problem.seq}: ${problem.problem} — ${problem.detail}`);
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

/** The anchor `--anchor` names: the policy's (bare flag), a directory, or `s3://bucket/prefix` (AWS default chain). */
export function anchorFromFlag(
  flag: string | boolean | undefined,
  policy: Policy | undefined,
): HeadAnchor | undefined {
  if (flag === undefined || flag === false) return undefined;
  let spec: AnchorSpec | undefined;
  if (flag === true) {
    spec = policy?.evidence?.anchor;
    if (!spec)
      throw new ConfigError(
        '--anchor: the policy declares no evidence.anchor; name one: --anchor DIR or --anchor s3://bucket/prefix',
      );
  } else {
    const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(flag);
    spec = s3
      ? { kind: 's3', bucket: s3[1]!, prefix: s3[2] && !s3[2].endsWith('/') ? `${s3[2]}/` : (s3[2] ?? '') }
      : { kind: 'directory', path: flag };
  }
  return createHeadAnchor(spec);
}

export function registerEvidenceVerify(evidence: Command): void {
  evidence
    .command('verify')
    .description(
      'verify the ledger offline: hash chain, ed25519 signatures, key rotations, signed head, baseline manifests; names the first bad record',
    )
    .option(
      '--key <file...>',
      "trust only these PEM public keys (an auditor's pinned key from `vouch evidence export-key`)",
    )
    .option('--no-manifests', 'skip re-hashing baseline manifests')
    .option(
      '--anchor [where]',
      "also prove the ledger is not behind any head anchored off-host: the policy's evidence.anchor, or a directory, or s3://bucket/prefix",
    )
    .action(
      async (flags: { key?: string[]; manifests: boolean; anchor?: string | boolean }, command: Command) => {
        const options = globalOptions(command);
        const policy = await loadOptionalPolicy(options);
        const stateDir = resolveStateDir(options, policy);
        const trustedKeys = await readTrustedKeys(flags.key);
        const anchor = anchorFromFlag(flags.anchor, policy);
        const result = await verifyLedger(stateDir, {
          ...(trustedKeys ? { trustedKeys } : {}),
          checkManifests: flags.manifests,
          ...(anchor ? { anchor } : {}),
        }).finally(() => anchor?.close());
        if (options.json) printJson({ stateDir, ...result });
        else printLines(verificationText(stateDir, result));
        process.exitCode = result.ok ? EXIT.ok : EXIT.findings;
      },
    );
}
