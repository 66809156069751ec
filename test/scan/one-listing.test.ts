/**
 * A scan lists a directory snapshot once: discovery's listing feeds the read (listing-spool.ts),
 * on a filesystem and on S3 alike — and the read still judges the bytes as they are, so a file
 * changed since the baseline is drift, every member is read, and the report matches the store.
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

/** The real source of `set`, with every `list(prefix)` call noted in `calls`. */
function countingSource(calls: string[]) {
  return async (set: SetPolicy): Promise<BackupSource> => {
    const source = await createSource(set.source, { set: set.name });
    return {
      ...source,
      list(prefix = '') {
        calls.push(prefix);
        return source.list(prefix);
      },
    };
  };
}

function memberName(file: MachineFile, i: number): string {
  return `d${i % 3}/${i}-${path.basename(file.path)}`;
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
