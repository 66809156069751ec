/**
 * Crash safety of drills: the real CLI killed with SIGKILL while it restores and while its
 * sandbox runs, then started again. No sandbox process outlives it, the evidence verifies, the
 * killed drill is recorded as aborted (never passed) with the phase it died in, its directory is
 * removed, and the next drill does the work again and passes.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli, startCli } from '../helpers/cli.js';
import { drillFixture, listTree, processesMentioning, type DrillFixture } from '../helpers/drill-fixtures.js';
import { waitFor } from '../helpers/wait-for.js';

let fixture: DrillFixture;
let config: string;

async function writePolicy(drill: string): Promise<void> {
  await writeFile(
    config,
    `state: ./state\nsets:\n  orders:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8})' }\n    detection: { allow: ['blobs/**'] }\n    drill: ${drill}\n`,
  );
}

const vouch = (...args: string[]) => runCli(['--config', config, ...args], {}, 180_000);

beforeEach(async () => {
  fixture = await drillFixture('vouch-drill-crash-');
  config = path.join(fixture.root, 'vouch.yaml');
  // Large enough that the restore takes a moment: 48 MiB of incompressible files (random bytes,
  // which detection is told to expect there).
  const files = [
    ...sampleFiles(1),
    ...Array.from({ length: 12 }, (_, i) => ({ path: `blobs/b${i}.bin`, data: randomBytes(4 * 2 ** 20) })),
  ];
  await writeFile(path.join(fixture.volume, 'orders-20251019.tar.gz'), await buildTarGz(files));
});

async function expectRecoveredAndRedone(killedId: string, phase: string): Promise<void> {
  expect((await verifyLedger(fixture.state)).ok).toBe(true);
  await writePolicy("{ commands: ['test -s db/orders.sql'] }");
  const next = await vouch('--json', 'drill', 'orders');
  expect(next.code).toBe(0);
  const drills = (await readDrillIndex(fixture.state, 'orders')).drills;
  expect(drills.map((drill) => [drill.id, drill.outcome, drill.snapshot])).toEqual([
    [killedId, 'aborted', 'orders-20251019'],
    [JSON.parse(next.stdout).id, 'passed', 'orders-20251019'],
  ]);
  expect(drills[0]!.failures[0]!.detail).toMatch(new RegExp(`interrupted during the ${phase} phase`));
  expect(await listTree(path.join(fixture.state, 'drills', 'work'))).toEqual([]);
  const verification = await verifyLedger(fixture.state);
  expect(verification.ok).toBe(true);
  expect(verification.records).toBeGreaterThan(0);
}

describe('a drill killed with SIGKILL', () => {
  it('while restoring: the next drill records it aborted in the extract phase and restores again', async () => {
    await writePolicy("{ commands: ['true'] }");
    expect((await vouch('scan')).code).toBe(0);
    const { child, result } = startCli(['--config', config, 'drill', 'orders']);
    const work = path.join(fixture.state, 'drills', 'work', 'orders');
    await waitFor(
      async () => (await listTree(work)).some((entry) => entry.includes('box/restore/blobs/')),
      'the restore to start writing',
    );
    const [leftover] = await listTree(work);
    child.kill('SIGKILL');
    await result;
    await expectRecoveredAndRedone(leftover!.slice(0, -1), 'extract');
  });

  it('while its sandbox runs: no sandboxed process survives, and the next drill records it aborted in the app phase', async () => {
    const token = `vouch-crash-${randomBytes(4).toString('hex')}`;
    await writePolicy(`{ commands: [': ${token}; sleep 120'] }`);
    expect((await vouch('scan')).code).toBe(0);
    const { child, result } = startCli(['--config', config, 'drill', 'orders']);
    await waitFor(async () => (await processesMentioning(token)).length > 0, 'the sandboxed command');
    const [leftover] = await listTree(path.join(fixture.state, 'drills', 'work', 'orders'));
    child.kill('SIGKILL');
    await result;
    // The sandboxed command sleeps 120 s, so any bound well under that tells dying with the parent
    // from outliving it; 30 s leaves room for a machine busy with other test files.
    await waitFor(
      async () => (await processesMentioning(token)).length === 0,
      'the sandbox to die with its parent',
      30_000,
    );
    await expectRecoveredAndRedone(leftover!.slice(0, -1), 'app');
  });
});
