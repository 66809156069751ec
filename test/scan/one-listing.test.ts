/**
 * A scan lists a directory snapshot once: discovery's listing feeds the read (listing-spool.ts),
 * on a filesystem and on S3 alike — and the read still judges the bytes as they are, so a file
 * changed since the baseline is drift, every member is read, and the report matches the store.
 * A snapshot read whatever its listing says, whose name gives its time, is not listed before its
 * read at all: its read lists it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { SetPolicy } from '../../agent/config/resolve-policy.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { runScan } from '../../agent/scan/scan-run.js';
import type { BackupSource } from '../../agent/sources/backup-source.js';
import { createSource } from '../../agent/sources/create-source.js';
import { findByExtension, type MachineFile } from '../helpers/machine-files.js';

let base = '';
let files: MachineFile[] = [];
const DAYS = ['snap-20260101', 'snap-20260102'];

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'vouch-one-listing-'));
  files = findByExtension(['.py', '.gz', '.png', '.so', '.mo'], 60, { maxSize: 2 ** 20 });
  expect(files.length).toBeGreaterThan(20);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/**
 * The real source of `set`, with every `list(prefix)` call noted in `calls` (with the folders it
 * was told to skip, when any), and every key it listed counted in `listed`.
 */
function countingSource(calls: string[], listed = new Map<string, number>()) {
  return async (set: SetPolicy): Promise<BackupSource> => {
    const source = await createSource(set.source, { set: set.name });
    return {
      ...source,
      async *list(prefix = '', options = {}) {
        const skipped = [...(options.skipFolders ?? [])];
        calls.push(skipped.length ? `${prefix} skipping ${skipped.join(',')}` : prefix);
        for await (const object of source.list(prefix, options)) {
          listed.set(object.key, (listed.get(object.key) ?? 0) + 1);
          yield object;
        }
      },
    };
  };
}

function memberName(file: MachineFile, i: number): string {
  return `d${i % 3}/${i}-${path.basename(file.path)}`;
}

/** A policy for the folders under `root`, whose pattern reads each snapshot's time from its name. */
function timedPolicy(root: string, rehash?: string) {
  return validatePolicy(
    {
      sets: {
        files: {
          source: { fs: { path: root } },
          snapshots: { layout: 'directory', match: '^snap-(?<time>\\d{8})$' },
          ...(rehash ? { integrity: { rehash } } : {}),
        },
      },
    },
    'test',
    base,
  );
}

/** A set under `name` of one snapshot (the first day) of five machine files in `folder`, and its timed policy. */
function smallTimedSet(name: string, folder = '') {
  const root = path.join(base, name);
  const dir = path.join(root, DAYS[0]!, folder);
  mkdirSync(dir, { recursive: true });
  files
    .slice(0, 5)
    .forEach((file, i) => copyFileSync(file.path, path.join(dir, `${i}-${path.basename(file.path)}`)));
  return { root, dir, policy: timedPolicy(root) };
}

describe('one listing per scan', () => {
  it('a filesystem set: discovery lists the set once, the reads list nothing more, and drift is still found', async () => {
    const root = path.join(base, 'fs-set');
    for (const day of DAYS)
      files.forEach((file, i) => {
        const target = path.join(root, day, memberName(file, i));
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(file.path, target);
      });
    const policy = validatePolicy(
      {
        sets: {
          files: {
            source: { fs: { path: root } },
            snapshots: { layout: 'directory' },
            integrity: { rehash: 'always' },
          },
        },
      },
      'test',
      base,
    );
    const stateDir = path.join(base, 'fs-state');
    const calls: string[] = [];
    const first = await runScan(policy, { stateDir, createSource: countingSource(calls) });
    expect(first.sets[0]!.snapshots.map((s) => [s.id, s.verdict, s.entries])).toEqual(
      DAYS.map((day) => [day, 'clean', files.length]),
    );
    expect(calls).toEqual(['']);

    // One member of the second day rewritten in place (same size): the read sees its bytes.
    const victim = path.join(root, DAYS[1]!, memberName(files[0]!, 0));
    const bytes = readFileSync(victim);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(victim, bytes);
    calls.length = 0;
    const second = await runScan(policy, { stateDir, createSource: countingSource(calls) });
    expect(calls).toEqual(['']);
    const [older, newer] = second.sets[0]!.snapshots;
    expect([older!.deep, older!.verdict, older!.entries]).toEqual([true, 'clean', files.length]);
    expect(newer!.entries).toBe(files.length);
    expect(newer!.findings.map((finding) => [finding.kind, finding.path])).toContainEqual([
      'drift-modified',
      memberName(files[0]!, 0),
    ]);
  });

  it('snapshots named with their time and read whatever their listing says are listed by their read alone: every member once', async () => {
    const root = path.join(base, 'timed-set');
    for (const day of DAYS)
      files.forEach((file, i) => {
        const target = path.join(root, day, memberName(file, i));
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(file.path, target);
      });
    // The newer day carries a checksum list at its root with one wrong line: found without a listing.
    const sums = files.map((file, i) => `${'0'.repeat(64)}  ${i === 0 ? memberName(file, i) : 'absent'}`);
    writeFileSync(path.join(root, DAYS[1]!, 'SHA256SUMS'), `${sums.slice(0, 1).join('\n')}\n`);
    // An empty folder matching the pattern is no snapshot, listed or not.
    mkdirSync(path.join(root, 'snap-20260103'));
    const policy = (rehash: string) => timedPolicy(root, rehash);
    const stateDir = path.join(base, 'timed-state');
    const calls: string[] = [];
    const listed = new Map<string, number>();
    const first = await runScan(policy('always'), { stateDir, createSource: countingSource(calls, listed) });
    const [older, newer] = first.sets[0]!.snapshots;
    expect(first.sets[0]!.snapshots.map((s) => [s.id, s.deep, s.entries])).toEqual([
      [DAYS[0], true, files.length],
      [DAYS[1], true, files.length + 1],
    ]);
    expect(older!.verdict).toBe('clean');
    expect(newer!.findings.map((finding) => [finding.kind, finding.path])).toContainEqual([
      'sums-mismatch',
      memberName(files[0]!, 0),
    ]);
    // The set listed without the two snapshots, then each snapshot by its read (and its checksum lists alone).
    expect(calls.filter((call) => !/SUMS$/.test(call))).toEqual([
      ` skipping ${DAYS.join(',')}`,
      `${DAYS[0]}/`,
      `${DAYS[1]}/`,
    ]);
    expect(listed.size).toBe(2 * files.length + 1);
    // Only the checksum list is listed twice: once alone, once with its snapshot's members.
    expect([...listed].filter(([, times]) => times > 1)).toEqual([[`${DAYS[1]}/SHA256SUMS`, 2]]);

    // Read a day ago and due again in a week: the listing decides, so discovery lists them.
    calls.length = 0;
    const second = await runScan(policy('7d'), { stateDir, createSource: countingSource(calls) });
    expect(calls).toEqual(['']);
    expect(second.sets[0]!.snapshots.map((s) => [s.id, s.deep, s.entries])).toEqual([
      [DAYS[0], false, files.length],
      [DAYS[1], false, files.length + 1],
    ]);
  });

  it('a snapshot whose checksum lists cannot be looked for alone is listed by discovery, as before', async () => {
    const { policy } = smallTimedSet('sums-fail-set');
    const calls: string[] = [];
    const counting = countingSource(calls);
    const report = await runScan(policy, {
      stateDir: path.join(base, 'sums-fail-state'),
      createSource: async (set) => {
        const source = await counting(set);
        return {
          ...source,
          list(prefix = '', options = {}) {
            if (prefix.endsWith('SUMS')) throw new Error('the store refused the listing');
            return source.list(prefix, options);
          },
        };
      },
    });
    expect(calls).toEqual(['']);
    expect(report.sets[0]!.snapshots.map((s) => [s.id, s.verdict, s.entries])).toEqual([
      [DAYS[0], 'clean', 5],
    ]);
  });

  it('a snapshot folder emptied between discovery and its read is a failed read, never a clean snapshot of nothing', async () => {
    const { dir, policy } = smallTimedSet('emptied-set', 'd');
    const real = countingSource([]);
    const report = await runScan(policy, {
      stateDir: path.join(base, 'emptied-state'),
      createSource: async (set) => {
        const source = await real(set);
        return {
          ...source,
          list(prefix = '', options = {}) {
            // The read's listing finds the folder emptied (its files moved away, the folder kept).
            if (prefix === `${DAYS[0]}/`) rmSync(dir, { recursive: true });
            return source.list(prefix, options);
          },
        };
      },
    });
    const [snapshot] = report.sets[0]!.snapshots;
    expect([snapshot!.id, snapshot!.verdict, snapshot!.entries]).toEqual([DAYS[0], 'unverified', 0]);
    expect(snapshot!.findings.map((finding) => [finding.kind, finding.severity])).toEqual([
      ['read-error', 'critical'],
    ]);
    expect(snapshot!.findings[0]!.detail).toMatch(/held files when the scan began and lists none now/);
    expect(report.sets[0]!.lastClean).toBeNull();
  });

  describe('an S3 set', () => {
    let s3: EmbeddedS3;
    beforeAll(async () => {
      s3 = await startEmbeddedS3();
      process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    });
    afterAll(async () => s3?.stop());

    it('discovery lists the bucket once and the reads list nothing more', async () => {
      await s3.createBucket('dirs');
      const client = s3.client();
      try {
        for (const day of DAYS)
          for (const [i, file] of files.slice(0, 15).entries())
            await client.send(
              new PutObjectCommand({
                Bucket: 'dirs',
                Key: `nightly/${day}/${memberName(file, i)}`,
                Body: readFileSync(file.path),
              }),
            );
      } finally {
        client.destroy();
      }
      const policy = validatePolicy(
        {
          sets: {
            nightly: {
              source: {
                s3: {
                  bucket: 'dirs',
                  prefix: 'nightly/',
                  endpoint: s3.endpoint,
                  region: s3.region,
                  forcePathStyle: true,
                  checksums: 'when-required',
                },
              },
              snapshots: { layout: 'directory' },
              integrity: { rehash: 'always' },
            },
          },
        },
        'test',
        base,
      );
      const stateDir = path.join(base, 's3-state');
      for (let scan = 0; scan < 2; scan++) {
        const calls: string[] = [];
        const report = await runScan(policy, { stateDir, createSource: countingSource(calls) });
        expect(report.sets[0]!.snapshots.map((s) => [s.id, s.verdict, s.entries, s.deep])).toEqual(
          DAYS.map((day) => [day, 'clean', 15, true]),
        );
        expect(calls).toEqual(['']);
      }
    });
  });
});
