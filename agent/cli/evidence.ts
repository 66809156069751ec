/** `vouch evidence …`: the group of evidence commands (one file each). */
import type { Command } from 'commander';
import { registerEvidenceExportKey } from './evidence-export-key.js';
import { registerEvidenceRecoverHead } from './evidence-recover-head.js';
import { registerEvidenceReport } from './evidence-report.js';
import { registerEvidenceRotateKey } from './evidence-rotate-key.js';
import { registerEvidenceVerify } from './evidence-verify.js';

/** Registers `evidence verify|report|export-key|rotate-key|recover-head`. */
export function registerEvidence(program: Command): void {
  const evidence = program
    .command('evidence')
    .description('check, report and export the signed evidence ledger');
  registerEvidenceVerify(evidence);
  registerEvidenceReport(evidence);
  registerEvidenceExportKey(evidence);
  registerEvidenceRotateKey(evidence);
  registerEvidenceRecoverHead(evidence);
}
