/**
 * The estate cache's contract (agent/estate/estate-cache.ts), on an injected clock: a view is
 * reused within the TTL and for the same key, reloaded after the TTL, on invalidate() and when the
 * key (the evidence status) changes; a failed load is not kept; concurrent calls share one load.
 */
import { describe, expect, it } from 'vitest';
import { createEstateCache } from '../../agent/estate/estate-cache.js';

/** A loader that counts its calls and answers `view-N` (or fails when told to). */
function countingLoader() {
  const calls: (string | undefined)[] = [];
  let fail = false;
  return {
    calls,
    failNext() {
      fail = true;
    },
    load: async (key: string | undefined) => {
      calls.push(key);
      if (fail) {
        fail = false;
        throw new Error('state unreadable');
      }
      return `view-${calls.length}`;
    },
  };
}

function manualClock(start = 1_000_000) {
  let ms = start;
  return { now: () => ms, advance: (by: number) => (ms += by) };
}

describe('the estate cache', () => {
  it('reuses a view for calls within the TTL and loads again once it has passed', async () => {
    const clock = manualClock();
    const loader = countingLoader();
    const cache = createEstateCache({ load: loader.load, ttlMs: 1000, clock: clock.now });
    expect(await cache.get()).toBe('view-1');
    clock.advance(1000);
    expect(await cache.get()).toBe('view-1');
    clock.advance(1);
    expect(await cache.get()).toBe('view-2');
    expect(loader.calls).toHaveLength(2);
  });

  it('loads again after invalidate(), however young the view', async () => {
    const clock = manualClock();
    const loader = countingLoader();
    const cache = createEstateCache({ load: loader.load, ttlMs: 60_000, clock: clock.now });
    expect(await cache.get()).toBe('view-1');
    cache.invalidate();
    expect(await cache.get()).toBe('view-2');
    expect(await cache.get()).toBe('view-2');
  });

  it('does not keep a failed load: the caller sees the failure, the next call loads again', async () => {
    const clock = manualClock();
    const loader = countingLoader();
    const cache = createEstateCache({ load: loader.load, ttlMs: 60_000, clock: clock.now });
    loader.failNext();
    await expect(cache.get()).rejects.toThrow('state unreadable');
    expect(await cache.get()).toBe('view-2');
    expect(await cache.get()).toBe('view-2');
    expect(loader.calls).toHaveLength(2);
  });

  it('does not reuse a view built from an older key (evidence status), even within the TTL', async () => {
    const clock = manualClock();
    const loader = countingLoader();
    let evidence = 'intact';
    const cache = createEstateCache({
      key: async () => evidence,
      load: loader.load,
      ttlMs: 60_000,
      clock: clock.now,
    });
    expect(await cache.get()).toBe('view-1');
    expect(await cache.get()).toBe('view-1');
    evidence = 'broken';
    expect(await cache.get()).toBe('view-2');
    expect(loader.calls).toEqual(['intact', 'broken']);
  });

  it('builds without a key when reading the key fails, and reuses that view while it keeps failing', async () => {
    const clock = manualClock();
    const loader = countingLoader();
    const cache = createEstateCache<string, string>({
      key: () => Promise.reject(new Error('ledger unreadable')),
      load: loader.load,
      ttlMs: 60_000,
      clock: clock.now,
    });
    expect(await cache.get()).toBe('view-1');
    expect(await cache.get()).toBe('view-1');
    expect(loader.calls).toEqual([undefined]);
  });

  it('lets concurrent calls share one load', async () => {
    const clock = manualClock();
    let release!: (view: string) => void;
    let loads = 0;
    const cache = createEstateCache({
      key: async () => 'intact',
      load: () => {
        loads++;
        return new Promise<string>((resolve) => (release = resolve));
      },
      ttlMs: 1000,
      clock: clock.now,
    });
    const first = cache.get();
    const second = cache.get();
    await new Promise((resolve) => setImmediate(resolve));
    release('shared');
    expect(await Promise.all([first, second])).toEqual(['shared', 'shared']);
    expect(loads).toBe(1);
  });

  it('a failure of an older load does not drop the newer view that replaced it', async () => {
    const clock = manualClock();
    const pending: { reject(error: Error): void }[] = [];
    let loads = 0;
    const cache = createEstateCache({
      load: () => {
        loads++;
        if (loads === 1) return new Promise<string>((_resolve, reject) => pending.push({ reject }));
        return Promise.resolve(`view-${loads}`);
      },
      ttlMs: 1000,
      clock: clock.now,
    });
    const stale = cache.get();
    clock.advance(1001);
    expect(await cache.get()).toBe('view-2');
    pending[0]!.reject(new Error('slow and failed'));
    await expect(stale).rejects.toThrow('slow and failed');
    expect(await cache.get()).toBe('view-2');
    expect(loads).toBe(2);
  });
});
