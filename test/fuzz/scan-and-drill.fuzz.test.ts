/**
 * Fuzzing the whole pipeline on damaged and hostile archives: a scan of the archive, then a
 * restore drill of it. Neither ever throws or hangs; the scan's verdict is never `clean` for an
 * archive it could not read completely; and the drill writes nothing outside its own directory —
 * a canary folder next to the state, which hostile names aim at, stays untouched, and the drill
 * directory is gone afterwards.
 */
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { buildArchive, damagedArchive, mutate, withinTime } from '../helpers/fuzz-archives.js';
import { fuzzParameters } from '../helpers/fuzz.js';
import { listTree } from '../helpers/drill-fixtures.js';

let root: string;
let canary: string;
let canaryBefore: string[];
let run = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-fuzz-pipeline-'));
  canary = path.join(root, 'canary');
  await mkdir(canary);
  await writeFile(path.join(canary, 'keep.txt'), 'untouched\n');
  canaryBefore = await listTree(canary);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The runs of the property; `npm run fuzz` raises them. */
const PARAMETERS = fuzzParameters(40);
/**
 * Time for the whole property: about 1.5 s a run on an idle two-core machine, so 6 s a run leaves
 * room for a loaded one (test files run side by side); a hang is caught per run by withinTime.
 */
const timeout = PARAMETERS.numRuns * 6_000;

describe('scan and drill on damaged and hostile archives (fuzz)', { timeout }, () => {
  it('never crash or hang, never call an unread archive clean, and never write outside the drill directory', async () => {
    await fc.assert(
      fc.asyncProperty(damagedArchive, async ({ format, members, mutations }) => {
        const dir = path.join(root, `run-${++run}`);
        const volume = path.join(dir, 'volume');
        const state = path.join(dir, 'state');
        await mkdir(volume, { recursive: true });
        await writeFile(
          path.join(volume, `orders-20251019.${format}`),
          mutate(await buildArchive(format, members), mutations),
        );
        const policy = validatePolicy(
          {
            sets: {
              orders: {
                source: { fs: { path: volume } },
                snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8})\\.' },
                limits: { maxEntries: 10_000, maxTotalBytes: '64MiB', maxEntryBytes: '16MiB' },
                drill: { pick: 'latest', sandbox: 'none' },
              },
            },
          },
          'fuzz policy',
          dir,
        );
        const report = await withinTime(
          runScan(policy, { stateDir: state }),
          20_000,
          `scanning a damaged ${format}`,
        );
        const set = report.sets[0]!;
        expect(set.error).toBeUndefined();
        const snapshot = set.snapshots[0]!;
        if (!snapshot.complete) expect(snapshot.verdict).not.toBe('clean');

        const drill = await withinTime(
          runDrillReport(policy.sets[0]!, { stateDir: state, snapshot: 'latest' }),
          20_000,
          `drilling a damaged ${format}`,
        );
        expect(['passed', 'failed']).toContain(drill.outcome);
        if (!snapshot.complete) expect(drill.outcome).toBe('failed');
        expect(await listTree(canary)).toEqual(canaryBefore);
        expect(await readdir(path.join(state, 'drills', 'work')).catch(() => [])).toEqual([]);
        // Nothing appeared beside the volume and the state (absolute and ../ names aim there).
        expect((await readdir(dir)).sort()).toEqual(['state', 'volume']);
        expect(existsSync('/etc/vouch-fuzz-absolute')).toBe(false);
        await rm(dir, { recursive: true, force: true });
      }),
      PARAMETERS,
    );
  });
});
