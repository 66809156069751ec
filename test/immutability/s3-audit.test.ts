import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { readLedger } from '../../agent/ledger/ledger-store.js';
import { readImmutabilityAudit } from '../../agent/state/immutability-store.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli } from '../helpers/cli.js';

let s3: EmbeddedS3;

beforeAll(async () => {
  s3 = await startEmbeddedS3({ buckets: ['backups'] });
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  const client = s3.client();
  for (const day of ['20251017', '20251018']) {
    await client.send(
      new PutObjectCommand({
        Bucket: 'backups',
        Key: `orders/orders-${day}T020000Z.tar.gz`,
        Body: await buildTarGz(sampleFiles(Number(day.slice(-1)))),
      }),
    );
  }
});
afterAll(async () => s3?.stop());

function policyDocument(volume: string) {
  return {
    sets: {
      'orders-s3': {
        source: {
          s3: {
            bucket: 'backups',
            prefix: 'orders/',
            endpoint: s3.endpoint,
            forcePathStyle: true,
            checksums: 'when-required',
            maxAttempts: 1,
          },
        },
        snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' },
        immutability: { objectLock: 'compliance', minRetention: '30d', versioning: 'required' },
        storage: { offsite: true },
      },
      'orders-offline': {
        source: { fs: { path: volume } },
        snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' },
      },
    },
    datasets: { orders: { copies: ['orders-s3', 'orders-offline'] } },
  };
}

describe('immutability audit during vouch scan (real s3rver)', () => {
  it('never reports a store without Object Lock as compliant: unknown answers fail the audit', async () => {
    const state = await mkdtemp(path.join(tmpdir(), 'vouch-audit-'));
    const volume = path.join(state, 'volume');
    await mkdir(volume);
    await writeFile(path.join(volume, 'orders-20251018T020000Z.tar.gz'), await buildTarGz(sampleFiles(8)));
    const report = await runScan(validatePolicy(policyDocument(volume), 'test', state), { stateDir: state });
    const audit = report.sets.find((set) => set.name === 'orders-s3')!.immutability!;
    expect(audit.ok).toBe(false);
    expect(audit.protected).toBe(false);
    const status = Object.fromEntries(audit.checks.map((check) => [check.check, check.status]));
    expect(status).toMatchObject({
      'object-lock': 'unknown',
      versioning: 'fail',
      'object-retention': 'unknown',
      lifecycle: 'info',
    });
    expect(audit.checks.find((check) => check.check === 'object-lock')!.detail).toMatch(/NotImplemented/);
    expect(audit.findings.every((finding) => finding.kind === 'immutability')).toBe(true);
    expect(await readImmutabilityAudit(state, 'orders-s3')).toEqual(audit);

    // the offline copy is in a data set, so it is audited too (no requirements of its own: ok is null)
    expect(report.sets.find((set) => set.name === 'orders-offline')!.immutability).toMatchObject({
      ok: null,
      kind: 'fs',
    });
    expect(report.datasets).toEqual([
      expect.objectContaining({
        dataset: 'orders',
        ok: false,
        parts: expect.objectContaining({
          copies: { ok: false, count: 2, required: 3 },
          media: { ok: true, count: 2, required: 2 },
          offsite: { ok: true, count: 1, required: 1 },
          immutable: { ok: false, count: 0, required: 1 },
        }),
      }),
    ]);
    const types: string[] = [];
    for await (const record of readLedger(state)) types.push(record!.type);
    expect(types.filter((type) => type === 'immutability-audit')).toHaveLength(2);
  });

  it('makes vouch scan exit 3 and print why when immutability does not hold', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-audit-cli-'));
    const volume = path.join(dir, 'volume');
    await mkdir(volume);
    const config = path.join(dir, 'vouch.yaml');
    await writeFile(config, JSON.stringify({ state: './state', ...policyDocument(volume) }));
    const { code, stdout } = await runCli(['--config', config, 'scan', 'orders-s3'], {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    expect(code).toBe(3);
    expect(stdout).toContain('immutability DOES NOT HOLD');
    expect(stdout).toMatch(/unknown +object-lock: bucket backups: Object Lock configuration not readable/);
    expect(stdout).toMatch(/data set orders: 3-2-1-1-0 NOT met/);
  });
});
