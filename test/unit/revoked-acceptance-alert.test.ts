/**
 * A revoked acceptance is new damage as far as alerts go: when `vouch accept` cleared a
 * compromised snapshot and the acceptance is revoked, the snapshot counts as newly not clean —
 * `vouch_newest_compromise_timestamp_seconds` moves to the revocation, so VouchNewCompromise
 * (`time() - vouch_newest_compromise_timestamp_seconds < 86400`) fires again even though the
 * damage was first found days earlier. Real scans of a real archive on disk, the real metrics
 * registry; the alert expression is evaluated on the calendar clock (and run by promtool in
 * dashboards/vouch-alerts.test.yml).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nowMs } from '../../agent/clock.js';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { Policy } from '../../agent/config/resolve-policy.js';
import { loadEstateView } from '../../agent/estate/estate-view.js';
import { createMetricsRegistry } from '../../agent/metrics/metrics.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { acceptFindings } from '../../agent/triage/accept-findings.js';
import { revokeAcceptance } from '../../agent/triage/revoke-acceptance.js';
import { rejudgeSet } from '../../agent/triage/rejudge-set.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';

const DAY = 86_400_000;

async function compromiseGauge(policy: Policy, state: string): Promise<number | null> {
  const registry = createMetricsRegistry({
    estate: () => loadEstateView(policy, state),
    scheduler: () => ({ tasks: [], running: 0, queued: 0 }),
    daemon: () => ({ reloads: 0, reloadFailures: 0, lastReloadSuccess: 0 }),
  });
  const value = /^vouch_newest_compromise_timestamp_seconds\{set="orders"\} (\S+)$/m.exec(
    await registry.metrics(),
  )?.[1];
  return value === undefined ? null : Number(value);
}

/** VouchNewCompromise's expression at the calendar clock's now: the series exists and is less than a day old. */
const newCompromiseFires = (gauge: number | null) => gauge !== null && nowMs() / 1000 - gauge < 86_400;

describe('a revoked acceptance re-fires VouchNewCompromise', () => {
  it('moves the newest-compromise time to the revocation, so the alert fires again for damage first found days ago', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'vouch-revoke-alert-'));
    const volume = path.join(root, 'volume');
    const state = path.join(root, 'state');
    await mkdir(volume);
    await writeFile(path.join(volume, 'orders-20261101.tar.gz'), await buildTarGz(sampleFiles(1)));
    const policy = validatePolicy(
      {
        sets: {
          orders: {
            source: { fs: { path: volume } },
            snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8})\\.tar\\.gz$' },
          },
        },
      },
      'test',
      root,
    );
    const set = policy.sets[0]!;

    // Baselined four days ago; rewritten and found compromised three days ago.
    await runScan(policy, { stateDir: state, now: () => new Date(nowMs() - 4 * DAY) });
    await writeFile(path.join(volume, 'orders-20261101.tar.gz'), await buildTarGz(sampleFiles(2)));
    await runScan(policy, { stateDir: state, now: () => new Date(nowMs() - 3 * DAY) });
    const hit = (await readSetIndex(state, 'orders')).snapshots['orders-20261101']!;
    expect(hit.verdict).toBe('compromised');
    const found = await compromiseGauge(policy, state);
    expect(found).toBeCloseTo((nowMs() - 3 * DAY) / 1000, -2);
    expect(newCompromiseFires(found)).toBe(false); // old damage: the alert has stopped

    const accepted = await acceptFindings({
      stateDir: state,
      set,
      path: '**',
      reason: 'IR-7: rewritten by the restore test, not an attack',
      by: 'alice',
    });
    expect(accepted.verdicts).toEqual([{ snapshot: 'orders-20261101', from: 'compromised', to: 'clean' }]);
    expect((await readSetIndex(state, 'orders')).snapshots['orders-20261101']!.notCleanSince).toBeUndefined();
    expect(await compromiseGauge(policy, state)).toBeNull();

    const revokedAt = nowMs();
    await revokeAcceptance({
      stateDir: state,
      set,
      id: String(accepted.acceptance.id),
      by: 'bob',
      reason: 'IR-7 was wrong: nobody ran a restore test',
    });
    const again = (await readSetIndex(state, 'orders')).snapshots['orders-20261101']!;
    expect(again.verdict).toBe('compromised');
    expect(Date.parse(again.notCleanSince!)).toBeGreaterThanOrEqual(revokedAt - 1000);
    const refired = await compromiseGauge(policy, state);
    expect(refired).toBeGreaterThan(found! + 2 * 86_400);
    expect(newCompromiseFires(refired)).toBe(true);
  });

  it('rejudging without a time (previews) leaves notCleanSince alone; with one it follows the verdict', () => {
    const index = {
      set: 'orders',
      updatedAt: '2026-01-01T00:00:00Z',
      snapshots: {
        s1: {
          id: 's1',
          time: '2026-01-01T00:00:00Z',
          verdict: 'clean' as const,
          verdictBeforeAcceptance: 'compromised' as const,
          complete: true,
          entries: 1,
          bytes: 1,
          findings: [
            {
              kind: 'drift-modified' as const,
              path: 'a.csv',
              severity: 'critical' as const,
              detail: 'changed',
            },
          ],
          findingCounts: { 'drift-modified': 1 },
          lastScan: '2026-01-02T00:00:00Z',
        },
      },
    };
    const at = new Date('2026-02-01T00:00:00Z');
    expect(
      rejudgeSet(index, [], { files: 10, fraction: 0.1 }).index.snapshots.s1!.notCleanSince,
    ).toBeUndefined();
    const judged = rejudgeSet(index, [], { files: 10, fraction: 0.1 }, at).index.snapshots.s1!;
    expect(judged).toMatchObject({ verdict: 'compromised', notCleanSince: at.toISOString() });
  });
});
