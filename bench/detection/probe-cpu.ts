/**
 * `npx tsx bench/detection/probe-cpu.ts DIR…`: the CPU the content probe (detection's single pass:
 * type, structure validator, byte statistics, ransom-note phrases) spends on every regular file
 * under DIR, by detected type — detection alone, without reading, hashing or the scan around it.
 * Files up to 1 MiB are given whole (`ContentProbe.whole`, as the analysis workers read them), larger ones in 256 KiB
 * chunks. Each file is probed VOUCH_PROBE_RUNS times (default 3) and the fastest run counts, so a
 * busy shared machine disturbs the comparison of two builds less.
 */
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { claimedType } from '../../agent/detection/classify.js';
import { prepareValidators, probeFor } from '../../agent/detection/registry.js';

const RUNS = Number(process.env.VOUCH_PROBE_RUNS ?? 3);
const WHOLE_MAX = 2 ** 20;
const CHUNK = 256 * 1024;

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile() && lstatSync(full).isFile()) yield full;
  }
}

function probe(file: string, data: Buffer): string {
  const claim = claimedType(file);
  const probe = probeFor(data.length, claim);
  let features;
  if (data.length <= WHOLE_MAX) features = probe.whole(data);
  else {
    for (let at = 0; at < data.length; at += CHUNK) probe.update(data.subarray(at, at + CHUNK));
    features = probe.finish();
  }
  return `${features.type}:${features.structure?.status ?? 'none'}:${Math.round(features.stats.chi2)}:${features.ransomMarkers.join('+')}`;
}

await prepareValidators();
const byType = new Map<string, { files: number; bytes: number; ms: number }>();
let total = 0;
const verdicts: string[] = [];
const slowest: [number, string][] = [];
for (const root of process.argv.slice(2)) {
  for (const file of walk(root)) {
    const data = readFileSync(file);
    let best = Infinity;
    let verdict = '';
    for (let run = 0; run < RUNS; run++) {
      const start = process.cpuUsage();
      verdict = probe(file, data);
      const used = process.cpuUsage(start);
      best = Math.min(best, (used.user + used.system) / 1000);
    }
    verdicts.push(`${path.relative(root, file)} ${verdict}`);
    slowest.push([best, `${path.relative(root, file)} ${data.length} ${verdict}`]);
    const type = verdict.split(':')[0]!;
    const row = byType.get(type) ?? { files: 0, bytes: 0, ms: 0 };
    row.files++;
    row.bytes += data.length;
    row.ms += best;
    byType.set(type, row);
    total += best;
  }
}
console.log('type              files       MiB   CPU ms');
for (const [type, row] of [...byType].sort((a, b) => b[1].ms - a[1].ms))
  console.log(
    `${type.padEnd(16)} ${String(row.files).padStart(6)} ${(row.bytes / 2 ** 20).toFixed(1).padStart(9)} ${row.ms.toFixed(0).padStart(8)}`,
  );
console.log(`total CPU ms ${total.toFixed(0)}`);
console.log('slowest files:');
for (const [ms, line] of slowest.sort((a, b) => b[0] - a[0]).slice(0, 10))
  console.log(`  ${ms.toFixed(1)} ms  ${line}`);
if (process.env.VOUCH_PROBE_VERDICTS) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(process.env.VOUCH_PROBE_VERDICTS, `${verdicts.join('\n')}\n`);
}
