import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withRunbookBase } from '../../agent/metrics/alert-rules.js';
import { runCli } from '../helpers/cli.js';
import { exportedMetricNames, vouchMetricsIn } from '../helpers/metrics-names.js';

const run = promisify(execFile);
const RULES = 'dashboards/vouch-alerts.yml';
const RULE_TESTS = 'dashboards/vouch-alerts.test.yml';
const DASHBOARD = 'dashboards/vouch-dashboard.json';

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (group) => group.rules,
);

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', RULES]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('pass their promtool unit tests', async () => {
    const { stdout } = await run('promtool', ['test', 'rules', RULE_TESTS]);
    expect(stdout).toContain('SUCCESS');
  });

  it('have a unit test that expects every alert to fire', () => {
    const tests = (
      parse(readFileSync(RULE_TESTS, 'utf8')) as {
        tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests;
    const fired = new Set(
      tests.flatMap((test) =>
        test.alert_rule_test.filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname),
      ),
    );
    const quiet = new Set(
      tests.flatMap((test) =>
        test.alert_rule_test.filter((t) => t.exp_alerts.length === 0).map((t) => t.alertname),
      ),
    );
    for (const rule of rules) {
      expect(fired.has(rule.alert), `${rule.alert} fires in a test`).toBe(true);
      expect(quiet.has(rule.alert), `${rule.alert} stays quiet in a test`).toBe(true);
    }
  });

  it('cover the required conditions with CamelCase names, a severity and summary/description/runbook annotations', () => {
    const names = rules.map((rule) => rule.alert);
    for (const required of [
      'VouchNewCompromise',
      'VouchLastCleanMovedBack',
      'VouchSnapshotSuspicious',
      'VouchSnapshotUnverified',
      'VouchSnapshotsRemoved',
      'VouchSnapshotsReplaced',
      'VouchForeignObjects',
      'VouchScanFailing',
      'VouchScanStalled',
      'VouchSnapshotCompromised',
      'VouchHashDrift',
      'VouchDrillFailed',
      'VouchDrillOverdue',
      'VouchRPOBreached',
      'VouchRTOBreached',
      'VouchImmutabilityWeak',
      'VouchEvidenceChainBroken',
      'VouchVerificationOverdue',
      'VouchAgentDown',
      'VouchAgentAbsent',
    ]) {
      expect(names).toContain(required);
    }
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
      const anchor = rule.annotations!.runbook_url!.split('#')[1]!;
      expect(readFileSync('dashboards/RUNBOOK.md', 'utf8')).toContain(`## ${anchor}\n`);
    }
  });

  it('point their runbook links at an absolute base with `vouch alert-rules --runbook-url`, and still pass their unit tests', async () => {
    const base = 'https://wiki.example.com/ops/vouch-runbook';
    const printed = await runCli(['alert-rules', '--runbook-url', base]);
    expect(printed.code).toBe(0);
    const absolute = (parse(printed.stdout) as { groups: { rules: Rule[] }[] }).groups.flatMap(
      (group) => group.rules,
    );
    expect(absolute.map((rule) => rule.alert)).toEqual(rules.map((rule) => rule.alert));
    for (const rule of absolute)
      expect(rule.annotations!.runbook_url).toMatch(
        /^https:\/\/wiki\.example\.com\/ops\/vouch-runbook#[a-z0-9-]+$/,
      );
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-rules-'));
    await writeFile(path.join(dir, 'vouch-alerts.yml'), printed.stdout);
    await writeFile(
      path.join(dir, 'vouch-alerts.test.yml'),
      withRunbookBase(readFileSync(RULE_TESTS, 'utf8'), base),
    );
    const { stdout } = await run('promtool', ['test', 'rules', path.join(dir, 'vouch-alerts.test.yml')]);
    expect(stdout).toContain('SUCCESS');
    expect((await runCli(['alert-rules', '--runbook-url', 'RUNBOOK.md'])).code).toBe(2);
  });

  it('only name metrics the agent exports', async () => {
    const exported = await exportedMetricNames();
    for (const rule of rules)
      for (const name of vouchMetricsIn(rule.expr))
        expect(exported, `${rule.alert}: ${name}`).toContain(name);
  });
});

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
}

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    uid: string;
    __inputs?: unknown;
    templating: { list: { name: string; type: string; query: unknown }[] };
    panels: Panel[];
  };

  it('is ready for file provisioning: fixed uid, a datasource variable, no __inputs', () => {
    expect(dashboard.uid).toBe('vouch-backups');
    expect(dashboard.__inputs).toBeUndefined();
    expect(dashboard.templating.list.find((variable) => variable.name === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      for (const target of panel.targets ?? [])
        expect(target.datasource?.uid, panel.title).toBe('${datasource}');
    }
  });

  it('shows readiness, RPO, verdicts, findings, drill phases vs RTO and immutability', () => {
    const exprs = dashboard.panels
      .flatMap((panel) => (panel.targets ?? []).map((target) => target.expr))
      .join('\n');
    for (const metric of [
      'vouch_set_ready',
      'vouch_last_clean_snapshot_timestamp_seconds',
      'vouch_rpo_target_seconds',
      'vouch_snapshots',
      'vouch_findings',
      'vouch_drill_phase_duration_seconds',
      'vouch_rto_target_seconds',
      'vouch_immutability_ok',
    ]) {
      expect(exprs).toContain(metric);
    }
  });

  it('queries only metrics the agent exports, and every query names one', async () => {
    const exported = await exportedMetricNames();
    const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(panels.length).toBeGreaterThan(5);
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        const names = vouchMetricsIn(target.expr);
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) expect(exported, `${panel.title}: ${name}`).toContain(name);
      }
    }
  });
});
