/**
 * The classes of false alarm a real server's tree raised, each pinned through a real scan of a
 * directory snapshot taken twice (the second night has the first as history): text with literal
 * control bytes, compressed data under a name vouch does not know, files an application
 * encrypted itself, absolute symlinks. Every snapshot must read clean. And damage is not
 * encryption: one flipped bit in a PNG inside a .tar.gz snapshot is `corrupted`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { buildTarGz } from '../helpers/build-archive.js';
import { findByExtension } from '../helpers/machine-files.js';

const gpl = readFileSync('/usr/share/common-licenses/GPL-3');

/** The tree of a server: one file per class, real bytes. */
function serverTree(): Record<string, Buffer> {
  // A vim macro file: literal ^V, ^M, ^R, ^W and ESC in every mapping, over 64 KiB.
  const macros = Buffer.from(
    `" generated maps\n${Array.from({ length: 2000 }, (_, i) => `nnoremap <leader>${i} :s/\x16\x0d/\x12\x17/g\x16\x0d\x1b\n`).join('')}`,
  );
  // A generated JavaScript table holding every ASCII code, DEL included.
  const table = Buffer.from(
    `export const codes = [${Array.from(
      { length: 40 },
      () =>
        `"${Array.from({ length: 128 }, (_, i) => String.fromCharCode(i))
          .join('')
          .replace(/["\\\n\r]/g, ' ')}"`,
    ).join(',\n')}];\n`,
  );
  const brotli = execFileSync('brotli', ['-c', '-q', '11'], {
    input: Buffer.concat(Array.from({ length: 8 }, () => gpl)),
  });
  const enc = execFileSync(
    'openssl',
    ['enc', '-aes-256-ctr', '-nosalt', '-K', '00'.repeat(32), '-iv', '00'.repeat(16)],
    { input: Buffer.concat([gpl, gpl, gpl]) },
  );
  return {
    'share/vim/vim90/macros/maps.vim': macros,
    'share/doc/tables/codes.js': table,
    'share/javascript/jquery/jquery.min.js.brotli': brotli,
    'lib/python3/dist-packages/tests/data/fixture.tar.enc': enc,
    'share/common-licenses/GPL-3': gpl,
  };
}

async function writeTree(root: string, files: Record<string, Buffer>): Promise<void> {
  for (const [name, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), data);
  }
}

describe('false-alarm classes on an intact server tree', () => {
  it('reads text with control bytes, brotli under an unknown name, an application-encrypted .enc file and absolute symlinks clean, two nights running', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'vouch-classes-'));
    for (const night of ['2025-01-01', '2025-01-02']) {
      const root = path.join(base, 'set', night);
      await writeTree(root, serverTree());
      await mkdir(path.join(root, 'bin'), { recursive: true });
      await symlink('/etc/alternatives/awk', path.join(root, 'bin/awk'));
      await symlink('../../../../etc/passwd', path.join(root, 'share/doc/passwd'));
    }
    const policy = validatePolicy(
      {
        sets: {
          usr: {
            source: { fs: { path: path.join(base, 'set') } },
            snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
          },
        },
      },
      'test',
      base,
    );
    const report = await runScan(policy, { stateDir: path.join(base, 'state') });
    const snapshots = report.sets[0]!.snapshots;
    expect(snapshots).toHaveLength(2);
    for (const snapshot of snapshots) {
      expect(snapshot.findings, snapshot.id).toEqual([]);
      expect(snapshot.verdict, snapshot.id).toBe('clean');
    }
  });
});

describe('damage is not encryption', () => {
  it('reports one flipped bit in a PNG inside a .tar.gz snapshot as corrupted, never encrypted, and the snapshot as not clean', async () => {
    const [found] = findByExtension(['.png'], 1, { minSize: 16 * 1024, maxSize: 2 * 2 ** 20 });
    if (!found) throw new Error('test set-up: no PNG of 16 KiB–2 MiB on this machine');
    const png = readFileSync(found.path);
    const flipped = Buffer.from(png);
    flipped[Math.floor(png.length / 2)]! ^= 0x10;
    const base = await mkdtemp(path.join(tmpdir(), 'vouch-bitflip-'));
    await mkdir(path.join(base, 'set'));
    await writeFile(
      path.join(base, 'set', 'site-2025-01-01.tar.gz'),
      await buildTarGz([
        { path: 'images/logo.png', data: flipped },
        { path: 'docs/GPL-3', data: gpl },
      ]),
    );
    const policy = validatePolicy(
      {
        sets: {
          site: {
            source: { fs: { path: path.join(base, 'set') } },
            snapshots: { layout: 'archive', match: '^site-(?<time>\\d{4}-\\d{2}-\\d{2})\\.tar\\.gz$' },
          },
        },
      },
      'test',
      base,
    );
    const report = await runScan(policy, { stateDir: path.join(base, 'state') });
    const [snapshot] = report.sets[0]!.snapshots;
    expect(snapshot!.findings.map((finding) => finding.kind)).toEqual(['corrupted']);
    expect(snapshot!.findings[0]).toMatchObject({
      path: 'images/logo.png',
      detail: expect.stringMatching(/CRC-32 mismatch/),
    });
    expect(snapshot!.detection).toMatchObject({ encryptedStrong: 0, encryptedWeak: 0 });
    expect(snapshot!.verdict).toBe('suspicious');
  });
});
