/**
 * A recovery killed mid-way leaves fetched backup data under STATE/recover/; the next recovery
 * removes the folders of processes that are gone and leaves live ones alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeFetchDir } from '../../agent/recover/fetch-dir.js';

const state = mkdtempSync(path.join(tmpdir(), 'vouch-fetch-dir-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));

function leftover(name: string): string {
  const dir = path.join(state, 'recover', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'orders.tar.gz'), 'fetched backup bytes');
  return dir;
}

describe('the fetch folder of a recovery', () => {
  it("removes a dead recovery's folder, keeps a live one's, and makes its own private folder", async () => {
    const deadPid = spawnSync('true').pid; // exited: its pid names no process now
    leftover(`work-${deadPid}-0a1b2c3d`);
    const live = spawn('sleep', ['30']);
    try {
      leftover(`work-${live.pid}-0a1b2c3d`);
      const unowned = leftover('work-deadbeef');
      const old = (Date.now() - 48 * 3600_000) / 1000;
      utimesSync(unowned, old, old);
      leftover('work-cafebabe'); // an unowned folder from today: perhaps a recovery still running
      writeFileSync(path.join(state, 'recover', 'notes.txt'), 'not ours');

      const mine = await makeFetchDir(state);

      expect(path.basename(mine)).toMatch(new RegExp(`^work-${process.pid}-[0-9a-f]{8}$`));
      expect(statSync(mine).mode & 0o777).toBe(0o700);
      expect(readdirSync(path.join(state, 'recover')).sort()).toEqual(
        [path.basename(mine), `work-${live.pid}-0a1b2c3d`, 'work-cafebabe', 'notes.txt'].sort(),
      );
    } finally {
      const exited = once(live, 'exit');
      live.kill();
      await exited;
    }
  });
});
