import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStateAccess } from '../../agent/daemon/state-access.js';
import { StateLockedError } from '../../agent/errors.js';
import { acquireStateLock } from '../../agent/state/state-lock.js';

describe('daemon state access', () => {
  it('holds the state lock only while jobs write, so a CLI run in between works and one during a job is refused', async () => {
    const state = await mkdtemp(path.join(tmpdir(), 'vouch-access-'));
    const access = createStateAccess(state);
    let release: (() => void) | undefined;
    const job = access.shared(async (ledger) => {
      await ledger.append('scan-run', { sets: [] });
      await new Promise<void>((resolve) => (release = resolve));
    });
    // Wait for the job to be inside its work (a loaded machine can take a while to append).
    while (!release) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(access.holdsLock()).toBe(true);
    await expect(acquireStateLock(state)).rejects.toThrow(StateLockedError);
    await expect(acquireStateLock(state)).rejects.toThrow(/is in use by pid \d+/);
    release();
    await job;
    expect(access.holdsLock()).toBe(false);
    const cli = await acquireStateLock(state);
    // …and a daemon job that meets a CLI run fails with the same clear error.
    await expect(access.shared(async () => undefined)).rejects.toThrow(StateLockedError);
    await cli.release();
    await access.shared(async (ledger) => ledger.append('scan-run', { sets: [] }));
    expect(
      (await readFile(path.join(state, 'ledger', '00000001.ndjson'), 'utf8')).trim().split('\n'),
    ).toHaveLength(2);
  });

  it('shares one lock and ledger among concurrent scans, and runs drills alone without holding it', async () => {
    const state = await mkdtemp(path.join(tmpdir(), 'vouch-access-'));
    const access = createStateAccess(state);
    const order: string[] = [];
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const scanA = access.shared(
      async (ledger) => (
        order.push('a+'),
        await ledger.append('scan-run', { a: 1 }),
        await pause(50),
        order.push('a-')
      ),
    );
    const scanB = access.shared(
      async (ledger) => (
        order.push('b+'),
        await ledger.append('scan-run', { b: 1 }),
        await pause(50),
        order.push('b-')
      ),
    );
    const drill = access.exclusive(async () => {
      order.push('drill+');
      const lock = await acquireStateLock(state); // the drill runner takes the lock itself
      await lock.release();
      order.push('drill-');
    });
    const scanC = access.shared(async () => void order.push('c'));
    await Promise.all([scanA, scanB, drill, scanC]);
    expect(order.slice(0, 2).sort()).toEqual(['a+', 'b+']);
    expect(order.indexOf('drill+')).toBeGreaterThan(Math.max(order.indexOf('a-'), order.indexOf('b-')));
    expect(order.indexOf('c')).toBeGreaterThan(order.indexOf('drill-'));
  });
});
