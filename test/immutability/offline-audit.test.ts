import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../agent/config/load-policy.js';
import { auditSet } from '../../agent/immutability/audit-set.js';
import { isReadOnly, mountFor, parseMountInfo, writableAliases } from '../../agent/immutability/mountinfo.js';
import { nowMs } from '../../agent/clock.js';

const run = promisify(execFile);

const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '35 22 0:31 / /mnt/offline ro,nosuid,nodev,relatime shared:20 - ext4 /dev/sdb1 ro',
  '36 22 0:32 / /mnt/back\\040up rw,relatime - nfs4 nas:/export rw,vers=4.2',
  '37 36 0:33 / /mnt/back\\040up/locked rw,relatime - xfs /dev/sdc1 ro,attr2',
].join('\n');

describe('mountinfo', () => {
  it('finds the mount holding a path and reads its read-only flags (mount or superblock)', () => {
    const mounts = parseMountInfo(MOUNTINFO);
    expect(mountFor(mounts, '/mnt/offline/orders')).toMatchObject({
      mountPoint: '/mnt/offline',
      fsType: 'ext4',
    });
    expect(isReadOnly(mountFor(mounts, '/mnt/offline/orders')!)).toBe(true);
    expect(mountFor(mounts, '/mnt/offline-2/x')!.mountPoint).toBe('/');
    expect(isReadOnly(mountFor(mounts, '/mnt/back up/x')!)).toBe(false);
    expect(isReadOnly(mountFor(mounts, '/mnt/back up/locked/x')!)).toBe(true);
  });
});

async function volume(): Promise<{ dir: string; policyFile: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vouch-offline-'));
  const snapshotDir = path.join(dir, 'volume', new Date(nowMs() - 3_600_000).toISOString().slice(0, 10));
  await mkdir(snapshotDir, { recursive: true });
  await writeFile(path.join(snapshotDir, 'invoice.pdf'), '%PDF-1.4 demo');
  const policyFile = path.join(dir, 'vouch.yaml');
  await writeFile(
    policyFile,
    `sets:\n  invoices:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: directory, match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' }\n    immutability: { maxAge: 3d }\n`,
  );
  return { dir, policyFile };
}

describe('offline volume audit', () => {
  it('fails a read-write volume with writable files, naming them', async () => {
    const { policyFile } = await volume();
    const [set] = parsePolicy(await readFile(policyFile, 'utf8'), policyFile).sets;
    const audit = await auditSet(set!, { stateDir: path.dirname(policyFile) });
    expect(audit.ok).toBe(false);
    expect(audit.protected).toBe(false);
    const check = audit.checks.find((c) => c.check === 'not-writable')!;
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/invoice\.pdf/);
    expect(audit.findings[0]).toMatchObject({ kind: 'immutability', severity: 'critical' });
    expect(audit.checks.find((c) => c.check === 'newest-copy-age')!.status).toBe('pass');
  });

  it('passes files without write permission on a read-write mount, and says root could still write', async () => {
    const { dir, policyFile } = await volume();
    const volumeDir = path.join(dir, 'volume');
    const snapshot = (await readdir(volumeDir))[0]!;
    await chmod(path.join(volumeDir, snapshot, 'invoice.pdf'), 0o444);
    await chmod(path.join(volumeDir, snapshot), 0o555);
    await chmod(volumeDir, 0o555);
    const [set] = parsePolicy(await readFile(policyFile, 'utf8'), policyFile).sets;
    const audit = await auditSet(set!, { stateDir: dir });
    await chmod(volumeDir, 0o755);
    expect(audit.ok).toBe(true);
    expect(audit.checks.find((c) => c.check === 'not-writable')!.detail).toMatch(/root can still write/);
  });

  it('passes a volume mounted read-only (real bind mount in a bubblewrap namespace)', async () => {
    const { dir, policyFile } = await volume();
    const script = fileURLToPath(new URL('../helpers/audit-entry.ts', import.meta.url));
    const volumeDir = path.join(dir, 'volume');
    const { stdout } = await run(
      'bwrap',
      [
        '--dev-bind',
        '/',
        '/',
        '--ro-bind',
        volumeDir,
        volumeDir,
        '--',
        process.execPath,
        '--import',
        'tsx',
        script,
        policyFile,
      ],
      { cwd: process.cwd() },
    );
    const audit = JSON.parse(stdout);
    expect(audit).toMatchObject({ ok: true, protected: true });
    expect(audit.checks.find((c: { check: string }) => c.check === 'read-only-mount')).toMatchObject({
      status: 'pass',
    });
  });

  it('fails a read-only bind mount of a directory still writable through its original mount, naming that path (real mounts in a bubblewrap namespace)', async () => {
    const { dir } = await volume();
    const volumeDir = path.join(dir, 'volume');
    const view = path.join(dir, 'view');
    await mkdir(view);
    // The policy audits the read-only view; the same files stay writable at volumeDir.
    const policyFile = path.join(dir, 'view.yaml');
    await writeFile(
      policyFile,
      (await readFile(path.join(dir, 'vouch.yaml'), 'utf8')).replace('./volume', './view'),
    );
    const script = fileURLToPath(new URL('../helpers/audit-entry.ts', import.meta.url));
    const { stdout } = await run(
      'bwrap',
      [
        '--dev-bind',
        '/',
        '/',
        '--ro-bind',
        volumeDir,
        view,
        '--',
        process.execPath,
        '--import',
        'tsx',
        script,
        policyFile,
      ],
      { cwd: process.cwd() },
    );
    const audit = JSON.parse(stdout);
    expect(audit).toMatchObject({ ok: false, protected: false });
    const check = audit.checks.find((c: { check: string }) => c.check === 'read-only-mount');
    expect(check).toMatchObject({ status: 'fail', required: true });
    expect(check.detail).toContain(
      `mounted read-only, but the same directory is writable through ${volumeDir}`,
    );
  });

  it('finds writable aliases from mountinfo: same device, a root that covers the directory, not shadowed', () => {
    const mounts = parseMountInfo(
      [
        '22 1 8:17 / /srv rw,relatime - ext4 /dev/sdb1 rw',
        '40 22 8:17 /backups /mnt/offline ro,relatime - ext4 /dev/sdb1 rw',
        '41 22 8:17 /backups/orders /srv/backups/orders ro,relatime - ext4 /dev/sdb1 rw',
      ].join('\n'),
    );
    // /srv/backups/orders is shadowed by its own read-only bind mount; /srv/backups/invoices is not.
    expect(writableAliases(mounts, '/mnt/offline/orders')).toEqual([]);
    expect(writableAliases(mounts, '/mnt/offline/invoices')).toEqual(['/srv/backups/invoices']);
  });

  it('fails when the newest offline copy is older than the allowed age', async () => {
    const { policyFile } = await volume();
    const text = (await readFile(policyFile, 'utf8')).replace('maxAge: 3d', 'maxAge: 30m');
    const [set] = parsePolicy(text, policyFile).sets;
    const audit = await auditSet(set!, {
      stateDir: path.dirname(policyFile),
      mountInfo: async () => `22 1 254:0 / / ro,relatime - ext4 /dev/vda ro`,
    });
    expect(audit.checks.find((c) => c.check === 'newest-copy-age')).toMatchObject({
      status: 'fail',
      required: true,
    });
    expect(audit.ok).toBe(false);
    expect(audit.protected).toBe(true);
  });
});
