/**
 * `vouch accept SET --path GLOB --reason TEXT`: triage. Accepts findings a person examined as
 * known and harmless (a signed ledger record); `--list` shows a set's acceptances, `--revoke ID`
 * takes one back. Accepted findings stay listed everywhere, marked, but stop counting toward
 * verdicts, last clean, readiness, metrics and alerts.
 */
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { selectSets } from '../scan/scan-run.js';
import { acceptFindings, describeSelection, type AcceptResult } from '../triage/accept-findings.js';
import { readAcceptanceList, type AcceptanceListDocument } from '../triage/acceptance-listing.js';
import { revokeAcceptance, type RevokeResult } from '../triage/revoke-acceptance.js';
import { currentUser } from '../triage/triage-session.js';
import { FINDING_KINDS } from '../model/findings.js';
import type { VerdictEffect } from '../ledger/acceptance-records.js';
import { EXIT } from './exit-codes.js';
import { globalOptions, loadConfiguredPolicy, resolveStateDir } from './global-options.js';
import { printJson, printLines, table } from './output.js';

interface AcceptFlags {
  path?: string;
  snapshot?: string;
  kind?: string;
  reason?: string;
  by?: string;
  list?: boolean;
  revoke?: string;
}

const shortTime = (iso: string) => iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, 'Z');

function verdictLines(verdicts: readonly VerdictEffect[]): string[] {
  if (verdicts.length === 0) return ['  no verdict changed'];
  return verdicts.map((change) => `  ${change.snapshot}: ${change.from} → ${change.to}`);
}

/** `vouch accept` as text. */
export function acceptText(result: AcceptResult): string[] {
  const { acceptance } = result;
  const kinds = new Map<string, number>();
  for (const item of acceptance.findings)
    kinds.set(item.kind, (kinds.get(item.kind) ?? 0) + Math.max(1, item.snapshots.length));
  return [
    `${result.set}: acceptance ${acceptance.id} by ${acceptance.by} (${shortTime(acceptance.at)}) covers ${result.count} finding${result.count === 1 ? '' : 's'}: ${[...kinds].map(([kind, n]) => `${n} × ${kind}`).join(', ')}`,
    `  reason: ${acceptance.reason}`,
    `  snapshots: ${result.snapshots.join(', ') || '(the set itself)'}`,
    ...verdictLines(result.verdicts),
    ...result.notes.map((note) => `  note: ${note}`),
    `  revoke with: vouch accept ${result.set} --revoke ${acceptance.id}`,
  ];
}

/** `vouch accept --revoke` as text. */
export function revokeText(result: RevokeResult): string[] {
  const revoked = result.acceptance.revoked!;
  return [
    `${result.set}: acceptance ${result.acceptance.id} (by ${result.acceptance.by}: ${result.acceptance.reason}) revoked by ${revoked.by} (${shortTime(revoked.at)}, record ${revoked.id}); its findings count again`,
    ...(revoked.reason ? [`  reason: ${revoked.reason}`] : []),
    ...verdictLines(result.verdicts),
  ];
}

/** `vouch accept --list` as text. */
export function listText(document: AcceptanceListDocument): string[] {
  const inForce = document.acceptances.filter((acceptance) => acceptance.inForce).length;
  const lines = [
    `${document.set}: ${document.acceptances.length} acceptance${document.acceptances.length === 1 ? '' : 's'}, ${inForce} in force`,
  ];
  if (document.acceptances.length === 0)
    return [
      ...lines,
      `  none: accept findings with \`vouch accept ${document.set} --path GLOB --reason TEXT\``,
    ];
  const rows = [['ID', 'ACCEPTED', 'BY', 'COVERED', 'NOW', 'STATUS', 'SELECTION']];
  for (const acceptance of document.acceptances) {
    rows.push([
      String(acceptance.id),
      shortTime(acceptance.at),
      acceptance.by,
      String(acceptance.count),
      String(acceptance.now.findings),
      acceptance.revoked
        ? `revoked ${shortTime(acceptance.revoked.at)} by ${acceptance.revoked.by}`
        : 'in force',
      describeSelection(acceptance.selection),
    ]);
  }
  lines.push(...table(rows).map((row) => `  ${row}`));
  for (const acceptance of document.acceptances) {
    lines.push(
      `  ${acceptance.id}: ${acceptance.reason}${acceptance.revoked?.reason ? ` (revoked: ${acceptance.revoked.reason})` : ''}`,
    );
  }
  return lines;
}

/** Usage errors for flags that do not belong together. */
function checkFlags(flags: AcceptFlags): 'accept' | 'list' | 'revoke' {
  const given = (names: (keyof AcceptFlags)[]) =>
    names.filter((name) => flags[name] !== undefined && flags[name] !== false).map((name) => `--${name}`);
  if (flags.list && flags.revoke !== undefined)
    throw new ConfigError('--list and --revoke cannot be combined');
  if (flags.list) {
    const extra = given(['path', 'snapshot', 'kind', 'reason', 'by']);
    if (extra.length) throw new ConfigError(`--list takes no ${extra.join(', ')}`);
    return 'list';
  }
  if (flags.revoke !== undefined) {
    const extra = given(['path', 'snapshot', 'kind']);
    if (extra.length)
      throw new ConfigError(`--revoke takes no ${extra.join(', ')}: it revokes the whole acceptance`);
    return 'revoke';
  }
  if (flags.path === undefined)
    throw new ConfigError('--path GLOB is required: which findings to accept (`**` for all; see --help)');
  if (flags.reason === undefined)
    throw new ConfigError(
      '--reason TEXT is required: why these findings are harmless, for whoever reads the evidence later',
    );
  return 'accept';
}

export function registerAccept(program: Command): void {
  program
    .command('accept')
    .description(
      'accept findings as known and harmless (signed); they stay listed but stop counting; --list, --revoke ID',
    )
    .argument('<set>', 'set name from the policy')
    .option(
      '--path <glob>',
      'findings whose path matches this glob (`**`: all, including findings about a whole snapshot)',
    )
    .option(
      '--snapshot <id>',
      'only in this snapshot (default: this content at these paths in every snapshot)',
    )
    .option('--kind <kind>', `only findings of this kind (${FINDING_KINDS.join(', ')})`)
    .option('--reason <text>', 'why the findings are harmless (required to accept; optional for --revoke)')
    .option('--by <who>', 'who accepts or revokes (default: the OS user, user@host)')
    .option('--list', "list the set's acceptances: who, when, why, what they cover now")
    .option(
      '--revoke <id>',
      'revoke acceptance ID: its findings count again; a snapshot it had made clean counts as newly not clean (VouchNewCompromise fires again)',
    )
    .addHelpText(
      'after',
      `
An acceptance covers the selected findings' content: without --snapshot, the same bytes at the same
path in every snapshot, earlier or later; a file that changes again is judged again. Findings with
no content (a missing file, a finding about a whole snapshot) are covered in the snapshots they were
seen in. Read errors are never accepted. Run \`vouch scan\` first; only findings the index lists (the
first 1000 per snapshot) can be accepted.

Exit codes: 0 done; 1 runtime error (e.g. a scan holds the state directory); 2 usage error: unknown
set, snapshot or kind, an empty --reason, a selection that matches no finding left to accept, or an
id that is not an acceptance in force of the set.`,
    )
    .action(async (set: string, flags: AcceptFlags, command: Command) => {
      const options = globalOptions(command);
      const policy = await loadConfiguredPolicy(options);
      const [setPolicy] = selectSets(policy, [set]);
      const stateDir = resolveStateDir(options, policy);
      const mode = checkFlags(flags);
      const by = flags.by ?? currentUser();
      if (mode === 'list') {
        const document = await readAcceptanceList(stateDir, set);
        if (options.json) printJson(document);
        else printLines(listText(document));
      } else if (mode === 'revoke') {
        const result = await revokeAcceptance({
          stateDir,
          set: setPolicy!,
          id: flags.revoke!,
          by,
          ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
        });
        if (options.json) printJson(result);
        else printLines(revokeText(result));
      } else {
        const result = await acceptFindings({
          stateDir,
          set: setPolicy!,
          path: flags.path!,
          reason: flags.reason!,
          by,
          ...(flags.kind !== undefined ? { kind: flags.kind } : {}),
          ...(flags.snapshot !== undefined ? { snapshot: flags.snapshot } : {}),
        });
        if (options.json) printJson(result);
        else printLines(acceptText(result));
      }
      process.exitCode = EXIT.ok;
    });
}
