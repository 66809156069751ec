/**
 * `npm run bench:evidence`: `vouch evidence verify` on a ledger with one junk line of growing size
 * (8 MiB to 300 MiB, no newline inside), against `sha256sum` and `wc -l` reading the same file in
 * the same run. Verification must stay linear in the line's length (it was quadratic: 14 s for
 * 32 MiB, more than 10 minutes for 300 MiB) with flat memory past the 64 MiB record limit, where a
 * line is counted, not buffered. Prints medians and peak RSS.
 */
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { openLedger } from '../agent/ledger/ledger-store.js';
import { bench, CLI, DATA } from './bench-kit.js';

const SIZES_MIB = (process.env.VOUCH_BENCH_JUNK_MIB ?? '8,16,32,64,128,300').split(',').map(Number);
const RECORDS = 1000;

async function baseLedger(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const ledger = await openLedger(dir);
  for (let n = 1; n <= RECORDS; n++)
    await ledger.append('snapshot-scan', {
      set: 'orders',
      snapshot: `orders-${n}`,
      verdict: 'clean',
      findings: [],
    });
  await ledger.close();
}

/** Copies the base ledger with a junk line of `mib` MiB after the middle record. */
function withJunk(base: string, dir: string, mib: number): string {
  rmSync(dir, { recursive: true, force: true });
  cpSync(base, dir, { recursive: true });
  const segment = path.join(dir, 'ledger', '00000001.ndjson');
  const lines = readFileSync(segment, 'utf8').split('\n').filter(Boolean);
  const fd = openSync(segment, 'w');
  writeSync(fd, `${lines.slice(0, RECORDS / 2).join('\n')}\n`);
  // Printable junk (base64 of random bytes): no newline, not JSON.
  const block = Buffer.from(randomBytes(3 * 2 ** 20).toString('base64'));
  for (let left = mib * 2 ** 20; left > 0; left -= block.length)
    writeSync(fd, block, 0, Math.min(left, block.length));
  writeSync(fd, `\n${lines.slice(RECORDS / 2).join('\n')}\n`);
  closeSync(fd);
  return segment;
}

const root = path.join(DATA, 'evidence');
const base = path.join(root, 'base');
await baseLedger(base);
const rows: string[][] = [
  ['junk line', 'vouch verify', 'per MiB', 'sha256sum', 'wc -l', 'vs sha256sum', 'peak RSS'],
];
let firstPerMiB = 0;
for (const mib of SIZES_MIB) {
  const dir = path.join(root, `junk-${mib}`);
  const segment = withJunk(base, dir, mib);
  // Exit 3 is the expected verdict (the junk line is named); anything else fails the run.
  const vouch = bench(
    `verify ${mib} MiB`,
    () => `node ${CLI} --state ${dir} evidence verify --no-manifests >/dev/null; test $? -eq 3`,
  );
  const sha = bench(`sha256sum ${mib} MiB`, () => `sha256sum ${segment} >/dev/null`);
  const wc = bench(`wc ${mib} MiB`, () => `wc -l ${segment} >/dev/null`);
  const perMiB = vouch.seconds / mib;
  firstPerMiB ||= perMiB;
  rows.push([
    `${mib} MiB`,
    `${vouch.seconds.toFixed(2)} s`,
    `${(perMiB * 1000).toFixed(1)} ms (${(perMiB / firstPerMiB).toFixed(2)}× the first)`,
    `${sha.seconds.toFixed(2)} s`,
    `${wc.seconds.toFixed(2)} s`,
    `${(vouch.seconds / sha.seconds).toFixed(2)}×`,
    `${vouch.peakMiB.toFixed(0)} MiB`,
  ]);
  rmSync(dir, { recursive: true, force: true });
}
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
console.log(
  `evidence verify with one junk line among ${RECORDS} signed records (medians of ${process.env.VOUCH_BENCH_RUNS ?? 3}; Node start-up included):`,
);
for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
