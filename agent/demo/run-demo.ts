/**
 * `vouch demo`: the whole loop on a demo estate with no configuration and no AWS account.
 * An embedded S3 server holds two weeks of nightly order-system backups (.tar.gz) and an offline
 * volume holds a week of plain-file snapshots; vouch records baselines, an intruder rewrites an
 * old archive, vouch scans again and reports what an operator needs, then restores the last clean
 * snapshot in a restore drill (restore-drills/kanda-orders.yaml: the order book loaded into a
 * throwaway PostgreSQL, the inventory database, exports and invoices checked) against the RTO.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { loadPolicy } from '../config/load-policy.js';
import { formatBytes } from '../config/byte-size.js';
import { formatDuration } from '../config/duration.js';
import type { DrillReport } from '../drills/drill-report.js';
import { readyDrill } from '../drills/ready-drills.js';
import { runDrillReport } from '../drills/run-drill.js';
import { describeError } from '../errors.js';
import { runScan, type ScanReport } from '../scan/scan-run.js';
import type { ScanProgress } from '../scan/progress.js';
import { startEmbeddedS3 } from '../sources/embedded-s3.js';
import { DEMO_DAYS, defaultDemoStart, demoBackupTime, demoSnapshotFiles, demoSnapshotName, packTarGz, type DemoFile } from './estate.js';

/** Demo settings. */
export interface DemoOptions {
  /** Keep state here (default: a new temporary directory, kept so it can be inspected). */
  stateDir?: string;
  progress?: ScanProgress;
  /** Where narration goes (stderr by default, so `--json` stays one document on stdout). */
  say?: (line: string) => void;
}

/** What the demo did. */
export interface DemoResult {
  stateDir: string;
  policyFile: string;
  baseline: ScanReport;
  afterTamper: ScanReport;
  /** The snapshot the intruder rewrote. */
  tampered: string;
  /** True when vouch caught the tampering and named the right last clean snapshot. */
  caught: boolean;
  /** The restore drill of the last clean snapshot, or null when it could not be set up. */
  drill: DrillReport | null;
}

const BUCKET = 'kanda-backups';
const TAMPERED_DAY = 4;
const OFFLINE_DAYS = 7;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** An intruder's edit: drop some orders from the dump and delete an invoice, then repack. */
function tamper(files: DemoFile[]): DemoFile[] {
  let droppedInvoice = false;
  return files.flatMap((file) => {
    if (!droppedInvoice && file.path.startsWith('invoices/')) {
      droppedInvoice = true;
      return [];
    }
    if (file.path === 'db/orders.sql') {
      const lines = file.data.toString('utf8').split('\n');
      const kept = lines.filter((line, index) => !(index % 5 === 0 && /^\d+\t/.test(line)));
      return [{ ...file, data: Buffer.from(kept.join('\n'), 'utf8') }];
    }
    return [file];
  });
}

async function writeOfflineVolume(root: string, start: Date): Promise<void> {
  for (let day = DEMO_DAYS - OFFLINE_DAYS; day < DEMO_DAYS; day++) {
    const when = demoBackupTime(day, start);
    const dir = path.join(root, when.toISOString().slice(0, 10));
    const files = (await demoSnapshotFiles(day, { start })).filter((file) => /^(invoices|exports)\//.test(file.path));
    for (const file of files) {
      const target = path.join(dir, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.data);
      await utimes(target, file.mtime, file.mtime);
    }
    await writeFile(path.join(dir, 'SHA256SUMS'), files.map((file) => `${sha256(file.data)}  ${file.path}\n`).join(''));
  }
}

function counts(report: ScanReport): { snapshots: number; bytes: number; entries: number } {
  const all = report.sets.flatMap((set) => set.snapshots);
  return { snapshots: all.length, bytes: all.reduce((sum, s) => sum + s.bytes, 0), entries: all.reduce((sum, s) => sum + s.entries, 0) };
}

/** Runs the demo; the caller prints `afterTamper` and decides the exit code. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stateDir = path.resolve(options.stateDir ?? (await mkdtemp(path.join(tmpdir(), 'vouch-demo-'))));
  // Run as root, drill commands run as another user, who must be able to reach the drill directory.
  if (!options.stateDir) await chmod(stateDir, 0o711);
  await mkdir(stateDir, { recursive: true });
  const offline = path.join(stateDir, 'demo-offline-volume');
  await rm(offline, { recursive: true, force: true });
  // The newest backup is today's 02:00Z one — or yesterday's, before 02:00Z, so none is in the future.
  const now = new Date();
  const start = new Date(defaultDemoStart(now).getTime() - (demoBackupTime(DEMO_DAYS - 1) > now ? 86_400_000 : 0));
  const s3 = await startEmbeddedS3({ buckets: [BUCKET] });
  // The embedded store's fixed credentials reach the S3 source through the SDK's default chain,
  // exactly as real credentials would; the policy file never holds secrets.
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  const client = s3.client();
  try {
    say(`vouch demo: embedded S3 at ${s3.endpoint}, state in ${stateDir}`);
    const sums: string[] = [];
    for (let day = 0; day < DEMO_DAYS; day++) {
      const archive = await packTarGz(await demoSnapshotFiles(day, { start }));
      const name = demoSnapshotName(day, start);
      sums.push(`${sha256(archive)}  ${name}`);
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `orders/${name}`, Body: archive }));
    }
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'orders/SHA256SUMS', Body: `${sums.join('\n')}\n` }));
    await writeOfflineVolume(offline, start);
    say(`  wrote ${DEMO_DAYS} nightly .tar.gz backups to s3://${BUCKET}/orders/ and ${OFFLINE_DAYS} snapshots to an offline volume`);

    const policyFile = path.join(stateDir, 'vouch-demo.yaml');
    const drill = await readyDrill('kanda-orders.yaml', 'orders');
    await writeFile(
      policyFile,
      `# Written by \`vouch demo\`. The embedded S3 server stops when the demo ends.\n${stringify({
        state: '.',
        sets: {
          orders: {
            source: { s3: { bucket: BUCKET, prefix: 'orders/', endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, checksums: 'when-required' } },
            snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' },
            targets: { rpo: '24h', rto: '2h' },
            drill,
          },
          'invoices-offline': {
            source: { fs: { path: './demo-offline-volume' } },
            snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
            targets: { rpo: '36h' },
          },
        },
      })}`,
    );
    const policy = await loadPolicy(policyFile);

    let started = Date.now();
    const baseline = await runScan(policy, { stateDir, ...(options.progress ? { progress: options.progress } : {}) });
    const first = counts(baseline);
    const seconds = (Date.now() - started) / 1000;
    say(`  first scan: baselines for ${first.snapshots} snapshots, ${first.entries} entries, ${formatBytes(first.bytes)} in ${formatDuration(seconds)}`);

    const tamperedName = demoSnapshotName(TAMPERED_DAY, start);
    const rewritten = await packTarGz(tamper(await demoSnapshotFiles(TAMPERED_DAY, { start })));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `orders/${tamperedName}`, Body: rewritten }));
    say(`  an intruder rewrote ${tamperedName}: dropped orders from db/orders.sql and deleted an invoice`);

    started = Date.now();
    const afterTamper = await runScan(policy, { stateDir, ...(options.progress ? { progress: options.progress } : {}) });
    say(`  second scan finished in ${formatDuration((Date.now() - started) / 1000)}\n`);
    const tampered = tamperedName.replace(/\.tar\.gz$/, '');
    const orders = afterTamper.sets.find((set) => set.name === 'orders');
    const hit = orders?.snapshots.find((snapshot) => snapshot.id === tampered);
    const caught =
      hit?.verdict === 'compromised' &&
      orders?.lastClean === demoSnapshotName(DEMO_DAYS - 1, start).replace(/\.tar\.gz$/, '') &&
      afterTamper.sets.every((set) => !set.error);

    let drillReport: DrillReport | null = null;
    const ordersSet = policy.sets.find((set) => set.name === 'orders')!;
    try {
      say(`  restore drill: restoring the last clean snapshot of orders into a sandbox and checking it`);
      drillReport = await runDrillReport(ordersSet, { stateDir });
    } catch (error) {
      say(`  restore drill could not run: ${describeError(error)}`);
    }
    return { stateDir, policyFile, baseline, afterTamper, tampered, caught, drill: drillReport };
  } finally {
    client.destroy();
    await s3.stop();
  }
}
