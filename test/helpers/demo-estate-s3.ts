/** A small demo estate (the demo's order-system backups) on a real embedded S3 server, and its policy. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import {
  demoBackupTime,
  demoSnapshotFiles,
  demoSnapshotName,
  packTarGz,
  ransomwareHit,
} from '../../agent/demo/estate.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { now } from '../../agent/clock.js';

/** The estate: `days` nightly archives in s3://BUCKET/orders/. */
export interface S3Estate {
  s3: EmbeddedS3;
  bucket: string;
  days: number;
  start: Date;
  /** Environment that gives `vouch` the store's credentials through the SDK default chain. */
  env: NodeJS.ProcessEnv;
  /** Snapshot id of `day`. */
  snapshotId(day: number): string;
  snapshotTime(day: number): Date;
  /** Rewrites an old archive the way ransomware would (encrypted files, a ransom note). */
  ransomwareHit(day: number): Promise<void>;
  /** Writes a policy for the estate; `extra` is merged into the `orders` set. */
  writePolicy(dir: string, extra?: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

/** Builds the estate (days ending yesterday, so the newest is within a 48h RPO). */
export async function startS3Estate(days = 5): Promise<S3Estate> {
  const bucket = 'kanda-backups';
  const s3 = await startEmbeddedS3({ buckets: [bucket] });
  const client = s3.client();
  const today = now();
  const start = new Date(
    Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - days * 86_400_000,
  );
  for (let day = 0; day < days; day++) {
    const body = await packTarGz(await demoSnapshotFiles(day, { start }));
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: `orders/${demoSnapshotName(day, start)}`, Body: body }),
    );
  }
  return {
    s3,
    bucket,
    days,
    start,
    env: {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    },
    snapshotId: (day) => demoSnapshotName(day, start).replace(/\.tar\.gz$/, ''),
    snapshotTime: (day) => demoBackupTime(day, start),
    async ransomwareHit(day) {
      const body = await packTarGz(ransomwareHit(await demoSnapshotFiles(day, { start })));
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: `orders/${demoSnapshotName(day, start)}`, Body: body }),
      );
    },
    async writePolicy(dir, extra = {}) {
      const file = path.join(dir, 'vouch.yaml');
      const policy = {
        state: './state',
        sets: {
          orders: {
            source: {
              s3: {
                bucket,
                prefix: 'orders/',
                endpoint: s3.endpoint,
                region: s3.region,
                forcePathStyle: true,
                checksums: 'when-required',
                maxAttempts: 2,
              },
            },
            snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' },
            targets: { rpo: '48h', rto: '2h' },
            schedule: { scan: '0 * * * *', drill: '30 3 * * *', timezone: 'UTC' },
            ...extra,
          },
        },
      };
      await writeFile(file, stringify(policy));
      return file;
    },
    async stop() {
      client.destroy();
      await s3.stop();
    },
  };
}
