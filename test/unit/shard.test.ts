import { describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { ownerOf, parseShard, parseTasks, shardOwner, shardPolicy } from '../../agent/daemon/shard.js';
import { ConfigError } from '../../agent/errors.js';

describe('sharding sets across agent replicas', () => {
  it('reads INDEX/COUNT, or the index from a StatefulSet pod name', () => {
    expect(parseShard('1/3', 'any')).toEqual({ index: 1, count: 3 });
    expect(parseShard('ordinal/3', 'vouch-2')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('ordinal/3', 'vouch')).toThrow(/does not end in -NUMBER/);
    expect(() => parseShard('3/3', 'x')).toThrow(ConfigError);
    expect(() => parseShard('1-3', 'x')).toThrow(/expected INDEX\/COUNT/);
    expect([...parseTasks('scan')]).toEqual(['scan']);
    expect(() => parseTasks('scan,backup')).toThrow(ConfigError);
  });

  it('spreads sets evenly, and moves only about 1/N of them when a replica is added', () => {
    const names = Array.from({ length: 3000 }, (_, i) => `set-${i}`);
    const counts = [0, 0, 0];
    for (const name of names) counts[shardOwner(name, 3)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(850);
    const moved = names.filter((name) => shardOwner(name, 3) !== shardOwner(name, 4)).length;
    expect(moved / names.length).toBeGreaterThan(0.18);
    expect(moved / names.length).toBeLessThan(0.32);
    // Moved sets go to the new replica, never between old ones.
    expect(
      names
        .filter((name) => shardOwner(name, 3) !== shardOwner(name, 4))
        .every((name) => shardOwner(name, 4) === 3),
    ).toBe(true);
  });

  it('keeps the copies of a data set on one replica, and gives each replica only its own sets', () => {
    const sets = Object.fromEntries(
      ['orders', 'orders-nas', 'orders-tape', 'hr', 'crm', 'wiki', 'mail', 'erp'].map((name) => [
        name,
        { source: { fs: { path: `/v/${name}` } }, snapshots: { layout: 'directory' } },
      ]),
    );
    const policy = validatePolicy(
      { sets, datasets: { orders: { copies: ['orders', 'orders-nas', 'orders-tape'] } } },
      'p',
      '/',
    );
    const owner = ownerOf(policy, 'orders', 3);
    expect(ownerOf(policy, 'orders-nas', 3)).toBe(owner);
    expect(ownerOf(policy, 'orders-tape', 3)).toBe(owner);
    const parts = [0, 1, 2].map((index) => shardPolicy(policy, { index, count: 3 }));
    expect(parts.flatMap((part) => part.sets.map((set) => set.name)).sort()).toEqual(
      Object.keys(sets).sort(),
    );
    expect(parts[owner]!.datasets.map((dataset) => dataset.name)).toEqual(['orders']);
    expect(parts.filter((_, index) => index !== owner).every((part) => part.datasets.length === 0)).toBe(
      true,
    );
  });
});
