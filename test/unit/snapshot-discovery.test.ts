import { describe, expect, it } from 'vitest';
import type { SourceObject } from '../../agent/sources/backup-source.js';
import {
  discoverFromListing,
  discoverSnapshots,
  MEMBER_SAMPLE,
  type Snapshot,
} from '../../agent/sources/snapshot-discovery.js';
import { parseSnapshotTime } from '../../agent/sources/snapshot-time.js';

const object = (key: string, mtime = '2025-01-01T00:00:00Z', size = 10): SourceObject => ({
  key,
  size,
  mtime: new Date(mtime),
  kind: 'file',
});

/** The snapshots, each checked to be of `layout` (and so typed with that layout's fields). */
function ofLayout<L extends Snapshot['layout']>(
  snapshots: readonly Snapshot[],
  layout: L,
): Extract<Snapshot, { layout: L }>[] {
  return snapshots.map((snapshot) => {
    if (snapshot.layout !== layout) throw new Error(`${snapshot.id} is a ${snapshot.layout} snapshot`);
    return snapshot as Extract<Snapshot, { layout: L }>;
  });
}

describe('snapshot times', () => {
  it.each([
    ['20251019T000000Z', '2025-10-19T00:00:00.000Z'],
    ['20251019T0130Z', '2025-10-19T01:30:00.000Z'],
    ['2025-10-19T00:00:00Z', '2025-10-19T00:00:00.000Z'],
    ['2025-10-19T02:00:00+02:00', '2025-10-19T00:00:00.000Z'],
    ['20251019', '2025-10-19T00:00:00.000Z'],
    ['2025-10-19', '2025-10-19T00:00:00.000Z'],
    ['2025-10-19_03-15-00', '2025-10-19T03:15:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseSnapshotTime(text)?.toISOString()).toBe(iso);
  });

  it.each(['2025-13-01', 'yesterday', '2025101'])('rejects %s', (text) => {
    expect(parseSnapshotTime(text)).toBeNull();
  });
});

describe('snapshot times in a time zone (snapshots.timezone)', () => {
  it('reads names without an offset in the zone: a JST-named snapshot is not 9 h fresher than it is', () => {
    expect(parseSnapshotTime('2026-12-05', 'Asia/Tokyo')?.toISOString()).toBe('2026-12-04T15:00:00.000Z');
    expect(parseSnapshotTime('20261205T020000', 'Asia/Tokyo')?.toISOString()).toBe(
      '2026-12-04T17:00:00.000Z',
    );
    expect(parseSnapshotTime('2026-12-05')?.toISOString()).toBe('2026-12-05T00:00:00.000Z');
    // Names that say their own offset, and epochs, ignore the zone.
    expect(parseSnapshotTime('20261205T020000Z', 'Asia/Tokyo')?.toISOString()).toBe(
      '2026-12-05T02:00:00.000Z',
    );
    expect(parseSnapshotTime('2026-12-05T02:00:00+01:00', 'Asia/Tokyo')?.toISOString()).toBe(
      '2026-12-05T01:00:00.000Z',
    );
    expect(parseSnapshotTime('1764900000', 'Asia/Tokyo')?.toISOString()).toBe(
      new Date(1764900000 * 1000).toISOString(),
    );
  });

  it('follows daylight saving: New York local names in winter and summer', () => {
    expect(parseSnapshotTime('2026-01-15T02:00', 'America/New_York')?.toISOString()).toBe(
      '2026-01-15T07:00:00.000Z',
    );
    expect(parseSnapshotTime('2026-07-15T02:00', 'America/New_York')?.toISOString()).toBe(
      '2026-07-15T06:00:00.000Z',
    );
  });

  it("discovery reads the set's zone from its rules", async () => {
    const listing = async function* () {
      yield object('orders-2026-12-05.tar.gz');
    };
    const { snapshots } = await discoverFromListing(listing(), {
      layout: 'archive',
      match: /^orders-(?<time>[\d-]+)\.tar\.gz$/u,
      snapshotTimeZone: 'Asia/Tokyo',
    });
    expect(snapshots[0]!.time.toISOString()).toBe('2026-12-04T15:00:00.000Z');
  });

  it('the policy accepts an IANA zone under snapshots.timezone and refuses an unknown one', async () => {
    const { validatePolicy } = await import('../../agent/config/load-policy.js');
    const set = (timezone: string) => ({
      sets: { orders: { source: { fs: { path: '/srv' } }, snapshots: { layout: 'archive', timezone } } },
    });
    expect(validatePolicy(set('Asia/Tokyo'), 'test', '/').sets[0]!.snapshotTimeZone).toBe('Asia/Tokyo');
    expect(() => validatePolicy(set('Mars/Olympus'), 'test', '/')).toThrow(
      /sets\.orders\.snapshots\.timezone: unknown time zone/,
    );
  });
});

describe('snapshot discovery', () => {
  it('summarises directory snapshots from a streamed listing without keeping their members', async () => {
    async function* listing() {
      for (let day = 1; day <= 3; day++)
        for (let file = 0; file < 500; file++)
          yield object(`2025-10-0${day}/f${String(file).padStart(4, '0')}`);
    }
    const { snapshots } = await discoverFromListing(listing(), {
      layout: 'directory',
      match: /^(?<time>[\d-]+)$/u,
    });
    expect(
      ofLayout(snapshots, 'directory').map((s) => [s.id, s.listing!.objects, s.memberSample.length]),
    ).toEqual([
      ['2025-10-01', 500, MEMBER_SAMPLE],
      ['2025-10-02', 500, MEMBER_SAMPLE],
      ['2025-10-03', 500, MEMBER_SAMPLE],
    ]);
    // The same members give the same fingerprint; another size changes it.
    const [first, second] = ofLayout(snapshots, 'directory');
    expect(first!.listing!.fingerprint).not.toBe(second!.listing!.fingerprint);
    const again = await discoverFromListing(listing(), { layout: 'directory' });
    expect(ofLayout(again.snapshots, 'directory')[0]!.listing).toEqual(first!.listing);
  });

  it('refuses a listing whose directories come out of key order', async () => {
    async function* listing() {
      yield object('a/1');
      yield object('b/1');
      yield object('a/2');
    }
    await expect(discoverFromListing(listing(), { layout: 'directory' })).rejects.toThrow(
      /out of order: a\/ appeared twice/,
    );
  });

  it('finds one snapshot per archive, timed by the named group, oldest first, with checksum lists', () => {
    const { snapshots, notes } = discoverSnapshots(
      [
        object('orders-20251020T000000Z.tar.gz'),
        object('orders-20251019T000000Z.tar.gz'),
        object('orders-20251019T000000Z.tar.gz.sha256'),
        object('SHA256SUMS'),
        object('orders-2025xx.tar.gz'),
        object('unrelated.txt'),
      ],
      { layout: 'archive', match: /^orders-(?<time>\d{8}T\d{6}Z)\.tar\.gz$/u },
    );
    expect(ofLayout(snapshots, 'archive').map((s) => [s.id, s.time.toISOString(), s.format])).toEqual([
      ['orders-20251019T000000Z', '2025-10-19T00:00:00.000Z', 'tar.gz'],
      ['orders-20251020T000000Z', '2025-10-20T00:00:00.000Z', 'tar.gz'],
    ]);
    expect(snapshots[0]!.sums.map((s) => s.key).sort()).toEqual([
      'SHA256SUMS',
      'orders-20251019T000000Z.tar.gz.sha256',
    ]);
    expect(notes).toEqual([]);
  });

  it('falls back to the object time without a time group and skips non-archives', () => {
    const { snapshots } = discoverSnapshots(
      [
        object('b.zip', '2025-02-01T00:00:00Z'),
        object('a.tar.zst', '2025-03-01T00:00:00Z'),
        object('notes.txt'),
      ],
      {
        layout: 'archive',
      },
    );
    expect(ofLayout(snapshots, 'archive').map((s) => [s.id, s.timeSource, s.format])).toEqual([
      ['b', 'mtime', 'zip'],
      ['a', 'mtime', 'tar.zst'],
    ]);
  });

  it('groups directory snapshots by their top-level folder and notes unreadable times', () => {
    const { snapshots, notes } = discoverSnapshots(
      [
        object('2025-10-19/db.sql'),
        object('2025-10-19/SHA256SUMS'),
        object('2025-10-18/db.sql', '2025-10-18T05:00:00Z'),
        object('loose.txt'),
        object('2025-99-99/x'),
      ],
      { layout: 'directory', match: /^(?<time>[\d-]+)$/u },
    );
    expect(ofLayout(snapshots, 'directory').map((s) => [s.id, s.listing!.objects])).toEqual([
      ['2025-99-99', 1],
      ['2025-10-18', 1],
      ['2025-10-19', 2],
    ]);
    expect(snapshots[2]!.sums).toEqual([
      { key: '2025-10-19/SHA256SUMS', algorithm: 'sha256', scope: 'entries' },
    ]);
    expect(ofLayout(snapshots, 'directory')[2]!.memberSample.map((m) => m.key)).toEqual([
      '2025-10-19/SHA256SUMS',
      '2025-10-19/db.sql',
    ]);
    expect(notes).toEqual(['2025-99-99: time "2025-99-99" not understood; using its modification time']);
  });
});

describe('snapshot ids are unique across archive extensions', () => {
  const listing = [
    object('orders-1.tar.gz', '2025-01-01T00:00:00Z'),
    object('orders-1.zip', '2025-01-02T00:00:00Z'),
    object('orders-1.tar', '2025-01-03T00:00:00Z'),
    object('orders-2.tar.gz', '2025-01-04T00:00:00Z'),
  ];

  it('gives colliding archives ids with their extension, never one id for two objects', () => {
    const { snapshots, notes } = discoverSnapshots(listing, { layout: 'archive' });
    expect(ofLayout(snapshots, 'archive').map((s) => [s.id, s.object.key])).toEqual([
      ['orders-1.tar.gz', 'orders-1.tar.gz'],
      ['orders-1.zip', 'orders-1.zip'],
      ['orders-1.tar', 'orders-1.tar'],
      ['orders-2', 'orders-2.tar.gz'],
    ]);
    expect(notes[0]).toMatch(
      /orders-1\.tar\.gz, orders-1\.zip, orders-1\.tar would all be snapshot orders-1/,
    );
  });

  it('lets the archive the state already knows by that id keep it: a newcomer beside it is judged on its own', () => {
    const { snapshots } = discoverSnapshots(listing, {
      layout: 'archive',
      owners: new Map([['orders-1', 'orders-1.tar.gz']]),
    });
    expect(snapshots.map((s) => s.id)).toEqual(['orders-1', 'orders-1.zip', 'orders-1.tar', 'orders-2']);
  });
});
