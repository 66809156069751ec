/**
 * The `/metrics` exposition over a fixed state directory at a fixed instant is byte-for-byte the
 * recorded one (`exposition.golden.txt`): names, HELP, TYPE, order, labels and values of every
 * `vouch_*` family, and the order of the Node.js process families around them. Refactors of
 * agent/metrics/ must leave it unchanged; a deliberate change of a metric updates the golden file
 * (`npx vitest run test/metrics/exposition.test.ts -u`) in the same commit, for review.
 *
 * The state covers every branch a metric reads: a set with snapshots of each verdict, counting and
 * accepted findings, store findings, scan durations, passed and failed drills, an immutability
 * audit, schedules, sampling and targets; a set never scanned; a set whose index is unreadable; a
 * data set of three copies; an evidence chain reported broken.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { Policy } from '../../agent/config/resolve-policy.js';
import { loadEstateView } from '../../agent/estate/estate-view.js';
import { createMetricsRegistry } from '../../agent/metrics/metrics.js';
import type { DrillResult } from '../../agent/model/drill.js';
import type { Finding } from '../../agent/model/findings.js';
import type { ImmutabilityAudit } from '../../agent/model/immutability.js';
import type { SetIndex, SnapshotState } from '../../agent/model/snapshot-state.js';
import type { ScanStatus } from '../../agent/state/scan-status.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const iso = (hoursBefore: number) => new Date(NOW.getTime() - hoursBefore * 3_600_000).toISOString();

let state: string;
let policy: Policy;

function write(relative: string, value: unknown): void {
  const file = path.join(state, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 1)}\n`);
}

const finding = (kind: Finding['kind'], extra: Partial<Finding> = {}): Finding => ({
  kind,
  path: `p/${kind}`,
  severity: 'critical',
  detail: kind,
  ...extra,
});
const accepted = { id: 7, by: 'ops', at: iso(5), reason: 'known' };

function snapshot(id: string, hoursBefore: number, extra: Partial<SnapshotState>): SnapshotState {
  return {
    id,
    time: iso(hoursBefore),
    verdict: 'clean',
    complete: true,
    entries: 10,
    bytes: 1000 + hoursBefore,
    findings: [],
    findingCounts: {},
    lastScan: iso(1),
    ...extra,
  };
}

function drill(id: string, hoursBefore: number, outcome: DrillResult['outcome'], snap: string): DrillResult {
  return {
    id,
    set: 'orders',
    snapshot: snap,
    snapshotTime: iso(hoursBefore + 2),
    pick: 'last-clean',
    startedAt: iso(hoursBefore + 0.5),
    finishedAt: iso(hoursBefore),
    outcome,
    phases: { fetch: 12.5, extract: 30, verify: 4.25, app: 61 },
    durationSeconds: 107.75,
    rtoTargetSeconds: 7200,
    withinRto: true,
    sample: { fraction: 0.1, entries: 5, bytes: 400 },
    projectedFullRestoreSeconds: 900,
    failures: outcome === 'passed' ? [] : [{ verifier: 'pg', detail: 'restore failed' }],
  };
}

beforeAll(() => {
  state = mkdtempSync(path.join(tmpdir(), 'vouch-exposition-'));
  const index: SetIndex = {
    set: 'orders',
    updatedAt: iso(1),
    snapshots: {
      a: snapshot('a', 50, { lastVerified: iso(40) }),
      b: snapshot('b', 26, { complete: true, lastDeepScan: iso(20) }),
      c: snapshot('c', 2, {
        verdict: 'compromised',
        findings: [finding('encrypted'), finding('ransom-note', { accepted })],
        findingCounts: { encrypted: 3, 'ransom-note': 1 },
        acceptedCounts: { 'ransom-note': 1 },
        notCleanSince: iso(1.5),
        object: { key: 'c.tar.gz', size: 4096, mtime: iso(2) },
      }),
      d: snapshot('d', 1, { verdict: 'suspicious', complete: false, notCleanSince: iso(0.75) }),
    },
    setFindings: [
      finding('snapshot-removed'),
      finding('snapshot-removed'),
      finding('snapshot-replaced', { accepted }),
      finding('foreign-object'),
    ],
  };
  write('sets/orders.json', index);
  const scan: ScanStatus = {
    set: 'orders',
    lastSuccess: iso(1),
    lastAttempt: iso(0.5),
    lastError: 'listing failed',
    runs: 40,
    failures: 3,
    scannedBytesTotal: 123_456_789,
    transientFaultsTotal: 9,
    readFailuresTotal: 2,
    snapshotsFound: 4,
    durations: {
      counts: [1, 5, 20, 30, 31, 32, 32, 32, 32, 32, 32],
      count: 33,
      sum: 5432.5,
    },
  };
  write('scans/orders.json', scan);
  write('drills/orders.json', {
    set: 'orders',
    updatedAt: iso(3),
    drills: [drill('d1', 30, 'passed', 'a'), drill('d2', 20, 'passed', 'b'), drill('d3', 3, 'failed', 'b')],
  });
  const audit: ImmutabilityAudit = {
    set: 'orders',
    kind: 's3',
    auditedAt: iso(4),
    ok: true,
    protected: true,
    checks: [],
    findings: [],
    objectsSampled: 4,
    objectsTotal: 4,
    retentionRemainingSeconds: 2_500_000,
    newestCopyAgeSeconds: 3600,
  };
  write('immutability/orders.json', audit);
  write('scans/quiet.json', { ...scan, set: 'quiet', runs: 1, failures: 0, snapshotsFound: 0 });
  write('sets/quiet.json', { set: 'quiet', updatedAt: iso(1), snapshots: {} });
  mkdirSync(path.join(state, 'sets'), { recursive: true });
  writeFileSync(path.join(state, 'sets', 'broken.json'), '{ not json');
  policy = validatePolicy(
    {
      sets: {
        orders: {
          source: { fs: { path: '/nonexistent/orders' } },
          snapshots: { layout: 'archive' },
          integrity: { sample: { window: '30d', dailyBytes: '200GiB' } },
          targets: { rpo: '24h', rto: '2h' },
          schedule: { scan: '0 * * * *', drill: '30 3 * * 0', timezone: 'UTC' },
          drill: { pick: 'last-clean', maxAge: '8d' },
          immutability: { maxAge: '8d' },
          storage: { media: 'object-storage', offsite: true },
        },
        quiet: {
          source: { fs: { path: '/nonexistent/quiet' } },
          snapshots: { layout: 'directory' },
          schedule: { scan: '15 6 * * *', timezone: 'UTC' },
          storage: { media: 'disk' },
        },
        broken: {
          source: { fs: { path: '/nonexistent/broken' } },
          snapshots: { layout: 'archive' },
          targets: { rpo: '12h' },
          storage: { media: 'tape' },
        },
      },
      datasets: { orders: { copies: ['orders', 'quiet', 'broken'] } },
    },
    'exposition policy',
    state,
  );
});

afterAll(() => rmSync(state, { recursive: true, force: true }));

/** The exposition with the host's process metrics reduced to their names (their values vary). */
async function exposition(): Promise<string> {
  const registry = createMetricsRegistry({
    estate: () =>
      loadEstateView(policy, state, NOW, {
        ok: false,
        records: 41,
        firstBad: { seq: 42, problem: 'hash mismatch' },
        keyFingerprints: ['ab12'],
      }),
    scheduler: () => ({
      tasks: [
        { set: 'orders', task: 'scan', counters: { runs: 12, failures: 1, overlaps: 2, missed: 3 } },
        { set: 'orders', task: 'drill', counters: { runs: 2, failures: 1, overlaps: 0, missed: 0 } },
      ],
      running: 1,
      queued: 2,
    }),
    daemon: () => ({ reloads: 4, reloadFailures: 1, lastReloadSuccess: NOW.getTime() / 1000 - 60 }),
  });
  await registry.metrics(); // the drill tally counts from the second scrape on as it did the first
  const text = await registry.metrics();
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    const name = /^(?:# (?:HELP|TYPE) )?([a-z_:][a-z0-9_:]*)/i.exec(line)?.[1] ?? '';
    if (name.startsWith('vouch_'))
      lines.push(line.replace(`nodejs="${process.versions.node}"`, 'nodejs="NODE_VERSION"'));
    else if (line.startsWith('# TYPE ')) lines.push(`# (process metric) ${name}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('the /metrics exposition', () => {
  it('is byte-identical to the recorded one over a fixed state at a fixed instant', async () => {
    await expect(await exposition()).toMatchFileSnapshot('exposition.golden.txt');
  });

  it('is the same on every scrape of a registry (no metric depends on scrape order)', async () => {
    expect(await exposition()).toBe(await exposition());
  });
});
