/**
 * Sampled verification over simulated weeks of daily scans of a real set: unchanged snapshots
 * are re-read in a rotation, never more than the daily budget, every one within the window; new
 * and changed snapshots are always read; and the coverage metrics say so (parsed from real
 * /metrics text, linted by promtool).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { Policy } from '../../agent/config/resolve-policy.js';
import { loadEstateView } from '../../agent/estate/estate-view.js';
import { createMetricsRegistry } from '../../agent/metrics/metrics.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { parseMetrics } from '../helpers/serve.js';

const DAY = 86_400_000;
const START = Date.parse('2025-11-01T03:00:00Z');
const WINDOW_DAYS = 6;

let root: string;
let volume: string;
let state: string;
let policy: Policy;
let sizes: Map<string, number>;
let budget: number;

const at = (day: number) => new Date(START + day * DAY);
const scanOn = (day: number) => runScan(policy, { stateDir: state, now: () => at(day) });
const id = (n: number) => `orders-202510${String(10 + n).padStart(2, '0')}`;

async function writeSnapshot(n: number): Promise<void> {
  const file = path.join(volume, `${id(n)}.tar.gz`);
  await writeFile(file, await buildTarGz(sampleFiles(n)));
  sizes.set(id(n), (await stat(file)).size);
}

async function metricsAt(day: number): Promise<{ values: Map<string, number>; text: string }> {
  const registry = createMetricsRegistry({
    estate: () => loadEstateView(policy, state, at(day)),
    scheduler: () => ({ tasks: [], running: 0, queued: 0 }),
    daemon: () => ({ reloads: 0, reloadFailures: 0, lastReloadSuccess: 0 }),
  });
  const text = await registry.metrics();
  return { values: parseMetrics(text), text };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-sampled-'));
  volume = path.join(root, 'volume');
  state = path.join(root, 'state');
  await mkdir(volume);
  sizes = new Map();
  for (let n = 0; n < 8; n++) await writeSnapshot(n);
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  // Enough for a full cycle in about half the window: the plan paces itself, it need not use it all.
  budget = Math.ceil((total / WINDOW_DAYS) * 2.5);
  policy = validatePolicy(
    {
      sets: {
        orders: {
          source: { fs: { path: volume } },
          snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8})\\.tar\\.gz$' },
          integrity: { sample: { window: `${WINDOW_DAYS}d`, dailyBytes: budget } },
        },
      },
    },
    'test policy',
    root,
  );
});

const deepReads = (report: ScanReport) =>
  report.sets[0]!.snapshots.filter((s) => s.deep).map((s) => ({ id: s.id, reason: s.reason ?? '' }));

describe('sampled verification', () => {
  it('reads new snapshots in full, then re-reads unchanged ones in a rotation within the budget and the window', async () => {
    const first = await scanOn(0);
    expect(deepReads(first)).toHaveLength(8);
    expect(deepReads(first).every((read) => read.reason === 'no baseline yet')).toBe(true);

    const lastRead = new Map([...sizes.keys()].map((key) => [key, 0]));
    for (let day = 1; day <= 3 * WINDOW_DAYS; day++) {
      if (day === 4) await writeSnapshot(8); // a new nightly: read whatever the budget says
      if (day === 9) await utimes(path.join(volume, `${id(2)}.tar.gz`), at(day), at(day)); // touched: re-read as changed
      const report = await scanOn(day);
      expect(report.sets[0]!.error).toBeUndefined();
      expect(report.sets[0]!.snapshots.every((s) => s.verdict === 'clean')).toBe(true);
      const reads = deepReads(report);
      if (day === 4) expect(reads).toContainEqual({ id: id(8), reason: 'no baseline yet' });
      if (day === 9)
        expect(reads.find((read) => read.id === id(2))!.reason).toMatch(/^object changed \(modified /);
      const sampled = reads.filter((read) => read.reason.startsWith('sampled: '));
      expect(sampled.reduce((sum, read) => sum + sizes.get(read.id)!, 0)).toBeLessThanOrEqual(budget);
      expect(report.sets[0]!.sampling).toMatchObject({ feasible: true, overdue: 0, sampled: sampled.length });
      for (const read of reads) lastRead.set(read.id, day);
      for (const [snapshot, readOn] of lastRead)
        expect(day - readOn, `${snapshot} on day ${day}`).toBeLessThan(WINDOW_DAYS);
    }
    // Sampling read far less than re-reading everything daily would have.
    const index = await readSetIndex(state, 'orders');
    expect(Object.values(index.snapshots).every((snapshot) => snapshot.lastVerified !== undefined)).toBe(
      true,
    );
  });

  it('exports the window, the coverage and the oldest verified and never-verified byte ages (promtool-clean)', async () => {
    const day = 3 * WINDOW_DAYS;
    const { values, text } = await metricsAt(day);
    expect(values.get('vouch_verification_window_seconds{set="orders"}')).toBe(WINDOW_DAYS * 86_400);
    expect(values.get('vouch_verification_coverage_ratio{set="orders"}')).toBe(1);
    expect(values.get('vouch_verification_oldest_age_seconds{set="orders"}')).toBeLessThan(
      WINDOW_DAYS * 86_400,
    );
    expect(values.get('vouch_unverified_oldest_byte_age_seconds{set="orders"}')).toBe(0);
    expect(values.get('vouch_verification_daily_budget_bytes{set="orders"}')).toBe(budget);
    expect(values.get('vouch_source_retries_total{set="orders"}')).toBe(0);
    expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');

    // A snapshot that cannot be read completely is never verified: its age shows, coverage drops.
    await writeFile(
      path.join(volume, `${id(9)}.tar.gz`),
      (await buildTarGz(sampleFiles(9))).subarray(0, 200),
    );
    const later = day + 2;
    await scanOn(later);
    const after = await metricsAt(later + 0.5);
    const index = await readSetIndex(state, 'orders');
    const broken = index.snapshots[id(9)]!;
    expect(broken.verdict).toBe('unverified');
    expect(after.values.get('vouch_unverified_oldest_byte_age_seconds{set="orders"}')).toBe(
      (at(later + 0.5).getTime() - Date.parse(broken.time)) / 1000,
    );
    expect(after.values.get('vouch_verification_coverage_ratio{set="orders"}')).toBeLessThan(1);
  });
});
