import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDrillReport } from '../../agent/drills/run-drill.js';
import type { DrillReport } from '../../agent/model/drill.js';
import { buildTarGz, sampleFiles } from '../helpers/build-archive.js';
import { drillFixture, drillSet, listTree, type DrillFixture } from '../helpers/drill-fixtures.js';
import { paxHeader, patchBytes, tarArchive, tarEntry, zipArchive } from '../helpers/hostile-archives.js';

/**
 * The foundation's hostile archives, restored by drills: each must fail the drill with a reason
 * naming the entry, and nothing may be written outside the drill's directory.
 */
let fixture: DrillFixture;
const escapee = `vouch-escapee-${randomBytes(4).toString('hex')}`;
const reports = new Map<string, DrillReport>();
let treeBefore: string[];

const HOSTILE: Record<string, () => Promise<Buffer> | Buffer> = {
  traversal: () =>
    tarArchive(
      tarEntry({ name: '../../etc/cron.d/evil' }, Buffer.from('* * * * * root sh\n')),
      tarEntry({ name: 'ok.txt' }, Buffer.from('ok')),
    ),
  absolute: () => tarArchive(tarEntry({ name: path.join(tmpdir(), escapee) }, Buffer.from('escaped'))),
  'write-through-link': () =>
    tarArchive(
      tarEntry({ name: 'link', type: '2', linkname: tmpdir() }),
      tarEntry({ name: `link/${escapee}` }, Buffer.from('x')),
    ),
  devices: () => tarArchive(tarEntry({ name: 'dev/sda', type: '4' }), tarEntry({ name: 'fifo', type: '6' })),
  'pax-override': () =>
    tarArchive(paxHeader({ path: '../../evil' }), tarEntry({ name: 'harmless.txt' }, Buffer.from('hi'))),
  duplicate: () =>
    tarArchive(
      tarEntry({ name: 'a.txt' }, Buffer.from('first')),
      tarEntry({ name: 'a.txt' }, Buffer.from('second')),
    ),
  'huge-header': () => tarArchive(tarEntry({ name: 'huge.bin', size: 10 * 2 ** 30 }, Buffer.alloc(1024))),
  'bad-crc': async () => {
    const good = await buildTarGz(sampleFiles(2));
    const bad = Buffer.from(good);
    bad[bad.length - 6]! ^= 0xff;
    return bad;
  },
  'gzip-bomb': () => gzipSync(Buffer.alloc(64 * 2 ** 20)),
  'zip-traversal': async () =>
    patchBytes(await zipArchive([{ name: 'XX/XX/evil.txt', data: Buffer.from('x') }]), 'XX/XX/', '../../'),
  // The same rules through the host tools' formats.
  'xz-traversal': () =>
    execFileSync('xz', ['-c'], {
      input: tarArchive(tarEntry({ name: '../../etc/cron.d/evil' }, Buffer.from('* * * * * root sh\n'))),
    }),
  'bz2-write-through-link': () =>
    execFileSync('bzip2', ['-c'], {
      input: tarArchive(
        tarEntry({ name: 'link', type: '2', linkname: tmpdir() }),
        tarEntry({ name: `link/${escapee}` }, Buffer.from('x')),
      ),
    }),
  'xz-bomb': () =>
    execFileSync('sh', ['-c', `head -c ${64 * 2 ** 20} /dev/zero | xz -c`], { maxBuffer: 2 ** 26 }),
  '7z-absolute': async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vouch-7z-src-'));
    await writeFile(path.join(dir, escapee), 'escaped');
    const archive = path.join(dir, 'a.7z');
    execFileSync('7zz', ['a', '-bd', '-spf', archive, path.join(dir, escapee)], { stdio: 'ignore' });
    const bytes = await readFile(archive);
    await rm(dir, { recursive: true, force: true });
    return bytes;
  },
};
const EXTENSION: Record<string, string> = {
  'bad-crc': '.tar.gz',
  'gzip-bomb': '.tar.gz',
  'zip-traversal': '.zip',
  'xz-traversal': '.tar.xz',
  'bz2-write-through-link': '.tar.bz2',
  'xz-bomb': '.tar.xz',
  '7z-absolute': '.7z',
};
const day = (index: number) => `202510${String(index + 10).padStart(2, '0')}`;

beforeAll(async () => {
  fixture = await drillFixture('vouch-hostile-drill-');
  const names = Object.keys(HOSTILE);
  for (const [index, name] of names.entries()) {
    await writeFile(
      path.join(fixture.volume, `orders-${day(index)}${EXTENSION[name] ?? '.tar'}`),
      await HOSTILE[name]!(),
    );
  }
  treeBefore = await listTree(fixture.root);
  // With a command, so the sandbox is set up too: a hostile tree must not reach it either.
  const set = drillSet(fixture, { drill: { commands: ['true'] }, extra: { limits: { maxRatio: 200 } } });
  for (const [index, name] of names.entries())
    reports.set(
      name,
      await runDrillReport(set, { stateDir: fixture.state, snapshot: `orders-${day(index)}` }),
    );
});

const restoreFailures = (name: string) =>
  reports
    .get(name)!
    .failures.filter((failure) => failure.verifier === 'restore')
    .map((failure) => `${failure.path ?? ''}: ${failure.detail}`)
    .join('\n');

describe('drilling hostile archives', () => {
  it('fails every one of them, never crashing', () => {
    for (const [name, report] of reports) expect(report.outcome, name).toBe('failed');
  });

  it('names the entry and the reason', () => {
    expect(restoreFailures('traversal')).toMatch(
      /entry '\.\.\/\.\.\/etc\/cron\.d\/evil': path escapes the archive root/,
    );
    expect(restoreFailures('absolute')).toMatch(/path is absolute/);
    expect(restoreFailures('write-through-link')).toMatch(
      new RegExp(`link/${escapee}.*parent 'link' is a symlink`),
    );
    expect(restoreFailures('devices')).toMatch(/dev\/sda.*device entries are never restored/);
    expect(restoreFailures('devices')).toMatch(/fifo.*FIFO entries are never restored/);
    expect(restoreFailures('pax-override')).toMatch(/\.\.\/\.\.\/evil.*path escapes the archive root/);
    expect(restoreFailures('duplicate')).toMatch(/a\.txt.*duplicate of an earlier entry/);
    expect(restoreFailures('huge-header')).toMatch(/huge\.bin/);
    expect(restoreFailures('bad-crc')).toMatch(/CRC/i);
    expect(restoreFailures('gzip-bomb')).toMatch(/expands more than 200×/);
    expect(restoreFailures('zip-traversal')).toMatch(/\.\.\/\.\.\/evil\.txt.*path escapes the archive root/);
    expect(restoreFailures('xz-traversal')).toMatch(
      /entry '\.\.\/\.\.\/etc\/cron\.d\/evil': path escapes the archive root/,
    );
    expect(restoreFailures('bz2-write-through-link')).toMatch(
      new RegExp(`link/${escapee}.*parent 'link' is a symlink`),
    );
    expect(restoreFailures('xz-bomb')).toMatch(/xz data is corrupt|holds no tar data|expands more than 200×/);
    expect(restoreFailures('7z-absolute')).toMatch(new RegExp(`${escapee}.*path is absolute`));
  });

  it('skips application checks when the restore could not finish', () => {
    const commands = reports.get('bad-crc')!.verifiers.find((outcome) => outcome.verifier === 'commands');
    expect(commands).toMatchObject({ status: 'skipped', detail: 'not run: the restore did not complete' });
  });

  it('writes nothing outside the drill directory and leaves no directory behind', async () => {
    expect(existsSync(path.join(tmpdir(), escapee))).toBe(false);
    expect(existsSync('/etc/cron.d/evil')).toBe(false);
    const after = (await listTree(fixture.root)).filter((entry) => !entry.startsWith('state/'));
    expect(after).toEqual(treeBefore);
    expect(await listTree(path.join(fixture.state, 'drills', 'work'))).toEqual([]);
  });
});
