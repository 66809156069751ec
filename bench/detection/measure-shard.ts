/**
 * One shard of the corpus classification, in its own process (measure.ts starts one per job).
 * Usage: measure-shard.ts CORPUS_DIR SHARD SHARDS OUT_JSON — classifies the corpus files whose
 * index is SHARD modulo SHARDS and writes their FileMeasurements to OUT_JSON.
 */
import { writeFileSync } from 'node:fs';
import { loadCorpus } from './corpus.js';
import { measureShard } from './measure.js';

const [dir, shardArg, shardsArg, out] = process.argv.slice(2);
const shard = Number(shardArg);
const shards = Number(shardsArg);
if (!dir || !out || !Number.isInteger(shard) || !Number.isInteger(shards) || shard < 0 || shard >= shards) {
  throw new Error('usage: measure-shard.ts CORPUS_DIR SHARD SHARDS OUT_JSON');
}
const corpus = loadCorpus(dir);
if (!corpus) throw new Error(`measure-shard: no complete corpus in ${dir}`);
const measured = await measureShard(corpus, shard, shards, (done, total) =>
  process.stderr.write(`[bench:detection]   shard ${shard + 1}/${shards}: ${done}/${total} files\n`),
);
writeFileSync(out, JSON.stringify(measured));
