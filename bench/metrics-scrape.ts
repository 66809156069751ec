/**
 * `npm run bench:metrics`: how long a Prometheus scrape of `vouch serve` takes on a large state
 * directory, and the memory it needs. Every scrape re-reads the per-set state files; the evidence
 * chain is re-verified only when the ledger changed, so three cases are timed: a scrape after the
 * ledger grew (chain replay), a steady-state scrape, and the per-set state read alone.
 *
 * Size: VOUCH_BENCH_SETS sets (default 50) × VOUCH_BENCH_SNAPSHOTS snapshots (default 400), each
 * with a few findings, and a ledger of one record per snapshot scan per day for 30 days.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { validatePolicy } from '../agent/config/load-policy.js';
import { nextRecord, type LedgerRecord } from '../agent/ledger/ledger-record.js';
import { evidenceStatus } from '../agent/estate/evidence-status.js';
import { loadEstateView } from '../agent/estate/estate-view.js';
import { createMetricsRegistry } from '../agent/metrics/metrics.js';
import type { SetIndex } from '../agent/model/snapshot-state.js';

const SETS = Number(process.env.VOUCH_BENCH_SETS ?? 50);
const SNAPSHOTS = Number(process.env.VOUCH_BENCH_SNAPSHOTS ?? 400);
const DAYS = 30;
const RUNS = Number(process.env.VOUCH_BENCH_RUNS ?? 15);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const state = mkdtempSync(path.join(tmpdir(), 'vouch-bench-metrics-'));
try {
  const names = Array.from({ length: SETS }, (_, i) => `set-${i}`);
  mkdirSync(path.join(state, 'sets'), { recursive: true });
  mkdirSync(path.join(state, 'ledger'), { recursive: true });
  const now = Date.now();
  for (const name of names) {
    const index: SetIndex = { set: name, updatedAt: new Date(now).toISOString(), snapshots: {} };
    for (let s = 0; s < SNAPSHOTS; s++) {
      const id = `${name}-${s}`;
      const drifted = s % 97 === 0;
      index.snapshots[id] = {
        id,
        time: new Date(now - (SNAPSHOTS - s) * 3_600_000).toISOString(),
        verdict: drifted ? 'compromised' : 'clean',
        complete: true,
        entries: 1200,
        bytes: 50_000_000,
        findings: drifted
          ? Array.from({ length: 20 }, (_, f) => ({
              kind: 'drift-modified' as const,
              path: `db/table-${f}.sql`,
              severity: 'critical' as const,
              detail: 'digest changed',
            }))
          : [],
        findingCounts: drifted ? { 'drift-modified': 20 } : {},
        lastScan: new Date(now).toISOString(),
      };
    }
    writeFileSync(path.join(state, 'sets', `${name}.json`), JSON.stringify(index, null, 1));
  }
  let head: { seq: number; hash: string } | null = null;
  const ledgerFile = path.join(state, 'ledger', '00000001.ndjson');
  const lines: string[] = [];
  for (let day = 0; day < DAYS; day++) {
    for (const name of names) {
      for (let s = 0; s < SNAPSHOTS; s += 10) {
        const record: LedgerRecord = nextRecord(head, 'snapshot-scan', {
          set: name,
          snapshot: `${name}-${s}`,
          deep: false,
          verdict: 'clean',
          entries: 1200,
          bytes: 50_000_000,
          findingCounts: {},
        });
        head = { seq: record.seq, hash: record.hash };
        lines.push(JSON.stringify(record));
      }
    }
  }
  writeFileSync(ledgerFile, `${lines.join('\n')}\n`);
  const records = lines.length;
  lines.length = 0;

  const policy = validatePolicy(
    {
      sets: Object.fromEntries(
        names.map((name) => [
          name,
          {
            source: { fs: { path: '/nonexistent' } },
            snapshots: { layout: 'archive' },
            targets: { rpo: '24h', rto: '2h' },
            schedule: { scan: '0 * * * *', drill: '30 3 * * 0' },
          },
        ]),
      ),
    },
    'bench policy',
    state,
  );
  const registry = createMetricsRegistry({
    estate: () => loadEstateView(policy, state),
    scheduler: () => ({ tasks: [], running: 0, queued: 0 }),
    daemon: () => ({ reloads: 0, reloadFailures: 0, lastReloadSuccess: 0 }),
  });
  const scrape = async () => {
    const started = performance.now();
    const text = await registry.metrics();
    return { ms: performance.now() - started, bytes: text.length };
  };
  const grown: number[] = [];
  const steady: number[] = [];
  const stateOnly: number[] = [];
  const verify: number[] = [];
  let bytes = 0;
  const nextScrapeWindow = () => new Promise((resolve) => setTimeout(resolve, 1100));
  await scrape(); // the first call verifies the whole chain before answering
  for (let run = 0; run < RUNS; run++) {
    const record: LedgerRecord = nextRecord(head, 'scan-run', { sets: [] });
    head = { seq: record.seq, hash: record.hash };
    appendFileSync(ledgerFile, `${JSON.stringify(record)}\n`);
    await nextScrapeWindow();
    grown.push((await scrape()).ms); // answers from the previous verification, starts a new one
    let started = performance.now();
    await evidenceStatus(state, { fresh: true });
    verify.push(performance.now() - started);
    await nextScrapeWindow();
    const warm = await scrape();
    steady.push(warm.ms);
    bytes = warm.bytes;
    started = performance.now();
    await loadEstateView(policy, state);
    stateOnly.push(performance.now() - started);
  }
  console.log(
    `state: ${SETS} sets × ${SNAPSHOTS} snapshots, ledger ${records} records; /metrics body ${(bytes / 1024).toFixed(0)} KiB; ${RUNS} runs`,
  );
  console.log(`scrape, ledger unchanged:             median ${median(steady).toFixed(0)} ms`);
  console.log(
    `scrape right after the ledger grew:   median ${median(grown).toFixed(0)} ms (chain re-verified in the background)`,
  );
  console.log(`background chain re-verification:     median ${median(verify).toFixed(0)} ms`);
  console.log(
    `estate read alone (all sets' state):  median ${median(stateOnly).toFixed(0)} ms (scrape / estate read ${(median(steady) / median(stateOnly)).toFixed(2)})`,
  );
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  rmSync(state, { recursive: true, force: true });
}
