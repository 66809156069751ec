/**
 * `vouch recover SET --to DIR [--dry-run] [--snapshot ID]`: the cleanest restore — for every path,
 * its newest version detection and drift judged intact, across snapshots — through the drills'
 * safe restore, each file verified against its baseline digest. `--dry-run` prints the plan and the
 * loss report without touching the store. Exit codes: see `recoverExitCode`; 2 for a `--to`
 * inside a set's source or the state directory, or that is a file; 130 when interrupted.
 */
import type { Command } from 'commander';
import { formatBytes } from '../config/byte-size.js';
import { formatAge } from '../config/duration.js';
import { ConfigError } from '../errors.js';
import { selectSets } from '../scan/scan-run.js';
import type { RecoveryPlan } from '../recover/recovery-plan.js';
import type { RecoveryResult } from '../recover/run-recovery.js';
import { checkRecoveryTarget, guardedDirectories } from '../recover/target-check.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadConfiguredPolicy, resolveStateDir } from './global-options.js';
import { takeOverInterrupts } from './interrupt.js';
import { printJson, printLines } from './output.js';
import { now as clockNow } from '../clock.js';

const shortTime = (iso: string) => iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');

function age(iso: string, now: Date): string {
  return `${formatAge((now.getTime() - Date.parse(iso)) / 1000)} old`;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** Files listed per section of the text plan (`--json` lists them all). */
const SHOWN = 50;

/** The plan (and outcome) as text: what a recovery lead reads before and after `--to`. */
export function recoveryText(result: RecoveryResult, now = clockNow()): string[] {
  const { plan } = result;
  const lines: string[] = [];
  if (!plan.newest)
    return [
      `${plan.set}: nothing to restore — the state holds no snapshot of this set (vouch last-clean ${plan.set} says whether a scan found any in the store)`,
    ];
  const { counts } = plan;
  if (plan.mode === 'snapshot') {
    const stored = plan.version
      ? `, stored version ${plan.version} — the original its baseline was taken from, not the current object`
      : '';
    lines.push(
      `recovery of ${plan.set} from snapshot ${plan.newest.id}${plan.version ? `@${plan.version}` : ''} as it is${stored} (${plan.newest.verdict}, ${shortTime(plan.newest.time)}, ${age(plan.newest.time, now)})`,
    );
    lines.push(`  ${plural(counts.files, 'file')}, ${formatBytes(counts.bytes)}`);
    const demoted = plan.snapshots[0]?.note;
    if (demoted) lines.push(`  WARNING: ${demoted} — a restore of it may not work`);
    if (plan.flagged?.length) {
      lines.push(
        `  WARNING: ${plan.flagged.length} of them ${plan.flagged.length === 1 ? 'is' : 'are'} judged compromised and ${plan.flagged.length === 1 ? 'is' : 'are'} restored as they are:`,
      );
      for (const file of plan.flagged.slice(0, SHOWN)) lines.push(`    ${file.path}: ${file.reason}`);
      if (plan.flagged.length > SHOWN) lines.push(`    … and ${plan.flagged.length - SHOWN} more (--json)`);
    }
    lines.push(...skippedLines(plan));
  } else {
    lines.push(
      `recovery plan for ${plan.set}: each file's newest intact version (newest snapshot ${plan.newest.id}, ${plan.newest.verdict}, ${shortTime(plan.newest.time)})`,
    );
    lines.push(
      `  ${plural(counts.files, 'file')}, ${formatBytes(counts.bytes)}: ${counts.fromNewest} from the newest snapshot, ${counts.fromOlder} from older snapshots; ${counts.lost} lost; ${plural(counts.artifacts, 'ransomware artifact')} left out`,
    );
    const older = plan.files.filter((file) => file.snapshot !== plan.newest!.id);
    if (older.length) {
      lines.push('  from older snapshots (newer versions rejected):');
      for (const file of older.slice(0, SHOWN)) {
        const missing = file.inNewest ? '' : ', not in the newest snapshot';
        lines.push(
          `    ${file.path}  ← ${file.snapshot} (${age(file.snapshotTime, now)}${missing}); changes after ${shortTime(file.snapshotTime)} are lost`,
        );
        for (const rejection of file.rejected)
          lines.push(`        rejected ${rejection.snapshot}: ${rejection.reason}`);
      }
      if (older.length > SHOWN)
        lines.push(`    … and ${older.length - SHOWN} more (--json lists every file)`);
    }
    const unsafe = plan.skipped.filter((entry) => entry.kind === 'unsafe-name');
    if (plan.lost.length) {
      lines.push(`  LOST — no usable version left (${plan.lost.length}; each version's reason below):`);
      for (const file of plan.lost.slice(0, SHOWN)) {
        lines.push(
          `    ${file.path}  data-loss window ${shortTime(file.lossWindow.from)} → ${shortTime(file.lossWindow.to)}`,
        );
        for (const version of file.versions) lines.push(`        ${version.snapshot}: ${version.reason}`);
      }
      if (plan.lost.length > SHOWN) lines.push(`    … and ${plan.lost.length - SHOWN} more (--json)`);
    } else if (unsafe.length === 0) {
      lines.push('  nothing lost: every file has an intact version');
    }
    if (plan.artifacts.length) {
      lines.push('  ransomware artifacts, not restored:');
      for (const artifact of plan.artifacts.slice(0, SHOWN))
        lines.push(
          `    ${artifact.path}: ${artifact.kind === 'ransom-note' ? 'ransom note' : artifact.detail}`,
        );
      if (plan.artifacts.length > SHOWN)
        lines.push(`    … and ${plan.artifacts.length - SHOWN} more (--json)`);
    }
    lines.push(...skippedLines(plan));
    const unusable = plan.snapshots.filter((snapshot) => !snapshot.usable);
    for (const snapshot of unusable)
      lines.push(`  snapshot ${snapshot.id} supplies nothing: ${snapshot.note}`);
  }
  const outcome = result.outcome;
  if (outcome) {
    lines.push(
      `  restored into ${outcome.to}: ${plural(outcome.verified, 'file')} verified against their baseline digests, ${formatBytes(outcome.bytes)}${outcome.complete ? '' : ' — INCOMPLETE'}`,
    );
    if (outcome.error) lines.push(`  STOPPED by an error, not a finding about the backups: ${outcome.error}`);
    if (outcome.fellBack.length) {
      lines.push(
        `  FELL BACK — ${plural(outcome.fellBack.length, 'file')} came from an older version than the plan above chose (the chosen version changed after the scan); the plan lines above are corrected by these:`,
      );
      for (const fell of outcome.fellBack.slice(0, SHOWN)) {
        lines.push(
          `    ${fell.path}  ← ${fell.to} (${age(fell.toTime, now)}), not ${fell.from}: ${fell.reason}; changes after ${shortTime(fell.toTime)} are lost`,
        );
      }
      if (outcome.fellBack.length > SHOWN)
        lines.push(`    … and ${outcome.fellBack.length - SHOWN} more (--json)`);
    }
    lines.push(...unrestoredLines(outcome.unrestored));
    for (const problem of outcome.problems) lines.push(`    problem: ${problem}`);
  } else {
    lines.push(
      `  to restore: vouch recover ${plan.set} --to DIR${plan.mode === 'snapshot' ? ` --snapshot ${plan.newest.id}${plan.version ? `@${plan.version}` : ''}` : ''}`,
    );
  }
  lines.push(`  plan ${result.planSha256.slice(0, 16)}… recorded in the ledger (record ${result.ledgerSeq})`);
  return lines;
}

/** Entries the plan does not restore: unsafe names (NOT RESTORED) and symbolic links (recorded, not created). */
function skippedLines(plan: RecoveryPlan): string[] {
  const lines: string[] = [];
  const unsafe = plan.skipped.filter((entry) => entry.kind === 'unsafe-name');
  const links = plan.skipped.filter((entry) => entry.kind === 'symlink');
  if (unsafe.length) {
    lines.push(
      `  NOT RESTORED — ${plural(unsafe.length, 'entry', 'entries')} whose name no restore writes (control characters, too long, or escaping the target):`,
    );
    for (const entry of unsafe.slice(0, SHOWN))
      lines.push(`    ${entry.path}  (${entry.snapshot}): ${entry.reason}`);
    if (unsafe.length > SHOWN) lines.push(`    … and ${unsafe.length - SHOWN} more (--json)`);
  }
  if (links.length) {
    lines.push(`  ${plural(links.length, 'symbolic link')} recorded, not created (as drills):`);
    for (const entry of links.slice(0, SHOWN)) lines.push(`    ${entry.path}: ${entry.reason}`);
    if (links.length > SHOWN) lines.push(`    … and ${links.length - SHOWN} more (--json)`);
  }
  return lines;
}

/** Files not restored, grouped by reason: a reason shared by many files is said once. */
function unrestoredLines(unrestored: readonly { path: string; reason: string }[]): string[] {
  const byReason = new Map<string, string[]>();
  for (const file of unrestored) byReason.set(file.reason, [...(byReason.get(file.reason) ?? []), file.path]);
  const lines: string[] = [];
  for (const [reason, paths] of byReason) {
    if (paths.length === 1) {
      lines.push(`    NOT RESTORED ${paths[0]}: ${reason}`);
      continue;
    }
    lines.push(`    NOT RESTORED ${paths.length} files: ${reason}`);
    for (const file of paths.slice(0, 10)) lines.push(`      ${file}`);
    if (paths.length > 10) lines.push(`      … and ${paths.length - 10} more (--json)`);
  }
  return lines;
}

/**
 * 1 when an error stopped the restore (the store unreachable); 0 when there was something to
 * restore, nothing is lost and (for a restore) every file was written and verified from the
 * planned version; 3 otherwise (losses, files not restored — unsafe names included —, a fallback
 * to an older version than planned, nothing to restore). Symbolic links, recorded and not
 * created, do not count.
 */
export function recoverExitCode(result: Pick<RecoveryResult, 'plan' | 'outcome'>): number {
  const plan: RecoveryPlan = result.plan;
  // An error stopped the restore (the store unreachable): a runtime error, as scans report it.
  if (result.outcome?.error) return EXIT.runtime;
  // Nothing to restore is not a recovery.
  if (!plan.newest || plan.files.length === 0) return EXIT.findings;
  if (plan.lost.length > 0 || (plan.flagged?.length ?? 0) > 0) return EXIT.findings;
  if (plan.skipped.some((entry) => entry.kind === 'unsafe-name')) return EXIT.findings;
  if (result.outcome && (!result.outcome.complete || result.outcome.fellBack.length > 0))
    return EXIT.findings;
  return EXIT.ok;
}

export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description(
      "restore each file's newest intact version across snapshots into a new directory, verified against baseline digests; --dry-run prints the plan and the loss report. Exit 0 when nothing is lost and every file was restored and verified from its planned version; 3 when files are lost or not restored, a file fell back to an older version, or there is nothing to restore; 1 when an error stopped it (store unreachable); 2 for a --to inside a set's source or the state directory, or that is a file",
    )
    .argument('<set>', 'set name from the policy')
    .option(
      '--to <dir>',
      "target directory: must not exist, or be an empty directory, outside every set's source directory and the state directory",
    )
    .option(
      '--dry-run',
      'print the plan (per file: snapshot chosen, age, why newer versions were rejected) and the loss report; restore nothing',
    )
    .option(
      '--snapshot <id>',
      'restore this one snapshot as it is (compromised files included, and listed); ID@VERSION restores that stored version of its archive (S3 VersionId, e.g. the original a snapshot-replaced finding names), verified against the baseline taken from it',
    )
    .action(
      async (name: string, flags: { to?: string; dryRun?: boolean; snapshot?: string }, command: Command) => {
        const options = globalOptions(command);
        const policy = await loadConfiguredPolicy(options);
        const [set] = selectSets(policy, [name]);
        if (!flags.dryRun && !flags.to)
          throw new ConfigError('recover needs --to DIR, or --dry-run to see the plan');
        const stateDir = resolveStateDir(options, policy);
        if (flags.to && !flags.dryRun)
          await checkRecoveryTarget(flags.to, guardedDirectories(policy, stateDir));
        const controller = new AbortController();
        const release = takeOverInterrupts((signal) => controller.abort(new Error(`received ${signal}`)));
        try {
          const { runRecovery } = await import('../recover/run-recovery.js');
          const result = await runRecovery(set!, {
            stateDir,
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
      },
    );
}
