/**
 * `vouch demo`: the whole loop on a demo estate with no configuration and no AWS account.
 * An embedded S3 server holds two weeks of nightly order-system backups (.tar.gz), a restic
 * repository the last nights of the same system, and an offline volume a week of plain-file
 * snapshots; vouch records baselines. Then an intruder rewrites
 * an old archive and ransomware hits the servers before the newest nightly backup, which captures
 * the damage (encrypted and renamed files, files encrypted in place, a ransom note). vouch scans
 * again and reports what an operator needs: the bad snapshots (in S3 and in restic), why, and the
 * last clean one —
 * then restores that snapshot in a restore drill (restore-drills/kanda-orders.yaml: the order book
 * loaded into a throwaway PostgreSQL, the inventory database, exports and invoices checked)
 * against the RTO.
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
import type { DrillReport } from '../model/drill.js';
import { readyDrill } from '../drills/ready-drills.js';
import { runDrillReport } from '../drills/run-drill.js';
import { describeError } from '../errors.js';
import { runScan, type ScanReport } from '../scan/scan-run.js';
import type { ScanProgress } from '../scan/progress.js';
import { startEmbeddedS3 } from './embedded-s3.js';
import { now as clockNow } from '../clock.js';
import { ToolMissingError } from '../tools/tool-process.js';
import { initResticRepository, resticBackup, type ResticTarget } from './restic-repository.js';
import {
  DEMO_DAYS,
  defaultDemoStart,
  demoBackupTime,
  demoSnapshotFiles,
  demoSnapshotName,
  packTarGz,
  RANSOM_EXTENSION,
  RANSOM_NOTE,
  ransomwareHit,
} from './estate.js';
import { type DemoFile } from './demo-file.js';
import { ransomTreatment } from './ransomware.js';

export interface DemoOptions {
  /** Keep state here (default: a new temporary directory, kept so it can be inspected). */
  stateDir?: string;
  progress?: ScanProgress;
  /** Where narration goes (stderr by default, so `--json` stays one document on stdout). */
  say?: (line: string) => void;
  /** Leave the embedded S3 server running (for `demo --serve`); the result's `stopStore` stops it. */
  keepStore?: boolean;
}

/** The demo's restic repository: the same order system backed up by restic (null when restic is not installed). */
export interface DemoRestic {
  set: string;
  /** The restic snapshot taken after the ransomware hit. */
  ransomware: string;
  /** The one vouch should name as the last clean restic snapshot. */
  expectedLastClean: string;
}

/** What the demo did. */
export interface DemoResult {
  stateDir: string;
  policyFile: string;
  baseline: ScanReport;
  afterTamper: ScanReport;
  /** The snapshot the intruder rewrote. */
  tampered: string;
  /** The newest snapshot, taken after the ransomware hit. */
  ransomware: string;
  /** What the ransomware did to that snapshot's files (the ground truth detection is measured against). */
  hit: RansomwareHitSummary;
  /** The snapshot vouch should name as the last clean one. */
  expectedLastClean: string;
  /** True when vouch caught the tampering and the ransomware and named the right last clean snapshot. */
  caught: boolean;
  /** Stops the embedded S3 server (only with `keepStore`; otherwise it is already stopped). */
  stopStore: () => Promise<void>;
  /** The restore drill of the last clean snapshot, or null when it could not be set up. */
  drill: DrillReport | null;
  restic: DemoRestic | null;
}

/** Paths in the hit snapshot, by what the ransomware did to them. */
export interface RansomwareHitSummary {
  /** Encrypted whole and renamed `*.kandalock`. */
  renamed: string[];
  /** Encrypted in place, 16 bytes on and 16 off (databases and large files). */
  inPlace: string[];
  /** The ransom note. */
  note: string;
}

const BUCKET = 'kanda-backups';
const TAMPERED_DAY = 4;
/** The newest nightly backup is the one taken after the ransomware hit. */
const HIT_DAY = DEMO_DAYS - 1;
const OFFLINE_DAYS = 7;
/** Nightly restic snapshots before the hit (fewer than the S3 history: each is a restic run). */
const RESTIC_DAYS = 4;
const RESTIC_SET = 'orders-restic';

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
    const files = (await demoSnapshotFiles(day, { start })).filter((file) =>
      /^(invoices|exports)\//.test(file.path),
    );
    for (const file of files) {
      const target = path.join(dir, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.data);
      await utimes(target, file.mtime, file.mtime);
    }
    await writeFile(
      path.join(dir, 'SHA256SUMS'),
      files.map((file) => `${sha256(file.data)}  ${file.path}\n`).join(''),
    );
  }
}

/**
 * The order system's restic repository: `RESTIC_DAYS` nightly snapshots before the hit, written
 * by the real restic. Null (and the demo goes on without it) when restic is not installed.
 */
async function writeResticRepository(
  stateDir: string,
  start: Date,
  say: (line: string) => void,
): Promise<ResticTarget | null> {
  const target = {
    repository: path.join(stateDir, 'demo-restic-repo'),
    passwordFile: path.join(stateDir, 'demo-restic.pw'),
  };
  await rm(target.repository, { recursive: true, force: true });
  // A demo password, in a file only its owner reads: the policy names the file, never the password.
  await writeFile(target.passwordFile, 'kanda-demo-restic\n', { mode: 0o600 });
  try {
    await initResticRepository(target);
  } catch (error) {
    if (!(error instanceof ToolMissingError)) throw error;
    say(`  (restic is not installed: the restic part of the demo is skipped; ${error.message})`);
    return null;
  }
  for (let day = HIT_DAY - RESTIC_DAYS; day < HIT_DAY; day++) {
    await resticBackup(target, await demoSnapshotFiles(day, { start }), demoBackupTime(day, start), {
      host: 'kanda-db1',
      tags: ['nightly'],
    });
  }
  return target;
}

function counts(report: ScanReport): { snapshots: number; bytes: number; entries: number } {
  const all = report.sets.flatMap((set) => set.snapshots);
  return {
    snapshots: all.length,
    bytes: all.reduce((sum, s) => sum + s.bytes, 0),
    entries: all.reduce((sum, s) => sum + s.entries, 0),
  };
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
  const now = clockNow();
  const start = new Date(
    defaultDemoStart(now).getTime() - (demoBackupTime(DEMO_DAYS - 1) > now ? 86_400_000 : 0),
  );
  const s3 = await startEmbeddedS3({ buckets: [BUCKET] });
  // The embedded store's fixed credentials reach the S3 source through the SDK's default chain,
  // exactly as real credentials would; the policy file never holds secrets.
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  const client = s3.client();
  let keep = false;
  try {
    say(`vouch demo: embedded S3 at ${s3.endpoint}, state in ${stateDir}`);
    const sums: string[] = [];
    const putBackup = async (day: number, files: DemoFile[]) => {
      const archive = await packTarGz(files);
      const name = demoSnapshotName(day, start);
      sums.push(`${sha256(archive)}  ${name}`);
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `orders/${name}`, Body: archive }));
      await client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'orders/SHA256SUMS', Body: `${sums.join('\n')}\n` }),
      );
    };
    for (let day = 0; day < HIT_DAY; day++) await putBackup(day, await demoSnapshotFiles(day, { start }));
    await writeOfflineVolume(offline, start);
    const restic = await writeResticRepository(stateDir, start, say);
    say(
      `  wrote ${HIT_DAY} nightly .tar.gz backups to s3://${BUCKET}/orders/${restic ? `, ${RESTIC_DAYS} restic snapshots to a restic repository` : ''} and ${OFFLINE_DAYS} snapshots to an offline volume`,
    );

    const policyFile = path.join(stateDir, 'vouch-demo.yaml');
    const drill = await readyDrill('kanda-orders.yaml', 'orders');
    await writeFile(
      policyFile,
      `# Written by \`vouch demo\`. The embedded S3 server stops when the demo ends.\n${stringify({
        state: '.',
        sets: {
          orders: {
            source: {
              s3: {
                bucket: BUCKET,
                prefix: 'orders/',
                endpoint: s3.endpoint,
                region: s3.region,
                forcePathStyle: true,
                checksums: 'when-required',
              },
            },
            snapshots: { layout: 'archive', match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' },
            targets: { rpo: '24h', rto: '2h' },
            schedule: { scan: '*/10 * * * *', timezone: 'UTC' },
            drill,
          },
          ...(restic
            ? {
                [RESTIC_SET]: {
                  source: {
                    restic: {
                      repository: './demo-restic-repo',
                      passwordFile: './demo-restic.pw',
                      tags: ['nightly'],
                    },
                  },
                  targets: { rpo: '24h', rto: '2h' },
                  schedule: { scan: '*/10 * * * *', timezone: 'UTC' },
                },
              }
            : {}),
          'invoices-offline': {
            source: { fs: { path: './demo-offline-volume' } },
            snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
            targets: { rpo: '36h' },
            schedule: { scan: '*/10 * * * *', timezone: 'UTC' },
          },
        },
      })}`,
    );
    const policy = await loadPolicy(policyFile);

    let started = Date.now();
    const baseline = await runScan(policy, {
      stateDir,
      ...(options.progress ? { progress: options.progress } : {}),
    });
    const first = counts(baseline);
    const seconds = (Date.now() - started) / 1000;
    say(
      `  first scan: baselines for ${first.snapshots} snapshots, ${first.entries} entries, ${formatBytes(first.bytes)} in ${formatDuration(seconds)}`,
    );

    const tamperedName = demoSnapshotName(TAMPERED_DAY, start);
    const rewritten = await packTarGz(tamper(await demoSnapshotFiles(TAMPERED_DAY, { start })));
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `orders/${tamperedName}`, Body: rewritten }),
    );
    say(`  an intruder rewrote ${tamperedName}: dropped orders from db/orders.sql and deleted an invoice`);
    const beforeHit = await demoSnapshotFiles(HIT_DAY, { start });
    const hitFiles = ransomwareHit(beforeHit);
    await putBackup(HIT_DAY, hitFiles);
    if (restic)
      await resticBackup(restic, hitFiles, demoBackupTime(HIT_DAY, start), {
        host: 'kanda-db1',
        tags: ['nightly'],
      });
    const hit: RansomwareHitSummary = {
      renamed: beforeHit
        .filter((file) => ransomTreatment(file) === 'full')
        .map((file) => `${file.path}${RANSOM_EXTENSION}`),
      inPlace: beforeHit.filter((file) => ransomTreatment(file) === 'intermittent').map((file) => file.path),
      note: RANSOM_NOTE,
    };
    say(
      `  ransomware hit the servers before ${demoSnapshotName(HIT_DAY, start)}: ${hit.renamed.length} files encrypted and renamed *${RANSOM_EXTENSION}, ${hit.inPlace.length} databases and large files encrypted in place, ${RANSOM_NOTE} dropped`,
    );

    started = Date.now();
    const afterTamper = await runScan(policy, {
      stateDir,
      ...(options.progress ? { progress: options.progress } : {}),
    });
    say(`  second scan finished in ${formatDuration((Date.now() - started) / 1000)}\n`);
    const id = (day: number) => demoSnapshotName(day, start).replace(/\.tar\.gz$/, '');
    const tampered = id(TAMPERED_DAY);
    const ransomware = id(HIT_DAY);
    const expectedLastClean = id(HIT_DAY - 1);
    const orders = afterTamper.sets.find((set) => set.name === 'orders');
    const verdictOf = (snapshot: string) => orders?.snapshots.find((s) => s.id === snapshot)?.verdict;
    // restic names its snapshots itself: the newest is the one after the hit, the one before it the last clean.
    const resticSet = afterTamper.sets.find((set) => set.name === RESTIC_SET);
    const resticResult: DemoRestic | null =
      restic && resticSet
        ? {
            set: RESTIC_SET,
            ransomware: resticSet.snapshots.at(-1)?.id ?? '',
            expectedLastClean: resticSet.snapshots.at(-2)?.id ?? '',
          }
        : null;
    const resticCaught =
      !restic ||
      (resticSet !== undefined &&
        resticSet.snapshots.length === RESTIC_DAYS + 1 &&
        resticSet.snapshots.at(-1)?.verdict === 'compromised' &&
        resticSet.lastClean === resticResult?.expectedLastClean);
    const caught =
      verdictOf(tampered) === 'compromised' &&
      verdictOf(ransomware) === 'compromised' &&
      orders?.lastClean === expectedLastClean &&
      resticCaught &&
      afterTamper.sets.every((set) => !set.error) &&
      // The offline copies were out of the attackers' reach: they must stay clean.
      afterTamper.sets
        .filter((set) => set.name !== 'orders' && set.name !== RESTIC_SET)
        .every((set) => set.snapshots.every((s) => s.verdict === 'clean'));

    let drillReport: DrillReport | null = null;
    const ordersSet = policy.sets.find((set) => set.name === 'orders')!;
    try {
      say(`  restore drill: restoring the last clean snapshot of orders into a sandbox and checking it`);
      drillReport = await runDrillReport(ordersSet, { stateDir });
    } catch (error) {
      say(`  restore drill could not run: ${describeError(error)}`);
    }
    keep = options.keepStore ?? false;
    return {
      stateDir,
      policyFile,
      baseline,
      afterTamper,
      tampered,
      ransomware,
      hit,
      expectedLastClean,
      caught,
      drill: drillReport,
      restic: resticResult,
      stopStore: () => s3.stop(),
    };
  } finally {
    client.destroy();
    // A failed demo never leaves the store behind.
    if (!keep) await s3.stop();
  }
}
