/**
 * `vouch recover` answers found wrong by the adversarial review of issue 12, on a real estate of
 * directory snapshots read by the real scan and restored by the real CLI:
 * - a snapshot whose latest drill failed (last-clean demotes it) supplies no file;
 * - readiness and the RPO metric measured from the last restorable snapshot;
 * - an empty set, and `--to` targets that would write into a set's source, the state directory or
 *   over a regular file (exit 2);
 * - a version changed after the scan (fallback, exit 3) and the store unreachable (exit 1).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { loadEstateView } from '../../agent/estate/estate-view.js';
import { createMetricsRegistry } from '../../agent/metrics/metrics.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { addToDrillIndex } from '../../agent/state/drill-index.js';
import type { DrillResult } from '../../agent/model/drill.js';
import { runCli } from '../helpers/cli.js';

/** Runs `command args` with `input` file on stdin. */
function run(command: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'sh',
      ['-c', `"$0" "$@" < "${input}"`, command, ...args],
      (error, stdout, stderr) =>
        error ? reject(new Error(`${command}: ${stderr}${stdout}`, { cause: error })) : resolve(stdout),
    );
    child.stdin?.end();
  });
}

let base: string;
let config: string;
let state: string;
let store: string;
let policy: ReturnType<typeof validatePolicy>;

const NIGHTS = ['2026-11-01', '2026-11-02', '2026-11-03'];

/** A failed drill of `snapshot` as `vouch drill` records it in the drill index. */
function failedDrill(snapshot: string): DrillResult {
  return {
    id: `web-drill-${snapshot}`,
    set: 'web',
    snapshot,
    snapshotTime: `${snapshot}T00:00:00.000Z`,
    pick: 'explicit',
    startedAt: '2026-11-04T01:00:00.000Z',
    finishedAt: '2026-11-04T01:05:00.000Z',
    outcome: 'failed',
    phases: { fetch: 0, extract: 1, verify: 1, app: 0 },
    durationSeconds: 2,
    rtoTargetSeconds: null,
    withinRto: null,
    sample: { fraction: 1, entries: 2, bytes: 10 },
    projectedFullRestoreSeconds: null,
    failures: [{ verifier: 'sqlite', path: 'db/inventory.txt', detail: '50 rows, expected at least 100' }],
  };
}

const NOW = '2026-11-04T12:00:00Z';
const cli = (...args: string[]) => runCli(['--config', config, ...args], { VOUCH_NOW: NOW });

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'vouch-recover-answers-'));
  store = path.join(base, 'store');
  state = path.join(base, 'state');
  for (const [index, night] of NIGHTS.entries()) {
    const root = path.join(store, night);
    await mkdir(path.join(root, 'db'), { recursive: true });
    await writeFile(
      path.join(root, 'db/inventory.txt'),
      `inventory as of night ${index + 1}\n`.repeat(20 + index),
    );
    await writeFile(path.join(root, 'notes.txt'), `notes of night ${index + 1}\n`);
  }
  await mkdir(path.join(base, 'empty'), { recursive: true });
  // Set `links`: night 1 regular files; night 2 a file became a symbolic link to /etc/shadow and a name holds ESC.
  const links = path.join(base, 'links');
  await mkdir(path.join(links, '2026-11-01', 'notes'), { recursive: true });
  await writeFile(path.join(links, '2026-11-01', 'notes', 'night.txt'), 'the night shift notes\n');
  await writeFile(path.join(links, '2026-11-01', 'readme.txt'), 'readme 1\n');
  await mkdir(path.join(links, '2026-11-02', 'notes'), { recursive: true });
  await symlink('/etc/shadow', path.join(links, '2026-11-02', 'notes', 'night.txt'));
  await writeFile(path.join(links, '2026-11-02', 'readme.txt'), 'readme 2\n');
  await writeFile(path.join(links, '2026-11-02', 'notes', 'esc\u001b[31m.txt'), 'a name with an escape\n');
  const sets = {
    web: {
      source: { fs: { path: store } },
      snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
      targets: { rpo: '36h' },
      drill: {},
    },
    empty: {
      source: { fs: { path: path.join(base, 'empty') } },
      snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
    },
    links: {
      source: { fs: { path: path.join(base, 'links') } },
      snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
    },
  };
  config = path.join(base, 'vouch.yaml');
  await writeFile(config, JSON.stringify({ state, sets }));
  policy = validatePolicy({ state, sets }, 'test', base);
  const scan = await runScan(policy, { stateDir: state });
  expect(scan.sets.find((set) => set.name === 'web')!.snapshots.map((snapshot) => snapshot.verdict)).toEqual([
    'clean',
    'clean',
    'clean',
  ]);
  await addToDrillIndex(state, {
    ...failedDrill('2026-11-02'),
    id: 'web-drill-passed',
    outcome: 'passed',
    failures: [],
    finishedAt: '2026-11-04T00:30:00.000Z',
  });
  await addToDrillIndex(state, failedDrill('2026-11-03'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('vouch recover on the answers the adversarial review found wrong', () => {
  it('takes no file from a snapshot whose latest drill failed: last-clean demotes it, recover uses the next intact version and says why', async () => {
    const lastClean = await cli('last-clean', 'web', '--json');
    const document = JSON.parse(lastClean.stdout) as {
      demoted: { id: string }[];
      recommendation: { id: string };
    };
    expect(document.demoted.map((entry) => entry.id)).toEqual(['2026-11-03']);
    const dry = await cli('recover', 'web', '--dry-run');
    expect(dry.stdout).toContain(
      'rejected 2026-11-03: its latest drill failed (drill web-drill-2026-11-03, 2026-11-04 01:05Z: sqlite db/inventory.txt: 50 rows, expected at least 100)',
    );
    expect(dry.stdout).toContain('snapshot 2026-11-03 supplies nothing: its latest drill failed');
    const json = await cli('recover', 'web', '--dry-run', '--json');
    const plan = (JSON.parse(json.stdout) as { plan: { files: { path: string; snapshot: string }[] } }).plan;
    expect(plan.files.map((file) => [file.path, file.snapshot])).toEqual([
      ['db/inventory.txt', document.recommendation.id],
      ['notes.txt', document.recommendation.id],
    ]);
    expect(document.recommendation.id).toBe('2026-11-02');
    const to = path.join(base, 'restored');
    const restore = await cli('recover', 'web', '--to', to);
    expect(restore.stderr).toBe('');
    expect(await readFile(path.join(to, 'notes.txt'), 'utf8')).toBe('notes of night 2\n');
  });

  it('readiness and the RPO metric follow the last restorable snapshot: a fresh clean snapshot whose drill failed keeps neither', async () => {
    const view = await loadEstateView(policy, state, new Date(NOW));
    const web = view.sets.find((set) => set.policy.name === 'web')!;
    expect(web.lastClean?.id).toBe('2026-11-03');
    expect(web.lastRestorable?.id).toBe('2026-11-02');
    expect(web.readiness.ready).toBe(false);
    expect(web.readiness.checks.find((check) => check.check === 'rpo')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^last restorable snapshot .* old; RPO 36h$/),
    });
    const registry = createMetricsRegistry({
      estate: async () => view,
      scheduler: () => ({ tasks: [], running: 0, queued: 0 }),
      daemon: () => ({ reloads: 0, reloadFailures: 0, lastReloadSuccess: 0 }),
    });
    const metrics = await registry.metrics();
    const gauge = (name: string, set = 'web') =>
      Number(new RegExp(`^${name}\\{set="${set}"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 'NaN');
    expect(gauge('vouch_last_restorable_snapshot_timestamp_seconds')).toBe(
      Date.parse(web.lastRestorable!.time) / 1000,
    );
    expect(gauge('vouch_last_clean_snapshot_timestamp_seconds')).toBe(Date.parse(web.lastClean!.time) / 1000);
    expect(gauge('vouch_drills_declared')).toBe(1);
    expect(gauge('vouch_drills_declared', 'empty')).toBe(0);
    expect(metrics).not.toMatch(/^vouch_last_restorable_snapshot_timestamp_seconds\{set="empty"\}/m);
    expect(gauge('vouch_set_ready')).toBe(0);
    const file = path.join(base, 'metrics.txt');
    await writeFile(file, metrics);
    await run('promtool', ['check', 'metrics'], file);
  });

  it('a snapshot dated ahead of the clock (VOUCH_NOW) is not fresh: no last clean or RPO from it, last-clean names it', async () => {
    const before = '2026-11-02T12:00:00Z'; // night 3 (2026-11-03) is 12 h ahead
    const view = await loadEstateView(policy, state, new Date(before));
    const web = view.sets.find((set) => set.policy.name === 'web')!;
    expect(web.lastClean?.id).toBe('2026-11-02');
    expect(web.newest?.id).toBe('2026-11-03');
    const lastClean = await runCli(['--config', config, 'last-clean', 'web'], { VOUCH_NOW: before });
    expect(lastClean.code).toBe(3);
    expect(lastClean.stdout).toMatch(
      /SUSPICIOUS: {6}2026-11-03 is dated 2026-11-03 00:00Z, 12h ahead of this clock/,
    );
    expect(lastClean.stdout).toMatch(/last clean: {6}2026-11-02 /);
  });

  it('an empty set: last-clean says it was scanned and holds no snapshot (exit 3); recover has nothing to restore (exit 3) and creates no target', async () => {
    const lastClean = await cli('last-clean', 'empty');
    expect(lastClean.code).toBe(3);
    expect(lastClean.stdout).toMatch(
      /scanned .*: the store holds no snapshot of this set — nothing to restore/,
    );
    expect(lastClean.stdout).not.toContain('never scanned');
    const to = path.join(base, 'rec-empty');
    const recover = await cli('recover', 'empty', '--to', to);
    expect(recover.code).toBe(3);
    expect(recover.stdout).toContain('empty: nothing to restore — the state holds no snapshot of this set');
    await expect(stat(to)).rejects.toThrow(/ENOENT/);
  });

  it("--to inside a set's source or the state directory, or over a regular file, is a usage error (exit 2) naming the paths", async () => {
    const inStore = await cli('recover', 'web', '--to', path.join(store, '2026-11-09'));
    expect(inStore.code).toBe(2);
    expect(inStore.stderr).toContain(
      `--to ${path.join(store, '2026-11-09')} is inside the source of set web (${store})`,
    );
    const inState = await cli('recover', 'web', '--to', path.join(state, 'restore'));
    expect(inState.code).toBe(2);
    expect(inState.stderr).toContain(`is inside the state directory (${state})`);
    const file = path.join(base, 'a-file');
    await writeFile(file, 'x');
    const overFile = await cli('recover', 'web', '--to', file);
    expect(overFile.code).toBe(2);
    expect(overFile.stderr).toContain(`--to ${file} exists and is not a directory`);
    expect(overFile.stderr).not.toContain('ENOTDIR');
    await expect(stat(path.join(store, '2026-11-09'))).rejects.toThrow(/ENOENT/);
  });

  it('a version changed after the scan: the file falls back to an older one, the plan line is corrected and recover exits 3', async () => {
    // The planned version of notes.txt (night 2) is rewritten behind vouch's back.
    await writeFile(path.join(store, '2026-11-02', 'notes.txt'), 'rewritten after the scan\n');
    const to = path.join(base, 'rec-fallback');
    const recover = await cli('recover', 'web', '--to', to);
    expect(recover.code).toBe(3);
    expect(recover.stdout).toMatch(/FELL BACK — 1 file came from an older version than the plan above chose/);
    expect(recover.stdout).toMatch(
      /notes\.txt {2}← 2026-11-01 \(.* old\), not 2026-11-02: restored bytes differ from the baseline digest/,
    );
    expect(await readFile(path.join(to, 'notes.txt'), 'utf8')).toBe('notes of night 1\n');
  });

  it('the store unreachable: recover exits 1 (a runtime error, as the exit-code table says), not 3', async () => {
    const away = `${store}-away`;
    await rename(store, away);
    try {
      const recover = await cli('recover', 'web', '--to', path.join(base, 'rec-unreachable'));
      expect(recover.code).toBe(1);
      expect(recover.stdout).toContain('STOPPED by an error, not a finding about the backups');
    } finally {
      await rename(away, store);
    }
  });

  it('a file that became a symbolic link is restored from its last regular version and said; a name with ESC is NOT RESTORED and recover exits 3', async () => {
    const to = path.join(base, 'rec-links');
    const recover = await cli('recover', 'links', '--to', to);
    expect(recover.stdout).toMatch(/notes\/night\.txt {2}← 2026-11-01 /);
    expect(recover.stdout).toContain(
      'rejected 2026-11-02: a symbolic link here (→ /etc/shadow): links are recorded, not created',
    );
    expect(recover.stdout).toMatch(
      /NOT RESTORED — 1 entry whose name no restore writes[^\n]*\n {4}notes\/esc.*\(2026-11-02\)/,
    );
    expect(recover.stdout).not.toContain('nothing lost');
    expect(recover.code).toBe(3);
    expect(await readFile(path.join(to, 'notes', 'night.txt'), 'utf8')).toBe('the night shift notes\n');
    expect(await readFile(path.join(to, 'readme.txt'), 'utf8')).toBe('readme 2\n');
  });
});
