/** `vouch alert-rules [--runbook-url BASE]`: prints the shipped Prometheus alert rules, runbook links pointed at BASE. */
import type { Command } from 'commander';
import { shippedAlertRules, withRunbookBase } from '../metrics/alert-rules.js';

/** Registers `alert-rules`. */
export function registerAlertRules(program: Command): void {
  program
    .command('alert-rules')
    .description(
      'print the Prometheus alert rules for vouch (dashboards/vouch-alerts.yml), runbook links pointed where you publish the runbook',
    )
    .option(
      '--runbook-url <url>',
      'absolute URL of the published dashboards/RUNBOOK.md; each rule links URL#ANCHOR (default: RUNBOOK.md#ANCHOR, relative)',
    )
    .addHelpText(
      'after',
      '\nExample: vouch alert-rules --runbook-url https://wiki.example.com/ops/vouch-runbook > /etc/prometheus/vouch-alerts.yml',
    )
    .action(async (flags: { runbookUrl?: string }) => {
      const rules = await shippedAlertRules();
      process.stdout.write(flags.runbookUrl ? withRunbookBase(rules, flags.runbookUrl) : rules);
    });
}
