/**
 * What every `npm run bench` file shares: the data set (generated once into bench-data/, ignored by
 * git) — VOUCH_BENCH_GIB GiB (default 1) of plain files, a mix of incompressible, text-like and
 * repetitive content in sizes from 4 KiB to 256 MiB, the same files as one .tar.gz, and their
 * SHA256SUMS — and the measurement: wall time and peak RSS under /usr/bin/time, median of
 * VOUCH_BENCH_RUNS runs (default 3) after a warm-up run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (benchmarks run from source through tsx; they are not part of the build). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** bench-data/. */
export const DATA = path.join(ROOT, 'bench-data');
/** The built CLI (the bundle `npm run build` writes). */
export const CLI = path.join(ROOT, 'dist/vouch.js');
export const GIB = Number(process.env.VOUCH_BENCH_GIB ?? 1);
export const RUNS = Number(process.env.VOUCH_BENCH_RUNS ?? 3);
export const TOTAL = Math.round(GIB * 2 ** 30);

/** One run: wall seconds and peak RSS. */
export interface Measurement {
  seconds: number;
  peakRssKiB: number;
  /** User + system CPU seconds of the command and its children (steadier than wall time on a shared machine). */
  cpuSeconds: number;
}

function textLike(size: number, seed: number): Buffer {
  const words = [
    'order',
    'invoice',
    'customer',
    'total',
    'shipped',
    'pending',
    'warehouse',
    'pallet',
    'ream',
    'stapler',
    '\n',
  ];
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

/** Generates the data set unless it exists (a marker file names its size); returns the directory of its plain snapshots. */
export function generate(): string {
  const plain = path.join(DATA, 'plain', 'snap-20250101');
  const marker = path.join(DATA, `.complete-${TOTAL}`);
  if (existsSync(marker)) return path.dirname(plain);
  // Only this data set: other benchmarks keep their own corpora under bench-data/.
  for (const stale of ['plain', 'archives']) rmSync(path.join(DATA, stale), { recursive: true, force: true });
  mkdirSync(plain, { recursive: true });
  process.stderr.write(`generating ${GIB} GiB of bench data in ${DATA}…\n`);
  const sizes = [256 * 2 ** 20, 64 * 2 ** 20, 16 * 2 ** 20, 2 ** 20, 64 * 2 ** 10, 4 * 2 ** 10];
  let written = 0;
  let index = 0;
  while (written < TOTAL) {
    const size = Math.min(sizes[index % sizes.length]!, TOTAL - written);
    const kind = index % 3;
    const data =
      kind === 0 ? randomBytes(size) : kind === 1 ? textLike(size, index) : Buffer.alloc(size, index & 0xff);
    const dir = path.join(plain, `d${index % 8}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `f${index}.bin`), data);
    written += size;
    index++;
  }
  mkdirSync(path.join(DATA, 'archives'), { recursive: true });
  execFileSync('sh', ['-c', `tar -C "${plain}" -cf - . | gzip -1 > "${ARCHIVE}"`]);
  writeFileSync(marker, '');
  return path.dirname(plain);
}

/** The archive snapshot: the plain files as one .tar.gz (gzip -1, as backup tools default to speed). */
export const ARCHIVE = path.join(DATA, 'archives', 'snap-20250101.tar.gz');
/** SHA256SUMS of the archive's files, with the `./dX/fY.bin` paths tar extracts them to. */
export const ARCHIVE_SUMS = path.join(DATA, 'snap-20250101.sha256sums');

/** Writes ARCHIVE_SUMS once (what `sha256sum -c` checks an extracted tree against). */
export function ensureSums(): void {
  if (existsSync(ARCHIVE_SUMS)) return;
  const plain = path.join(DATA, 'plain', 'snap-20250101');
  execFileSync('sh', [
    '-c',
    `cd "${plain}" && find . -type f | sort | xargs sha256sum > "${ARCHIVE_SUMS}.tmp" && mv "${ARCHIVE_SUMS}.tmp" "${ARCHIVE_SUMS}"`,
  ]);
}

/** The plain files of the data set, in path order. */
export function plainFiles(): string[] {
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

/** Runs a shell command under /usr/bin/time; returns wall seconds, peak RSS and CPU seconds. */
export function measure(command: string): Measurement {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'sh', '-c', command], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0)
    throw new Error(`${command} failed (${result.status}): ${result.stderr.slice(-2000)}`);
  const [peak, user, system] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds, peakRssKiB: peak!, cpuSeconds: user! + system! };
}

/** The median of `values`. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `command()` once to warm caches, then RUNS times; median seconds and peak RSS. */
export function bench(
  name: string,
  command: () => string,
): { name: string; seconds: number; peakMiB: number } {
  measure(command()); // warm the page cache and the binary
  const runs = Array.from({ length: RUNS }, () => measure(command()));
  return {
    name,
    seconds: median(runs.map((r) => r.seconds)),
    peakMiB: Math.max(...runs.map((r) => r.peakRssKiB)) / 1024,
  };
}
