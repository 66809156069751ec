/**
 * `npm run bench` (scale part): memory and latency at estate scale, in one run.
 *
 * - Two snapshots of 1,000,000 entries each (.tar.gz, the second with 1 % of the files changed):
 *   the first scan (baselines, detection with history) and a rescan (drift against the baselines)
 *   under /usr/bin/time — wall time and peak RSS (target: < 300 MiB).
 * - A set of 1,000 snapshots: the first scan, a rescan (the metadata pass), and `vouch last-clean`
 *   from the state directory (median of VOUCH_BENCH_RUNS after a warm-up; target: well under 1 s).
 *
 * Data goes to bench-data/scale/ (generated once; tar headers written directly, so a million
 * entries take seconds).
 */
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { createGzip, gzipSync } from 'node:zlib';
import { bench, CLI, DATA, measure, RUNS } from './bench-kit.js';

const SCALE = path.join(DATA, 'scale');
const ENTRIES = Number(process.env.VOUCH_BENCH_ENTRIES ?? 1_000_000);
const SNAPSHOTS = 1000;

/** One ustar header (name ≤ 100 bytes) with its checksum. */
function tarHeader(name: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  const octal = (offset: number, length: number, value: number) =>
    block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_759_276_800);
  block.write('        ', 148, 8, 'ascii');
  block.write('0', 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  octal(148, 7, sum);
  return block;
}

function tarMember(name: string, data: Buffer): Buffer {
  const padding = (512 - (data.length % 512)) % 512;
  return Buffer.concat([tarHeader(name, data.length), data, Buffer.alloc(padding)]);
}

/** A snapshot of ENTRIES small files in 1,000 folders (in folder order, as tar writes a tree); `revision` changes 1 %. */
async function writeBigSnapshot(file: string, revision: number): Promise<void> {
  const gzip = createGzip({ level: 1 });
  const out = gzip.pipe(createWriteStream(file));
  for (let i = 0; i < ENTRIES; i++) {
    const changed = revision > 0 && i % 100 === 7;
    const name = `data/d${String(Math.floor(i / 1000)).padStart(4, '0')}/f${String(i).padStart(7, '0')}.txt`;
    if (
      !gzip.write(
        tarMember(
          name,
          Buffer.from(`record ${i} of the ledger export, revision ${changed ? revision : 0}\n`),
        ),
      )
    )
      await once(gzip, 'drain');
  }
  gzip.end(Buffer.alloc(1024));
  await once(out, 'finish');
}

function policyFile(name: string, directory: string, match: string): string {
  const file = path.join(SCALE, `${name}.yaml`);
  writeFileSync(
    file,
    `sets:\n  ${name}:\n    source: { fs: { path: ${JSON.stringify(directory)} } }\n    snapshots: { layout: archive, match: '${match}' }\n`,
  );
  return file;
}

const mib = (kib: number) => kib / 1024;
const q = JSON.stringify;

const big = path.join(SCALE, `million-${ENTRIES}`);
if (!existsSync(path.join(big, '.complete'))) {
  rmSync(big, { recursive: true, force: true });
  mkdirSync(big, { recursive: true });
  process.stderr.write(`generating two snapshots of ${ENTRIES} entries in ${big}…\n`);
  await writeBigSnapshot(path.join(big, 'big-20251001.tar.gz'), 0);
  await writeBigSnapshot(path.join(big, 'big-20251002.tar.gz'), 1);
  writeFileSync(path.join(big, '.complete'), '');
}
const many = path.join(SCALE, 'thousand');
if (!existsSync(path.join(many, '.complete'))) {
  rmSync(many, { recursive: true, force: true });
  mkdirSync(many, { recursive: true });
  const start = Date.parse('2023-01-01T00:00:00Z');
  for (let i = 0; i < SNAPSHOTS; i++) {
    const day = new Date(start + i * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    const tar = Buffer.concat([
      tarMember(
        'db/orders.sql',
        Buffer.from(`-- dump ${i}\n${'insert into orders values (1);\n'.repeat(50)}`),
      ),
      tarMember('README.txt', Buffer.from(`nightly ${day}\n`)),
      Buffer.alloc(1024),
    ]);
    writeFileSync(path.join(many, `orders-${day}.tar.gz`), gzipSync(tar));
  }
  writeFileSync(path.join(many, '.complete'), '');
}

const bigPolicy = policyFile('big', big, '^big-(?<time>\\d{8})\\.tar\\.gz$');
const bigState = path.join(SCALE, 'state-big');
rmSync(bigState, { recursive: true, force: true });
const scanBig = `node ${q(CLI)} --config ${q(bigPolicy)} --state ${q(bigState)} --json scan > /dev/null`;
const firstBig = measure(scanBig);
const rescanBig = measure(scanBig);

const manyPolicy = policyFile('orders', many, '^orders-(?<time>\\d{8})\\.tar\\.gz$');
const manyState = path.join(SCALE, 'state-thousand');
rmSync(manyState, { recursive: true, force: true });
const scanMany = `node ${q(CLI)} --config ${q(manyPolicy)} --state ${q(manyState)} --json scan > /dev/null`;
const firstMany = measure(scanMany);
const rescanMany = measure(scanMany);
const lastClean = bench(
  'vouch last-clean (1,000 snapshots)',
  () =>
    `node ${q(CLI)} --config ${q(manyPolicy)} --state ${q(manyState)} --json last-clean orders > /dev/null`,
);

console.log(`\nvouch at scale — median of ${RUNS} runs where repeated\n`);
console.log('what'.padEnd(58), 'seconds'.padStart(9), 'peak RSS MiB'.padStart(13));
const row = (name: string, seconds: number, kib: number) =>
  console.log(name.padEnd(58), seconds.toFixed(2).padStart(9), mib(kib).toFixed(0).padStart(13));
row(
  `scan 2 × ${ENTRIES.toLocaleString('en')}-entry snapshots (baselines + history)`,
  firstBig.seconds,
  firstBig.peakRssKiB,
);
row(`rescan them (drift against the baselines)`, rescanBig.seconds, rescanBig.peakRssKiB);
row(`scan ${SNAPSHOTS} snapshots (baselines)`, firstMany.seconds, firstMany.peakRssKiB);
row(`rescan ${SNAPSHOTS} snapshots (metadata pass)`, rescanMany.seconds, rescanMany.peakRssKiB);
row(lastClean.name, lastClean.seconds, lastClean.peakMiB * 1024);
console.log(
  `\n  peak RSS of a ${ENTRIES.toLocaleString('en')}-entry snapshot scan: ${mib(Math.max(firstBig.peakRssKiB, rescanBig.peakRssKiB)).toFixed(0)} MiB (target < 300 MiB)`,
);
console.log(
  `  last-clean on ${SNAPSHOTS} snapshots: ${(lastClean.seconds * 1000).toFixed(0)} ms, process start included (target well under 1 s)`,
);
