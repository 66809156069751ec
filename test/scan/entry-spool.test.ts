import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { EntrySpool } from '../../agent/scan/entry-spool.js';
import type { ManifestEntry } from '../../agent/model/manifest.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Entries with pseudo-random paths (a fixed sequence), some sharing directories, some with long lines. */
function entries(count: number): ManifestEntry[] {
  let x = 12345;
  return Array.from({ length: count }, (_, i): ManifestEntry => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return {
      path: `d${x % 17}/sub${x % 5}/f${x}-${i}`,
      type: 'file',
      size: i,
      digest: x.toString(16).padStart(64, '0'),
      ...(i % 7 === 0 ? { linkTarget: 'é'.repeat(i % 300) } : {}),
    };
  });
}

describe('entry spool', () => {
  it('a run it cannot write is a clear error naming the file when the entries are asked for, never an unhandled rejection', async () => {
    const tempRoot = mkdtempSync(path.join(tmpdir(), 'vouch-spool-'));
    dirs.push(tempRoot);
    // A file where the spool's folder would go: every run fails to be written (as on a full disk).
    const blocked = path.join(tempRoot, 'not-a-folder');
    writeFileSync(blocked, '');
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      const spool = new EntrySpool(blocked, 100);
      // One failed spill and nothing after it that waits for it — until sorted().
      for (const entry of entries(150)) await spool.add(entry);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      const reading = (async () => {
        for await (const entry of spool.sorted()) void entry;
      })();
      await expect(reading).rejects.toThrow(/cannot write the scan's entry spool .*not-a-folder.*run-00000/);
      await spool.dispose();
    } finally {
      process.off('unhandledRejection', note);
    }
  });

  it('gives back every entry in path order after spilling sorted runs to gzip NDJSON files', async () => {
    const tempRoot = mkdtempSync(path.join(tmpdir(), 'vouch-spool-'));
    dirs.push(tempRoot);
    const spool = new EntrySpool(tempRoot, 1000);
    const added = entries(4_321);
    for (const entry of added) await spool.add(entry);

    const sorted: ManifestEntry[] = [];
    for await (const entry of spool.sorted()) sorted.push(entry);
    const expected = [...added].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    expect(sorted).toEqual(expected);
    // sorted() waited for the last run's write.
    const [spoolDir] = readdirSync(tempRoot);
    const runs = readdirSync(path.join(tempRoot, spoolDir!)).sort();
    expect(runs).toHaveLength(4);
    // Each run is whole gzip NDJSON of its 1000 entries, sorted by path.
    const firstRun = gunzipSync(readFileSync(path.join(tempRoot, spoolDir!, runs[0]!)))
      .toString('utf8')
      .split('\n');
    expect(firstRun.pop()).toBe('');
    expect(firstRun).toHaveLength(1000);
    const runPaths = firstRun.map((line) => (JSON.parse(line) as ManifestEntry).path);
    expect(runPaths).toEqual([...runPaths].sort());

    await spool.dispose();
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it('keeps a snapshot smaller than one run in memory, writing no file', async () => {
    const tempRoot = mkdtempSync(path.join(tmpdir(), 'vouch-spool-'));
    dirs.push(tempRoot);
    const spool = new EntrySpool(tempRoot, 1000);
    const added = entries(999);
    for (const entry of added) await spool.add(entry);
    expect(readdirSync(tempRoot)).toEqual([]);
    const sorted: string[] = [];
    for await (const entry of spool.sorted()) sorted.push(entry.path);
    expect(sorted).toEqual(added.map((entry) => entry.path).sort());
  });
});
