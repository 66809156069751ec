/**
 * The bundled build (scripts/build.ts) runs on its own: built into a fresh directory laid out as
 * an installation (package.json, node_modules, policies, dashboards beside dist/), the CLI starts
 * from a handful of files, finds its version, policies and alert rules, and starts the analysis
 * worker by path.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist } from '../../scripts/build.js';
import { openManifest } from '../../agent/state/manifest-store.js';
import { detectionVersion, hashSourceTree } from '../../agent/version.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let install: string;

/** Runs the bundled CLI in the installation; counts the JavaScript files Node loads. */
function vouch(args: string[]): { code: number | null; stdout: string; stderr: string; loaded: number } {
  const hooks = path.join(install, 'count-loads.mjs');
  const run = spawnSync(process.execPath, ['--import', hooks, path.join(install, 'dist/vouch.js'), ...args], {
    cwd: install,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const loaded = run.stderr.split('\n').filter((line) => line.startsWith('loaded ')).length;
  return { code: run.status, stdout: run.stdout, stderr: run.stderr.replace(/^loaded .*\n/gm, ''), loaded };
}

beforeAll(async () => {
  install = mkdtempSync(path.join(tmpdir(), 'vouch-bundle-'));
  for (const name of ['node_modules', 'policies', 'dashboards', 'restore-drills'])
    symlinkSync(path.join(ROOT, name), path.join(install, name));
  copyFileSync(path.join(ROOT, 'package.json'), path.join(install, 'package.json'));
  // One stderr line per file Node loads: ES modules through a load hook (which runs on the hooks
  // thread in Node 20), CommonJS files as they are compiled.
  writeFileSync(
    path.join(install, 'load-hooks.mjs'),
    "export async function load(url, context, next) { if (url.startsWith('file:')) process.stderr.write('loaded ' + url + '\\n'); return next(url, context); }\n",
  );
  writeFileSync(
    path.join(install, 'count-loads.mjs'),
    [
      "import Module, { register } from 'node:module';",
      "register('./load-hooks.mjs', import.meta.url);",
      'const compile = Module.prototype._compile;',
      "Module.prototype._compile = function (code, file) { process.stderr.write('loaded ' + file + '\\n'); return compile.call(this, code, file); };",
    ].join('\n'),
  );
  await buildDist(path.join(install, 'dist'));
});

afterAll(() => rmSync(install, { recursive: true, force: true }));

describe('the bundled build', () => {
  it('writes the CLI, the analysis worker and the console assets side by side, with source maps carrying their sources', () => {
    const files = readdirSync(path.join(install, 'dist'));
    expect(files).toEqual(
      expect.arrayContaining([
        'vouch.js',
        'vouch.js.map',
        'analysis-worker.js',
        'fs-list-worker.js',
        'assets',
      ]),
    );
    expect(readdirSync(path.join(install, 'dist/assets'))).toEqual(
      readdirSync(path.join(ROOT, 'agent/web/assets')),
    );
    const map = JSON.parse(readFileSync(path.join(install, 'dist/vouch.js.map'), 'utf8')) as {
      sources: string[];
      sourcesContent: string[];
    };
    expect(map.sources.some((source) => source.endsWith('agent/cli/main.ts'))).toBe(true);
    expect(map.sourcesContent.length).toBe(map.sources.length);
    expect(
      readFileSync(path.join(install, 'dist/vouch.js'), 'utf8').startsWith('#!/usr/bin/env node\n'),
    ).toBe(true);
  });

  it('starts from a few files and reads its version from package.json', () => {
    const run = vouch(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(
      (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
    // The unbundled build loaded ~385 files here (261 ES modules, 124 CommonJS).
    expect(run.loaded).toBeGreaterThan(0);
    expect(run.loaded).toBeLessThan(30);
  });

  it('checks a shipped policy and prints the shipped alert rules', () => {
    const check = vouch(['policy', 'check', 'policies/s3-object-lock.yaml']);
    expect(check.stderr).not.toMatch(/Error/);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/valid, 2 sets/);
    const rules = vouch(['alert-rules']);
    expect(rules.code).toBe(0);
    expect(rules.stdout).toBe(readFileSync(path.join(ROOT, 'dashboards/vouch-alerts.yml'), 'utf8'));
  });

  it('hashes and judges files in the analysis worker it starts by path', () => {
    const dir = path.join(install, 'files');
    mkdirSync(dir);
    const text = Buffer.from(
      Array.from({ length: 4000 }, (_, i) => `order ${i}, invoice ${(i * 7919) % 10007}, shipped\n`).join(''),
    );
    writeFileSync(path.join(dir, 'orders.csv.gz'), gzipSync(text));
    const broken = gzipSync(text);
    broken.fill(0x41, 2000, 3000);
    writeFileSync(path.join(dir, 'damaged.csv.gz'), broken);
    const run = vouch(['--json', 'inspect', dir]);
    expect(run.stderr).not.toMatch(/worker|Error/);
    const files = (JSON.parse(run.stdout) as { files: { path: string; sha256: string; judgement: string }[] })
      .files;
    const byName = new Map(files.map((file) => [path.basename(file.path), file]));
    expect(byName.get('orders.csv.gz')?.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(path.join(dir, 'orders.csv.gz')))
        .digest('hex'),
    );
    expect(byName.get('orders.csv.gz')?.judgement).toBe('intact');
    expect(byName.get('damaged.csv.gz')?.judgement).not.toBe('intact');
    expect(existsSync(path.join(install, 'dist/analysis-worker.js'))).toBe(true);
  });

  it('scans a directory snapshot through its listing worker and the workers that read small files', () => {
    const root = path.join(install, 'estate');
    const night = path.join(root, '2026-11-30', 'docs');
    mkdirSync(night, { recursive: true });
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 40; i += 1) files.set(`note-${i}.txt`, Buffer.from(`line ${i}\n`.repeat(50 + i)));
    for (const [name, bytes] of files) writeFileSync(path.join(night, name), bytes);
    writeFileSync(
      path.join(install, 'estate.yaml'),
      [
        `state: ${path.join(install, 'state')}`,
        'sets:',
        '  docs:',
        `    source: { fs: { path: ${root} } }`,
        "    snapshots: { layout: directory, match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' }",
        '',
      ].join('\n'),
    );
    const run = vouch(['--config', path.join(install, 'estate.yaml'), '--json', 'scan']);
    expect(run.stderr).not.toMatch(/worker|Error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('"clean"');
    const manifests = readdirSync(path.join(install, 'state'), { recursive: true }).map(String);
    expect(manifests.length).toBeGreaterThan(0);
    expect(existsSync(path.join(install, 'dist/fs-list-worker.js'))).toBe(true);
  });

  it('loads hash-wasm in the bundle: BLAKE3 digests, and the XXH64 checksums of a .tar.zst', async () => {
    const root = path.join(install, 'zstd-estate');
    mkdirSync(root, { recursive: true });
    const content = Buffer.from('order 1, shipped\n'.repeat(200));
    const tar = tarOf('orders.csv', content);
    writeFileSync(path.join(root, 'snap-20261130.tar.zst'), await zstdRawFrame(tar));
    writeFileSync(
      path.join(install, 'blake3.yaml'),
      [
        `state: ${path.join(install, 'state-blake3')}`,
        'sets:',
        '  orders:',
        `    source: { fs: { path: ${root} } }`,
        '    snapshots: { layout: archive }',
        '    integrity: { algorithm: blake3 }',
        '',
      ].join('\n'),
    );
    const run = vouch(['--config', path.join(install, 'blake3.yaml'), '--json', 'scan']);
    expect(run.stderr).not.toMatch(/is not a function|Error/);
    const snapshot = (
      JSON.parse(run.stdout) as {
        sets: { snapshots: { verdict: string; entries: number; findings: unknown[] }[] }[];
      }
    ).sets[0]!.snapshots[0]!;
    expect(snapshot.findings).toEqual([]);
    expect(snapshot.verdict).toBe('clean');
    expect(snapshot.entries).toBe(1);
    // The bundle stamps its judgements with the digest of the detection code it was built from.
    const manifest = (await openManifest(path.join(install, 'state-blake3'), 'orders', 'snap-20261130'))!;
    await manifest.close();
    expect(manifest.header.detection?.version).toBe(detectionVersion());
    expect(detectionVersion()).toContain(hashSourceTree(path.join(ROOT, 'agent/detection')).slice(0, 16));
  });
});

/** A one-file ustar archive. */
function tarOf(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write(
    `${Math.floor(Date.UTC(2026, 10, 30) / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
  );
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

/**
 * `data` as one zstd frame of raw blocks with a content checksum (RFC 8878): the reader checks it
 * with hash-wasm's XXH64, as it does for `zstd --check` archives.
 */
async function zstdRawFrame(data: Buffer): Promise<Buffer> {
  const { createXXHash64 } = await import('hash-wasm');
  const xxh = await createXXHash64();
  xxh.init();
  xxh.update(data);
  const checksum = Buffer.from(xxh.digest('hex'), 'hex').subarray(4).reverse(); // low 32 bits, little-endian
  const size = Buffer.alloc(4);
  size.writeUInt32LE(data.length);
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa4]), size];
  const BLOCK = 128 * 1024;
  for (let at = 0; at < data.length; at += BLOCK) {
    const block = data.subarray(at, at + BLOCK);
    const last = at + BLOCK >= data.length ? 1 : 0;
    const header = last | (block.length << 3);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), block);
  }
  parts.push(checksum);
  return Buffer.concat(parts);
}
