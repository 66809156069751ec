import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { readDrillIndex } from '../../agent/state/drill-index.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli, startCli } from '../helpers/cli.js';
import { drillFixture, listTree, processesMentioning, type DrillFixture } from '../helpers/drill-fixtures.js';

let fixture: DrillFixture;
let config: string;

async function writePolicy(drill: string, targets = '{ rpo: 24h, rto: 2h }'): Promise<void> {
  await writeFile(
    config,
    `state: ./state\nsets:\n  orders:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8})' }\n    targets: ${targets}\n    drill: ${drill}\n`,
  );
}

const vouch = (...args: string[]) => runCli(['--config', config, ...args], {}, 120_000);

beforeEach(async () => {
  fixture = await drillFixture('vouch-drill-cli-');
  config = path.join(fixture.root, 'vouch.yaml');
  await writeFile(path.join(fixture.volume, 'orders-20251018.tar.gz'), await buildTarGz(sampleFiles(1)));
  await writeFile(path.join(fixture.volume, 'orders-20251019.tar.gz'), await buildTarGz(sampleFiles(2)));
});

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 300; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('vouch drill', () => {
  it('exits 0 on a passing drill and prints the report as one JSON document', async () => {
    await writePolicy("{ commands: ['test -s db/orders.sql'] }");
    expect((await vouch('scan')).code).toBe(0);
    const { code, stdout, stderr } = await vouch('--json', 'drill', 'orders');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      set: 'orders',
      snapshot: 'orders-20251019',
      pick: 'last-clean',
      outcome: 'passed',
      withinRto: true,
      rtoTargetSeconds: 7200,
      sandbox: 'bwrap',
    });
    expect(
      report.verifiers.map(
        (outcome: { verifier: string; status: string }) => `${outcome.verifier} ${outcome.status}`,
      ),
    ).toEqual(['digest passed', 'structure passed', 'commands passed']);
    const text = await vouch('drill', 'orders', '--snapshot', 'orders-20251018');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^drill orders-\d{8}T\d{6}Z-[0-9a-f]{4} of orders: PASSED\n/);
    expect(text.stdout).toMatch(/rto +took .*, RTO 2h: within/);
  });

  it('exits 3 when the drill fails or misses the RTO, 2 on an unknown set', async () => {
    await writePolicy("{ commands: ['exit 7'] }");
    await vouch('scan');
    const failed = await vouch('drill', 'orders');
    expect(failed.code).toBe(3);
    expect(failed.stdout).toContain('FAILED');
    expect(failed.stdout).toMatch(/commands +exit 7 +exited with 7, expected 0/);
    await writePolicy("{ commands: ['sleep 1.1'] }", '{ rto: 1s }');
    const slow = await vouch('drill', 'orders');
    expect(slow.code).toBe(3);
    expect(slow.stdout).toContain('PASSED, but OVER the RTO');
    const unknown = await vouch('drill', 'ordres');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown set: ordres');
  });

  it('SIGTERM stops a running drill: sandbox killed, directory removed, recorded as aborted, exit 130', async () => {
    const token = `vouch-sigterm-${randomBytes(4).toString('hex')}`;
    await writePolicy(`{ commands: [': ${token}; sleep 120'] }`);
    await vouch('scan');
    const { child, result } = startCli(['--config', config, 'drill', 'orders']);
    await waitFor(async () => (await processesMentioning(token)).length > 0, 'the sandboxed command');
    child.kill('SIGTERM');
    const { code, stderr } = await result;
    expect(code).toBe(130);
    expect(stderr).toContain('SIGTERM: stopping');
    // The kernel tears down the sandbox's PID namespace after its init dies; on a loaded machine
    // the last processes can take a moment to go.
    await waitFor(async () => (await processesMentioning(token)).length === 0, 'the sandbox to be killed');
    expect(await listTree(path.join(fixture.state, 'drills', 'work'))).toEqual([]);
    expect((await readDrillIndex(fixture.state, 'orders')).drills.at(-1)).toMatchObject({
      outcome: 'aborted',
    });
  });

  it('SIGKILL mid-drill: the sandbox dies with vouch; the next start records the drill as aborted and removes its directory', async () => {
    const token = `vouch-sigkill-${randomBytes(4).toString('hex')}`;
    await writePolicy(`{ commands: [': ${token}; sleep 120'] }`);
    await vouch('scan');
    const { child, result } = startCli(['--config', config, 'drill', 'orders']);
    await waitFor(async () => (await processesMentioning(token)).length > 0, 'the sandboxed command');
    const [leftover] = await listTree(path.join(fixture.state, 'drills', 'work', 'orders'));
    child.kill('SIGKILL');
    await result;
    await waitFor(
      async () => (await processesMentioning(token)).length === 0,
      'the sandbox to die with its parent',
    );
    expect(leftover).toMatch(/^orders-.*\/$/);
    const killedId = leftover!.slice(0, -1);
    expect((await readDrillIndex(fixture.state, 'orders')).drills).toEqual([]);

    await writePolicy("{ commands: ['true'] }");
    const next = await vouch('--json', 'drill', 'orders');
    expect(next.code).toBe(0);
    const drills = (await readDrillIndex(fixture.state, 'orders')).drills;
    expect(drills.map((drill) => [drill.id, drill.outcome])).toEqual([
      [killedId, 'aborted'],
      [JSON.parse(next.stdout).id, 'passed'],
    ]);
    expect(drills[0]!.failures[0]!.detail).toMatch(/interrupted during the app phase/);
    expect(await listTree(path.join(fixture.state, 'drills', 'work'))).toEqual([]);
  });
});

describe('vouch drill as an unprivileged user (how the Docker image runs it)', () => {
  it('sandboxes with an unprivileged bwrap and passes', async () => {
    await writePolicy("{ commands: ['test -s db/orders.sql && touch /drill/scratch/ok'], sqlite: [] }");
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    if (uid !== undefined) execFileSync('chown', ['-R', `${uid}:${uid}`, fixture.root]);
    const env = { HOME: fixture.root };
    expect((await runCli(['--config', config, 'scan'], env, 120_000, uid)).code).toBe(0);
    const { code, stdout, stderr } = await runCli(
      ['--config', config, '--json', 'drill', 'orders'],
      env,
      120_000,
      uid,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ outcome: 'passed', sandbox: 'bwrap' });
  });
});

describe('vouch evidence', () => {
  it('verifies the chain (exit 0), names a tampered record (exit 3), and pins an exported key', async () => {
    await writePolicy('{}');
    await vouch('scan');
    await vouch('drill', 'orders');
    const pem = path.join(fixture.root, 'vouch-public.pem');
    const exported = await vouch('evidence', 'export-key', '--out', pem);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toMatch(
      /key [0-9a-f]{16}, SHA-256 fingerprint ([0-9a-f]{4} ){15}[0-9a-f]{4}, written to/,
    );
    const ok = await vouch('--json', 'evidence', 'verify', '--key', pem);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, trust: 'pinned', records: expect.any(Number) });

    const rotated = await vouch('evidence', 'rotate-key');
    expect(rotated.stdout).toMatch(/rotated the signing key at record \d+/);
    expect((await vouch('evidence', 'verify', '--key', pem)).code).toBe(0);

    const segment = path.join(fixture.state, 'ledger', '00000001.ndjson');
    const lines = (await readFile(segment, 'utf8')).split('\n');
    lines[1] = lines[1]!.replace('"deep":true', '"deep":false');
    await writeFile(segment, lines.join('\n'));
    const bad = await vouch('evidence', 'verify');
    expect(bad.code).toBe(3);
    expect(bad.stdout).toMatch(
      /FAILED at record 2 \(00000001\.ndjson line 2\): edited — content does not match its hash/,
    );
  });

  it('documents the drill and evidence commands in --help', async () => {
    const { stdout } = await runCli(['--help']);
    expect(stdout).toContain('drill');
    expect(stdout).toContain('evidence');
    const evidence = await runCli(['evidence', '--help']);
    for (const command of ['verify', 'report', 'export-key', 'rotate-key'])
      expect(evidence.stdout).toContain(command);
  });
});
