/**
 * Sharding sets across agent replicas (pure). Each replica of `vouch serve --shard I/N` owns the
 * sets that rendezvous hashing gives to index I of N: every replica computes the same owner for
 * a set from its name alone, no coordination needed, and changing N moves only the sets whose
 * owner changes (about 1/N of them). Sets that are copies of one data set stay together (their
 * key is the data set's name), so each replica can judge the 3-2-1-1-0 rule of what it owns.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Policy } from '../config/resolve-policy.js';
import { ConfigError } from '../errors.js';

/** One replica's place: index in [0, count). */
export interface Shard {
  index: number;
  count: number;
}

/** Tasks a replica schedules. */
export type ScheduledTask = 'scan' | 'drill';

/**
 * Parses `I/N`, or `ordinal/N` where the index is the trailing number of the host name (a
 * Kubernetes StatefulSet pod is named `NAME-0`, `NAME-1`, …).
 */
export function parseShard(text: string, host = hostname()): Shard {
  const match = /^(\d+|ordinal)\/(\d+)$/.exec(text.trim());
  if (!match) throw new ConfigError(`--shard ${text}: expected INDEX/COUNT (e.g. 0/3) or ordinal/COUNT`);
  const count = Number(match[2]);
  let index: number;
  if (match[1] === 'ordinal') {
    const ordinal = /-(\d+)$/.exec(host)?.[1];
    if (ordinal === undefined)
      throw new ConfigError(
        `--shard ${text}: the host name ${host} does not end in -NUMBER (a StatefulSet pod's ordinal)`,
      );
    index = Number(ordinal);
  } else {
    index = Number(match[1]);
  }
  if (count < 1 || index >= count)
    throw new ConfigError(`--shard ${text}: the index must be below the count (0 to ${count - 1})`);
  return { index, count };
}

/** The shard that owns `key` among `count` (highest random weight). */
export function shardOwner(key: string, count: number): number {
  let best = 0;
  let bestWeight = -1n;
  for (let index = 0; index < count; index++) {
    const weight = createHash('sha256').update(`${index}\0${key}`).digest().readBigUInt64BE(0);
    if (weight > bestWeight) {
      best = index;
      bestWeight = weight;
    }
  }
  return best;
}

/** What a set is sharded by: its data set's name when it is a copy in one, else its own. */
export function shardKey(policy: Pick<Policy, 'datasets'>, set: string): string {
  const dataset = policy.datasets.find((candidate) => candidate.copies.includes(set));
  return dataset ? `dataset:${dataset.name}` : `set:${set}`;
}

/** The shard that owns `set` under `policy`. */
export function ownerOf(policy: Pick<Policy, 'datasets'>, set: string, count: number): number {
  return shardOwner(shardKey(policy, set), count);
}

/** The part of `policy` one replica runs: the sets its shard owns, and their data sets. */
export function shardPolicy(policy: Policy, shard: Shard): Policy {
  const sets = policy.sets.filter((set) => ownerOf(policy, set.name, shard.count) === shard.index);
  const names = new Set(sets.map((set) => set.name));
  return {
    ...policy,
    sets,
    datasets: policy.datasets.filter((dataset) => dataset.copies.every((copy) => names.has(copy))),
  };
}

/** Parses `--tasks scan,drill`. */
export function parseTasks(text: string): Set<ScheduledTask> {
  const tasks = new Set<ScheduledTask>();
  for (const part of text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    if (part !== 'scan' && part !== 'drill')
      throw new ConfigError(`--tasks ${text}: expected scan, drill or both (comma-separated)`);
    tasks.add(part);
  }
  if (tasks.size === 0) throw new ConfigError('--tasks: name at least one of scan, drill');
  return tasks;
}
