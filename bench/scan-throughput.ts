/**
 * `npm run bench`: vouch scan throughput against the tools a user would compare it with, measured
 * in the same run on the same bytes, plus vouch's peak memory. Prints medians and ratios.
 *
 * Data set (generated once into bench-data/, ignored by git): VOUCH_BENCH_GIB GiB (default 1) of
 * plain files — a mix of incompressible, text-like and repetitive content in sizes from 4 KiB to
 * 256 MiB — and the same files as one .tar.gz.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DATA = path.join(ROOT, 'bench-data');
const CLI = path.join(ROOT, 'dist/agent/cli/main.js');
const GIB = Number(process.env.VOUCH_BENCH_GIB ?? 1);
const RUNS = Number(process.env.VOUCH_BENCH_RUNS ?? 3);
const TOTAL = Math.round(GIB * 2 ** 30);

interface Measurement {
  seconds: number;
  peakRssKiB: number;
}

function textLike(size: number, seed: number): Buffer {
  const words = ['order', 'invoice', 'customer', 'total', 'shipped', 'pending', 'warehouse', 'pallet', 'ream', 'stapler', '\n'];
  const parts: string[] = [];
  let length = 0;
  let x = seed;
  while (length < size) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const word = `${words[x % words.length]}${x % 997} `;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

function generate(): void {
  const plain = path.join(DATA, 'plain', 'snap-20250101');
  const marker = path.join(DATA, `.complete-${TOTAL}`);
  if (existsSync(marker)) return;
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(plain, { recursive: true });
  process.stderr.write(`generating ${GIB} GiB of bench data in ${DATA}…\n`);
  const sizes = [256 * 2 ** 20, 64 * 2 ** 20, 16 * 2 ** 20, 2 ** 20, 64 * 2 ** 10, 4 * 2 ** 10];
  let written = 0;
  let index = 0;
  while (written < TOTAL) {
    const size = Math.min(sizes[index % sizes.length]!, TOTAL - written);
    const kind = index % 3;
    const data = kind === 0 ? randomBytes(size) : kind === 1 ? textLike(size, index) : Buffer.alloc(size, index & 0xff);
    const dir = path.join(plain, `d${index % 8}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `f${index}.bin`), data);
    written += size;
    index++;
  }
  mkdirSync(path.join(DATA, 'archives'), { recursive: true });
  execFileSync('sh', ['-c', `tar -C "${plain}" -cf - . | gzip -1 > "${path.join(DATA, 'archives', 'snap-20250101.tar.gz')}"`]);
  writeFileSync(marker, '');
}

function plainFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(path.join(DATA, 'plain'));
  return out;
}

/** Runs a shell command under /usr/bin/time; returns wall seconds and peak RSS. */
function measure(command: string): Measurement {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', command], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr.slice(-2000)}`);
  const peakRssKiB = Number(result.stderr.trim().split('\n').pop());
  return { seconds, peakRssKiB };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function bench(name: string, command: () => string): { name: string; seconds: number; peakMiB: number } {
  measure(command()); // warm the page cache and the binary
  const runs = Array.from({ length: RUNS }, () => measure(command()));
  return { name, seconds: median(runs.map((r) => r.seconds)), peakMiB: Math.max(...runs.map((r) => r.peakRssKiB)) / 1024 };
}

function vouchScan(layout: 'directory' | 'archive', algorithm: 'sha256' | 'blake3'): () => string {
  const base = mkdtempSync(path.join(tmpdir(), 'vouch-bench-'));
  const policy = path.join(base, 'policy.yaml');
  const source = layout === 'directory' ? path.join(DATA, 'plain') : path.join(DATA, 'archives');
  writeFileSync(policy, `sets:\n  bench:\n    source: { fs: { path: ${JSON.stringify(source)} } }\n    snapshots: { layout: ${layout} }\n    integrity: { algorithm: ${algorithm} }\n`);
  let run = 0;
  // A fresh state directory each run: every run reads every byte and writes the baseline.
  return () => `node ${JSON.stringify(CLI)} --config ${JSON.stringify(policy)} --state ${JSON.stringify(path.join(base, `state-${run++}`))} --json scan > /dev/null`;
}

generate();
const files = plainFiles();
const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
const fileArgs = files.map((file) => JSON.stringify(file)).join(' ');
const archive = JSON.stringify(path.join(DATA, 'archives', 'snap-20250101.tar.gz'));

const results = [
  bench('openssl dgst -sha256 (plain files)', () => `openssl dgst -sha256 ${fileArgs} > /dev/null`),
  bench('sha256sum (plain files)', () => `sha256sum ${fileArgs} > /dev/null`),
  bench('b3sum (plain files)', () => `b3sum ${fileArgs} > /dev/null`),
  bench('vouch scan, sha256 (plain files)', vouchScan('directory', 'sha256')),
  bench('vouch scan, blake3 (plain files)', vouchScan('directory', 'blake3')),
  bench('GNU tar -xzO | sha256sum (.tar.gz)', () => `tar -xzOf ${archive} | sha256sum > /dev/null`),
  bench('vouch scan, sha256 (.tar.gz)', vouchScan('archive', 'sha256')),
];

const find = (name: string) => results.find((result) => result.name.startsWith(name))!;
const mib = bytes / 2 ** 20;
console.log(`\nvouch scan throughput — ${(bytes / 2 ** 30).toFixed(2)} GiB in ${files.length} files, median of ${RUNS} runs (warm cache)\n`);
console.log('tool'.padEnd(40), 'median s'.padStart(9), 'MiB/s'.padStart(8), 'peak RSS MiB'.padStart(13));
for (const result of results) {
  console.log(result.name.padEnd(40), result.seconds.toFixed(2).padStart(9), (mib / result.seconds).toFixed(0).padStart(8), result.peakMiB.toFixed(0).padStart(13));
}
const ratio = (a: string, b: string) => (find(b).seconds / find(a).seconds).toFixed(2);
console.log('\nratios (throughput of vouch / throughput of the other tool; ≥ 1 means vouch is faster)');
console.log(`  vouch sha256 plain  vs openssl dgst -sha256: ${ratio('vouch scan, sha256 (plain', 'openssl')}  (target ≥ 0.8)`);
console.log(`  vouch sha256 plain  vs sha256sum:            ${ratio('vouch scan, sha256 (plain', 'sha256sum')}`);
console.log(`  vouch blake3 plain  vs b3sum:                ${ratio('vouch scan, blake3', 'b3sum')}`);
console.log(`  vouch sha256 tar.gz vs GNU tar | sha256sum:  ${ratio('vouch scan, sha256 (.tar.gz', 'GNU tar')}`);
const peak = Math.max(...results.filter((r) => r.name.startsWith('vouch')).map((r) => r.peakMiB));
console.log(`  vouch peak RSS: ${peak.toFixed(0)} MiB (target < 200 MiB whatever the object size)`);
