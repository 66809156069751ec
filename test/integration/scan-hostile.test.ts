import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { runCli } from '../helpers/cli.js';
import { gzipAll, manyEmptyEntries, paxHeader, tarArchive, tarEntry } from '../helpers/hostile-archives.js';

/**
 * Hostile snapshots scanned through the real CLI in one process: each must give a finding that
 * names the entry, the scan must finish, and nothing may land outside the state directory.
 */
let dir: string;
let json: {
  sets: {
    snapshots: {
      id: string;
      verdict: string;
      complete: boolean;
      findings: { kind: string; path: string; detail: string }[];
      findingsOmitted: number;
    }[];
  }[];
};
let code: number | null;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vouch-hostile-'));
  const volume = path.join(dir, 'volume');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(volume);
  const put = (name: string, data: Buffer) => writeFile(path.join(volume, name), data);
  await put('s-20251001.tar.gz', await buildTarGz(sampleFiles(1)));
  await put(
    's-20251002.tar',
    tarArchive(tarEntry({ name: '../../etc/cron.d/evil' }, Buffer.from('* * * * * root sh\n'))),
  );
  await put(
    's-20251003.tar',
    tarArchive(
      tarEntry({ name: 'link', type: '2', linkname: '/etc' }),
      tarEntry({ name: 'link/passwd' }, Buffer.from('x')),
    ),
  );
  await put(
    's-20251004.tar',
    tarArchive(tarEntry({ name: 'dev/sda', type: '4' }), tarEntry({ name: 'fifo', type: '6' })),
  );
  await put(
    's-20251005.tar',
    tarArchive(paxHeader({ path: '../../evil' }), tarEntry({ name: 'harmless.txt' }, Buffer.from('hi'))),
  );
  await put(
    's-20251006.tar',
    tarArchive(tarEntry({ name: 'huge.bin', size: 10 * 2 ** 30 }, Buffer.alloc(1024))),
  );
  const good = await buildTarGz(sampleFiles(2));
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 6]! ^= 0xff;
  await put('s-20251007.tar.gz', badCrc);
  await put('s-20251008.tar.gz', await gzipAll(manyEmptyEntries(100_000)));
  await put('s-20251009.tar.gz', gzipSync(Buffer.alloc(64 * 2 ** 20)));
  const config = path.join(dir, 'vouch.yaml');
  await writeFile(
    config,
    stringify({
      state: './state',
      sets: {
        hostile: {
          source: { fs: { path: './volume' } },
          snapshots: { layout: 'archive', match: '^s-(?<time>\\d{8})' },
          limits: { maxRatio: 200 },
        },
      },
    }),
  );
  const result = await runCli(['--config', config, '--json', 'scan'], {}, 120_000);
  code = result.code;
  json = JSON.parse(result.stdout);
}, 180_000);

const snapshot = (id: string) => json.sets[0]!.snapshots.find((s) => s.id === id)!;
const describeFindings = (id: string) =>
  snapshot(id)
    .findings.map((f) => `${f.kind} ${f.path}: ${f.detail}`)
    .join('\n');

describe('scanning hostile archives', () => {
  it('finishes the whole set and exits 3 (findings), not with a crash', () => {
    expect(code).toBe(3);
    expect(json.sets[0]!.snapshots).toHaveLength(9);
    expect(snapshot('s-20251001').verdict).toBe('clean');
  });

  it('flags path traversal and a PAX path override, naming the entry', () => {
    expect(snapshot('s-20251002').verdict).toBe('suspicious');
    expect(describeFindings('s-20251002')).toMatch(/unsafe-entry .*\.\.\/\.\.\/etc\/cron\.d\/evil/);
    expect(describeFindings('s-20251005')).toMatch(/unsafe-entry .*\.\.\/\.\.\/evil/);
  });

  it('flags a file reached through a symlink, and device and FIFO entries', () => {
    expect(describeFindings('s-20251003')).toMatch(/unsafe-entry link\/passwd/);
    expect(describeFindings('s-20251004')).toMatch(/unsafe-entry dev\/sda/);
    expect(describeFindings('s-20251004')).toMatch(/unsafe-entry fifo/);
  });

  it('marks a 10 GB-claiming header, a bad gzip CRC and a gzip bomb unverified with a read-error', () => {
    for (const id of ['s-20251006', 's-20251007', 's-20251009']) {
      expect(snapshot(id).verdict, id).toBe('unverified');
      expect(
        snapshot(id).findings.some((f) => f.kind === 'read-error'),
        describeFindings(id),
      ).toBe(true);
    }
    expect(describeFindings('s-20251006')).toContain('huge.bin');
  });

  it('reads 100k empty entries completely', () => {
    expect(snapshot('s-20251008')).toMatchObject({ verdict: 'clean', complete: true });
  });

  it('writes baselines only for snapshots read completely, and nothing outside the state directory', async () => {
    const manifests = await readdir(path.join(dir, 'state', 'manifests', 'hostile'));
    expect(manifests.sort()).toEqual([
      's-20251001.ndjson.gz',
      's-20251002.ndjson.gz',
      's-20251003.ndjson.gz',
      's-20251004.ndjson.gz',
      's-20251005.ndjson.gz',
      's-20251008.ndjson.gz',
    ]);
    expect((await readdir(dir)).sort()).toEqual(['state', 'volume', 'vouch.yaml']);
  });
});
