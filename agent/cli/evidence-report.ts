/** `vouch evidence report --out FILE [--since DATE]`: the auditor report, one self-contained HTML file. */
import type { Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import { ConfigError } from '../errors.js';
import { gatherReportData, targetsFromPolicy } from '../evidence/report-data.js';
import { renderReportHtml } from '../evidence/report-html.js';
import { verifyLedger } from '../ledger/verify-ledger.js';
import { parseSnapshotTime } from '../sources/snapshot-time.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadOptionalPolicy, resolveStateDir } from './global-options.js';
import { readTrustedKeys } from './evidence-verify.js';
import { printJson, printLines } from './output.js';
import { now as clockNow } from '../clock.js';

/** `--since`: a date or time (2025-10-01, 2025-10-01T00:00:00Z) or a duration back from now (90d). */
export function parseSince(text: string, now = clockNow()): Date {
  const back = parseDuration(text);
  if (back !== null) return new Date(now.getTime() - back * 1000);
  const date = parseSnapshotTime(text);
  if (!date)
    throw new ConfigError(
      `--since: expected a date such as 2025-10-01 or a duration such as 90d, got "${text}"`,
    );
  return date;
}

export function registerEvidenceReport(evidence: Command): void {
  evidence
    .command('report')
    .description(
      'render the auditor report: per set, drills with phase timings against the RTO, RPO achieved, verdicts, last clean snapshot, failures, chain verification and the controls each piece of evidence serves',
    )
    .requiredOption('--out <file>', 'where to write the HTML report')
    .option('--since <date>', 'only records from this date (2025-10-01) or this long ago (90d)')
    .option('--key <file...>', 'verify the chain against these pinned PEM public keys')
    .action(async (flags: { out: string; since?: string; key?: string[] }, command: Command) => {
      const options = globalOptions(command);
      const policy = await loadOptionalPolicy(options);
      const stateDir = resolveStateDir(options, policy);
      const since = flags.since ? parseSince(flags.since) : undefined;
      const trustedKeys = await readTrustedKeys(flags.key);
      const verification = await verifyLedger(stateDir, trustedKeys ? { trustedKeys } : {});
      const targets = policy ? targetsFromPolicy(policy) : undefined;
      const data = await gatherReportData({
        stateDir,
        verification,
        ...(since ? { since } : {}),
        ...(targets ? { targets } : {}),
      });
      await writeFileAtomic(flags.out, renderReportHtml(data));
      const drills = data.sets.reduce((sum, set) => sum + set.drills.length, 0);
      if (options.json)
        printJson({
          out: flags.out,
          sets: data.sets.length,
          drills,
          chainOk: verification.ok,
          firstBad: verification.firstBad ?? null,
        });
      else
        printLines([
          `wrote ${flags.out}: ${data.sets.length} sets, ${drills} drills; evidence chain ${verification.ok ? 'verified' : `FAILED at record ${verification.firstBad!.seq} (${verification.firstBad!.problem})`}`,
        ]);
      process.exitCode = verification.ok ? EXIT.ok : EXIT.findings;
    });
}
