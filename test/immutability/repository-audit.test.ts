/**
 * What the immutability audit can say about restic and borg repositories: a local repository is
 * audited like an offline volume (read-only mount, write bits, newest snapshot's age); a remote
 * one's protection lives on its server, invisible to a client, so it is `unknown` — never passed.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { auditSet } from '../../agent/immutability/audit-set.js';
import { remoteProtectionCheck } from '../../agent/immutability/repository-audit.js';
import { createRepository, type TestRepository } from '../helpers/repositories.js';

let dir: string;
let restic: TestRepository;
const snapshotTime = new Date('2025-10-19T02:00:00Z');

function resticSet(repository: string, extra: Record<string, unknown> = {}) {
  return validatePolicy(
    { sets: { r: { source: { restic: { repository, passwordFile: restic.passwordFile } }, ...extra } } },
    'test policy',
    dir,
  ).sets[0]!;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-repo-audit-'));
  restic = await createRepository('restic', dir);
  await restic.backup([{ path: 'a.txt', data: Buffer.from('a') }], snapshotTime, 'a');
});

describe('immutability of restic and borg repositories', () => {
  it("audits a local repository like an offline volume: writable directories fail, the newest snapshot's age is checked", async () => {
    const set = resticSet(restic.repository, { immutability: { maxAge: '36h' } });
    const audit = await auditSet(set, {
      stateDir: dir,
      now: () => new Date('2025-10-19T12:00:00Z'),
      mountInfo: async () => '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    });
    expect(audit.kind).toBe('restic');
    expect(audit.checks.map((check) => [check.check, check.status])).toEqual([
      ['read-only-mount', 'info'],
      ['not-writable', 'fail'],
      ['newest-copy-age', 'pass'],
    ]);
    expect(audit.checks[1]!.detail).toMatch(
      /mounted read-write and \d+ of \d+ checked paths are writable \(\(set root\)/,
    );
    expect(audit.ok).toBe(false);
    expect(audit.protected).toBe(false);
  });

  it('passes a local repository on a read-only mount', async () => {
    const set = resticSet(restic.repository, { immutability: { maxAge: '36h' } });
    const audit = await auditSet(set, {
      stateDir: dir,
      now: () => new Date('2025-10-19T12:00:00Z'),
      mountInfo: async () => '22 1 254:0 / / ro,relatime - ext4 /dev/vda ro',
    });
    expect(audit.ok).toBe(true);
    expect(audit.protected).toBe(true);
  });

  it("says a remote repository's protection cannot be seen by a client, and never passes it", () => {
    const rest = resticSet('rest:https://backup.example.com:8000/orders', {
      immutability: { maxAge: '36h' },
    });
    expect(remoteProtectionCheck(rest)).toMatchObject({
      check: 'append-only',
      status: 'unknown',
      required: true,
      detail: expect.stringMatching(/--append-only mode cannot be seen by a client/),
    });
    const s3 = resticSet('s3:https://s3.example.com/backups/orders');
    expect(remoteProtectionCheck(s3)).toMatchObject({
      check: 'object-lock',
      status: 'unknown',
      required: false,
      detail: expect.stringMatching(/declare an s3 set on the same bucket/),
    });
    const borg = validatePolicy(
      { sets: { b: { source: { borg: { repository: 'backup@nas:mail' } }, immutability: {} } } },
      'test policy',
      dir,
    ).sets[0]!;
    expect(remoteProtectionCheck(borg)).toMatchObject({
      check: 'append-only',
      status: 'unknown',
      required: true,
      detail: expect.stringMatching(/borg serve --append-only/),
    });
  });
});
