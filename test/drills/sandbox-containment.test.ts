import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxLimits } from '../../agent/config/resolve-policy.js';
import { removeWorkspace } from '../../agent/drills/workspace.js';
import { createSandbox } from '../../agent/drills/sandbox/create-sandbox.js';
import type { Sandbox } from '../../agent/drills/sandbox/sandbox.js';
import { prepareBox, sandboxIdentity } from '../../agent/drills/sandbox/sandbox-identity.js';
import { processesMentioning } from '../helpers/drill-fixtures.js';

/** Real bubblewrap: every test runs a hostile-ish command and checks the host afterwards. */
const LIMITS: SandboxLimits = {
  cpuSeconds: 20,
  memoryBytes: 256 * 2 ** 20,
  processes: 64,
  fileSizeBytes: 8 * 2 ** 20,
  tmpBytes: 16 * 2 ** 20,
};

let root: string;
let box: string;
let sandbox: Sandbox;
const sh = (script: string, timeoutSeconds = 20) =>
  sandbox.run({ argv: ['/bin/sh', '-c', script], timeoutSeconds });

/** A drill-like box under `work` (restore/ and scratch/), handed to the sandbox user, and a sandbox on it. */
async function sandboxIn(
  work: string,
  kind: 'bwrap' | 'none',
  limits = LIMITS,
  env: Record<string, string> = {},
): Promise<Sandbox> {
  const boxDir = path.join(work, 'box');
  await mkdir(path.join(boxDir, 'restore'), { recursive: true });
  await mkdir(path.join(boxDir, 'scratch'));
  const identity = sandboxIdentity();
  await prepareBox(boxDir, [path.join(boxDir, 'restore'), path.join(boxDir, 'scratch')], identity);
  return createSandbox(kind, { boxDir, filesDir: path.join(work, 'files'), limits, env, identity });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-sandbox-'));
  await chmod(root, 0o755); // a sandbox user other than vouch's must be able to reach the box
  box = path.join(root, 'work', 'box');
  sandbox = await sandboxIn(path.join(root, 'work'), 'bwrap', LIMITS, { VOUCH_SET: 'orders' });
});

afterAll(async () => {
  await removeWorkspace(path.join(root, 'work'));
});

describe('bwrap sandbox containment', () => {
  let server: Server;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('cannot reach the network, not even a server on the host loopback', async () => {
    const port = (server.address() as { port: number }).port;
    const result = await sh(
      `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' && echo LOOPBACK-CONNECTED; bash -c 'exec 3<>/dev/tcp/1.1.1.1/53' && echo INTERNET-CONNECTED; cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '`,
    );
    expect(result.stdout).not.toContain('CONNECTED');
    expect(result.stdout.trim().split('\n')).toEqual(['lo']);
    expect(result.stderr).toMatch(/Connection refused|Network is unreachable/);
    expect(connections).toBe(0);
  });

  it('cannot write outside the restored tree; /tmp is private', async () => {
    const hostTmpName = `vouch-sandbox-probe-${randomBytes(4).toString('hex')}`;
    const result = await sh(
      [
        'for target in /usr/x /etc/x /x /vouch-x /proc/x /dev/x /lib/x /bin/x; do if touch "$target" 2>/dev/null; then echo "WROTE $target"; fi; done',
        `ls ${JSON.stringify(root)} 2>/dev/null && echo SEES-HOST-DIR`,
        'echo restored > /drill/restore/ok && echo scratch > /drill/scratch/ok && echo tmp > /tmp/ok && echo WRITABLE-OK',
        `echo x > /tmp/${hostTmpName}`,
      ].join('\n'),
    );
    expect(result.stdout).not.toContain('WROTE');
    expect(result.stdout).not.toContain('SEES-HOST-DIR');
    expect(result.stdout).toContain('WRITABLE-OK');
    expect(existsSync('/x') || existsSync('/vouch-x')).toBe(false);
    expect(existsSync(path.join(tmpdir(), hostTmpName))).toBe(false);
    expect((await readdir(box)).sort()).toEqual(['restore', 'scratch']);
    expect(await readdir(path.join(box, 'restore'))).toEqual(['ok']);
  });

  it('sees no secrets in its environment and none of the host beyond /usr', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'vouch-test-secret-value';
    process.env.VOUCH_API_TOKEN = 'vouch-test-token-value';
    try {
      const result = await sh(
        'env; echo ---; ls /; echo ---; ls /etc; cat /root/.bashrc /home/*/.ssh/id_* 2>&1 | head -2',
      );
      const [env, top, etc] = result.stdout.split('---\n');
      expect(result.stdout).not.toContain('vouch-test-secret-value');
      expect(result.stdout).not.toContain('vouch-test-token-value');
      const names = env!
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0])
        .sort();
      expect(names.filter((name) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(name!))).toEqual(
        [
          'HOME',
          'LANG',
          'LOGNAME',
          'PATH',
          'TMPDIR',
          'TZ',
          'USER',
          'VOUCH_RESTORE',
          'VOUCH_SCRATCH',
          'VOUCH_SET',
        ].sort(),
      );
      expect(top!.trim().split('\n')).not.toContain('root');
      expect(top!.trim().split('\n')).not.toContain('home');
      expect(etc).not.toMatch(/\bshadow\b/);
    } finally {
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.VOUCH_API_TOKEN;
    }
  });

  it('kills a command and its children at the timeout', async () => {
    const beat = path.join(box, 'scratch', 'beat');
    const token = `vouch-timeout-${randomBytes(4).toString('hex')}`;
    const result = await sh(
      `: ${token}; (while :; do echo x >> /drill/scratch/beat; sleep 0.05; done) & sleep 0.3; sleep 600`,
      1,
    );
    expect(result.timedOut).toBe(true);
    expect(result.seconds).toBeLessThan(5);
    const size = (await stat(beat)).size;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await stat(beat)).size).toBe(size);
    expect(await processesMentioning(token)).toEqual([]);
  });

  it('contains a fork bomb: the process limit stops it and the host keeps working', async () => {
    const token = `vouch-bomb-${randomBytes(4).toString('hex')}`;
    const bounded = await sandboxIn(path.join(root, 'bomb'), 'bwrap', { ...LIMITS, processes: 24 });
    const limit = await bounded.run({
      argv: ['awk', '/^Max processes/ { print $3 }', '/proc/self/limits'],
      timeoutSeconds: 10,
    });
    expect(limit.stdout.trim(), JSON.stringify(limit)).toBe('24');
    const result = await bounded.run({
      argv: ['/bin/sh', '-c', `: ${token}; bomb() { bomb | bomb & }; bomb; sleep 1; echo still-bounded`],
      timeoutSeconds: 15,
    });
    expect(result.seconds).toBeLessThan(15);
    expect(result.stderr).toMatch(/Cannot fork|Resource temporarily unavailable/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await processesMentioning(token)).toEqual([]);
    expect(spawnSync('true').status).toBe(0);
  });

  it('contains a memory hog: the address-space limit makes it fail, not the host', async () => {
    const result = await sh(`awk 'BEGIN { s = "x"; while (1) s = s s }'`);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/out of memory|memory exhausted|Cannot allocate/);
    expect(result.seconds).toBeLessThan(10);
  });

  it('enforces CPU time and file size limits', async () => {
    const strict = await sandboxIn(path.join(root, 'cpu'), 'bwrap', { ...LIMITS, cpuSeconds: 1 });
    const spin = await strict.run({ argv: ['/bin/sh', '-c', 'while :; do :; done'], timeoutSeconds: 60 });
    expect(spin.timedOut).toBe(false); // stopped by the CPU limit, long before the wall clock
    expect(spin.signal ?? spin.exitCode).not.toBe(0);
    const big = await sh('head -c 20000000 /dev/zero > /drill/scratch/big; echo "status $?"');
    expect(big.stdout).toContain('status 153'); // 128 + SIGXFSZ
    expect((await stat(path.join(box, 'scratch', 'big'))).size).toBe(LIMITS.fileSizeBytes);
  });

  it('never follows a link a command planted when the drill directory is removed', async () => {
    const victim = path.join(root, 'victim');
    await mkdir(victim);
    await writeFile(path.join(victim, 'precious'), 'keep me');
    const work = path.join(root, 'work2');
    const other = await sandboxIn(work, 'bwrap');
    await other.run({
      argv: [
        '/bin/sh',
        '-c',
        `ln -s ${JSON.stringify(victim)} /drill/restore/victim; ln -s / /drill/restore/root; mkdir -p d/e; chmod 000 d`,
      ],
      timeoutSeconds: 10,
    });
    await removeWorkspace(work);
    expect(existsSync(work)).toBe(false);
    expect(existsSync(path.join(victim, 'precious'))).toBe(true);
  });
});

describe('unsandboxed mode (drill.sandbox: none)', () => {
  it('still clears the environment and kills the process group at the timeout', async () => {
    const work = path.join(root, 'nosandbox');
    const none = await sandboxIn(work, 'none');
    process.env.AWS_SECRET_ACCESS_KEY = 'vouch-test-secret-value';
    try {
      const env = await none.run({ argv: ['/bin/sh', '-c', 'env; pwd'], timeoutSeconds: 10 });
      expect(env.stdout).not.toContain('vouch-test-secret-value');
      expect(env.stdout).toContain(path.join(work, 'box', 'restore'));
    } finally {
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
    const token = `vouch-none-${randomBytes(4).toString('hex')}`;
    const slow = await none.run({
      argv: ['/bin/sh', '-c', `: ${token}; sleep 600 & sleep 600`],
      timeoutSeconds: 1,
    });
    expect(slow.timedOut).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await processesMentioning(token)).toEqual([]);
    await removeWorkspace(work);
  });
});
