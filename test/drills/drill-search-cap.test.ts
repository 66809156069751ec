/**
 * `vouch drill --search --max N`: a set of many clean snapshots that do not restore does not run a
 * drill per snapshot. The search stops after N drills (default 5), says how many candidates are
 * left undrilled and the command that continues, and exits 3; the next search skips the ones
 * whose drill just failed and goes on. Real archives on disk; the drills fail because the store
 * fails every read during the first search (a source wrapper that refuses reads: a disk that went
 * away), which is a real failed drill, recorded like any other.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { drillSearchExitCode } from '../../agent/cli/drill.js';
import { drillSearchText } from '../../agent/cli/drill-report-text.js';
import { ConfigError, SourceError } from '../../agent/errors.js';
import { DEFAULT_SEARCH_MAX, parseSearchMax, runDrillSearch } from '../../agent/drills/drill-search.js';
import { runScan } from '../../agent/scan/scan-run.js';
import type { BackupSource } from '../../agent/sources/backup-source.js';
import { createFsSource } from '../../agent/sources/fs-source.js';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { drillFixture, drillSet, policyOf } from '../helpers/drill-fixtures.js';
import { runCli } from '../helpers/cli.js';

/** The volume as a store whose reads all fail (the listing still works). */
function unreadable(volume: string): BackupSource {
  const source = createFsSource(volume);
  return {
    location: source.location,
    list: (prefix) => source.list(prefix),
    async open(key) {
      throw new SourceError(source.location, key, 'read failed: EIO (the disk went away)', true);
    },
    close: () => source.close(),
  };
}

describe('drill --search cap', () => {
  it('stops after --max drills with candidates left, says how many and how to continue, exit 3; the next search goes on', async () => {
    const fixture = await drillFixture('vouch-search-cap-');
    const days = Array.from({ length: 8 }, (_, i) => i + 1);
    for (const day of days)
      await writeFile(
        path.join(fixture.volume, `orders-202611${String(day).padStart(2, '0')}.tar.gz`),
        await buildTarGz(sampleFiles(day)),
      );
    const set = drillSet(fixture, { drill: { pick: 'last-clean' } });
    const scan = await runScan(policyOf(set), { stateDir: fixture.state });
    expect(scan.sets[0]!.snapshots.every((snapshot) => snapshot.verdict === 'clean')).toBe(true);
    const newestFirst = days.map((day) => `orders-202611${String(day).padStart(2, '0')}`).reverse();

    const capped = await runDrillSearch(set, {
      stateDir: fixture.state,
      createSource: () => unreadable(fixture.volume),
    });
    expect(capped.max).toBe(DEFAULT_SEARCH_MAX);
    expect(capped.drills.map((drill) => [drill.snapshot, drill.outcome])).toEqual(
      newestFirst.slice(0, 5).map((id) => [id, 'failed']),
    );
    expect(capped.found).toBeNull();
    expect(capped.capped).toEqual({
      undrilled: 3,
      next: newestFirst.slice(5),
      continueWith: 'vouch drill orders --search',
    });
    expect(drillSearchExitCode(capped)).toBe(3);
    const text = drillSearchText(capped).join('\n');
    expect(text).toContain(
      `STOPPED after 5 drills (--max 5): 3 clean candidates left undrilled (${newestFirst.slice(5).join(', ')})`,
    );
    expect(text).toContain('continue with: vouch drill orders --search');
    expect((await readDrillIndex(fixture.state, 'orders')).drills).toHaveLength(5);

    // The store is back: the next search skips the five that failed and drills the rest, at most --max 2.
    const next = await runDrillSearch(set, { stateDir: fixture.state, max: 2 });
    expect(next.skipped.map((skipped) => skipped.id)).toEqual(newestFirst.slice(0, 5));
    expect(next.drills.map((drill) => [drill.snapshot, drill.outcome])).toEqual([[newestFirst[5], 'passed']]);
    expect(next).toMatchObject({ found: newestFirst[5], max: 2 });
    expect(next.capped).toBeUndefined();
    expect(drillSearchExitCode(next)).toBe(0);
  });

  it('--max takes a whole number ≥ 1; anything else, or --max without --search, is a usage error (exit 2)', async () => {
    expect(parseSearchMax('12')).toBe(12);
    for (const bad of ['0', '-1', '2.5', 'lots', '']) expect(() => parseSearchMax(bad)).toThrow(ConfigError);
    const fixture = await drillFixture('vouch-search-cap-cli-');
    const config = path.join(fixture.root, 'vouch.yaml');
    await writeFile(
      config,
      JSON.stringify({
        state: fixture.state,
        sets: { orders: { source: { fs: { path: fixture.volume } }, snapshots: { layout: 'archive' } } },
      }),
    );
    const zero = await runCli(['--config', config, 'drill', 'orders', '--search', '--max', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--max: expected a whole number of drills ≥ 1, got "0"');
    const alone = await runCli(['--config', config, 'drill', 'orders', '--max', '3']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--max caps a --search');
  });
});
