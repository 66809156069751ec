/**
 * `vouch recover SET --to DIR [--dry-run] [--snapshot ID]`: the cleanest restore — for every path,
 * its newest version detection and drift judged intact, across snapshots — through the drills'
 * safe restore, each file verified against its baseline digest. `--dry-run` prints the plan and the
 * loss report without touching the store. Exit 0 when every file is recovered (and, for a
 * restore, written and verified) and nothing is lost; 3 when files are lost or could not be
 * restored; 130 when interrupted.
 */
import type { Command } from 'commander';
import { formatBytes } from '../config/byte-size.js';
import { ConfigError } from '../errors.js';
import { selectSets } from '../scan/scan-run.js';
import type { RecoveryPlan } from '../recover/recovery-plan.js';
import type { RecoveryResult } from '../recover/run-recovery.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadConfiguredPolicy, resolveStateDir } from './global-options.js';
import { takeOverInterrupts } from './interrupt.js';
import { printJson, printLines } from './output.js';
import { now as clockNow } from '../clock.js';

const shortTime = (iso: string) => iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');

function age(iso: string, now: Date): string {
  const hours = (now.getTime() - Date.parse(iso)) / 3_600_000;
  return hours < 48 ? `${Math.max(0, Math.round(hours))} h old` : `${Math.round(hours / 24)} days old`;
}

/** Files listed per section of the text plan (`--json` lists them all). */
const SHOWN = 50;

/** The plan (and outcome) as text: what a recovery lead reads before and after `--to`. */
export function recoveryText(result: RecoveryResult, now = clockNow()): string[] {
  const { plan } = result;
  const lines: string[] = [];
  if (!plan.newest) return [`${plan.set}: no snapshot in state — run vouch scan first`];
  const { counts } = plan;
  if (plan.mode === 'snapshot') {
    const stored = plan.version ? `, stored version ${plan.version} — the original its baseline was taken from, not the current object` : '';
    lines.push(`recovery of ${plan.set} from snapshot ${plan.newest.id}${plan.version ? `@${plan.version}` : ''} as it is${stored} (${plan.newest.verdict}, ${shortTime(plan.newest.time)}, ${age(plan.newest.time, now)})`);
    lines.push(`  ${counts.files} files, ${formatBytes(counts.bytes)}`);
    if (plan.flagged?.length) {
      lines.push(`  WARNING: ${plan.flagged.length} of them are judged compromised and are restored as they are:`);
      for (const file of plan.flagged.slice(0, SHOWN)) lines.push(`    ${file.path}: ${file.reason}`);
      if (plan.flagged.length > SHOWN) lines.push(`    … and ${plan.flagged.length - SHOWN} more (--json)`);
    }
  } else {
    lines.push(`recovery plan for ${plan.set}: each file's newest intact version (newest snapshot ${plan.newest.id}, ${plan.newest.verdict}, ${shortTime(plan.newest.time)})`);
    lines.push(`  ${counts.files} files, ${formatBytes(counts.bytes)}: ${counts.fromNewest} from the newest snapshot, ${counts.fromOlder} from older snapshots; ${counts.lost} lost; ${counts.artifacts} ransomware artifacts left out`);
    const older = plan.files.filter((file) => file.snapshot !== plan.newest!.id);
    if (older.length) {
      lines.push('  from older snapshots (newer versions rejected):');
      for (const file of older.slice(0, SHOWN)) {
        const missing = file.inNewest ? '' : ', not in the newest snapshot';
        lines.push(`    ${file.path}  ← ${file.snapshot} (${age(file.snapshotTime, now)}${missing}); changes after ${shortTime(file.snapshotTime)} are lost`);
        for (const rejection of file.rejected) lines.push(`        rejected ${rejection.snapshot}: ${rejection.reason}`);
      }
      if (older.length > SHOWN) lines.push(`    … and ${older.length - SHOWN} more (--json lists every file)`);
    }
    if (plan.lost.length) {
      lines.push(`  LOST — every version compromised (${plan.lost.length}):`);
      for (const file of plan.lost.slice(0, SHOWN)) {
        lines.push(`    ${file.path}  data-loss window ${shortTime(file.lossWindow.from)} → ${shortTime(file.lossWindow.to)}`);
        for (const version of file.versions) lines.push(`        ${version.snapshot}: ${version.reason}`);
      }
      if (plan.lost.length > SHOWN) lines.push(`    … and ${plan.lost.length - SHOWN} more (--json)`);
    } else {
      lines.push('  nothing lost: every file has an intact version');
    }
    if (plan.artifacts.length) {
      lines.push('  ransomware artifacts, not restored:');
      for (const artifact of plan.artifacts.slice(0, SHOWN)) lines.push(`    ${artifact.path}: ${artifact.kind === 'ransom-note' ? 'ransom note' : artifact.detail}`);
      if (plan.artifacts.length > SHOWN) lines.push(`    … and ${plan.artifacts.length - SHOWN} more (--json)`);
    }
    const unusable = plan.snapshots.filter((snapshot) => !snapshot.usable);
    for (const snapshot of unusable) lines.push(`  snapshot ${snapshot.id} supplies nothing: ${snapshot.note}`);
  }
  const outcome = result.outcome;
  if (outcome) {
    lines.push(`  restored into ${outcome.to}: ${outcome.verified} files verified against their baseline digests, ${formatBytes(outcome.bytes)}${outcome.complete ? '' : ' — INCOMPLETE'}`);
    for (const fell of outcome.fellBack) lines.push(`    ${fell.path}: ${fell.from} ${fell.reason}; taken from ${fell.to}`);
    for (const file of outcome.unrestored) lines.push(`    NOT RESTORED ${file.path}: ${file.reason}`);
    for (const problem of outcome.problems) lines.push(`    problem: ${problem}`);
  } else {
    lines.push(`  to restore: vouch recover ${plan.set} --to DIR${plan.mode === 'snapshot' ? ` --snapshot ${plan.newest.id}${plan.version ? `@${plan.version}` : ''}` : ''}`);
  }
  lines.push(`  plan ${result.planSha256.slice(0, 16)}… recorded in the ledger (record ${result.ledgerSeq})`);
  return lines;
}

/** 0 when nothing is lost and (for a restore) every file was written and verified; 3 otherwise. */
export function recoverExitCode(result: Pick<RecoveryResult, 'plan' | 'outcome'>): number {
  const plan: RecoveryPlan = result.plan;
  if (plan.lost.length > 0 || (plan.flagged?.length ?? 0) > 0) return EXIT.findings;
  if (result.outcome && !result.outcome.complete) return EXIT.findings;
  return EXIT.ok;
}

/** Registers `recover`. */
export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description(
      "restore each file's newest intact version across snapshots into a new directory, verified against baseline digests; --dry-run prints the plan and the loss report. Exit 0 when nothing is lost and every file was restored and verified, 3 otherwise",
    )
    .argument('<set>', 'set name from the policy')
    .option('--to <dir>', 'target directory (must not exist, or be empty)')
    .option('--dry-run', 'print the plan (per file: snapshot chosen, age, why newer versions were rejected) and the loss report; restore nothing')
    .option('--snapshot <id>', 'restore this one snapshot as it is (compromised files included, and listed); ID@VERSION restores that stored version of its archive (S3 VersionId, e.g. the original a snapshot-replaced finding names), verified against the baseline taken from it')
    .action(async (name: string, flags: { to?: string; dryRun?: boolean; snapshot?: string }, command: Command) => {
      const options = globalOptions(command);
      const policy = await loadConfiguredPolicy(options);
      const [set] = selectSets(policy, [name]);
      if (!flags.dryRun && !flags.to) throw new ConfigError('recover needs --to DIR, or --dry-run to see the plan');
      const controller = new AbortController();
      const release = takeOverInterrupts((signal) => controller.abort(new Error(`received ${signal}`)));
      try {
        const { runRecovery } = await import('../recover/run-recovery.js');
        const result = await runRecovery(set!, {
          stateDir: resolveStateDir(options, policy),
          dryRun: flags.dryRun === true,
          ...(flags.to ? { to: flags.to } : {}),
          ...(flags.snapshot ? { snapshot: flags.snapshot } : {}),
          ...(policy.evidence?.anchor ? { anchor: policy.evidence.anchor } : {}),
          signal: controller.signal,
        });
        if (options.json) printJson(result);
        else printLines(recoveryText(result));
        process.exitCode = recoverExitCode(result);
      } catch (error) {
        if (controller.signal.aborted) {
          process.exitCode = EXIT.interrupted;
          return;
        }
        throw error;
      } finally {
        release();
      }
    });
}
