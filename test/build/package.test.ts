/**
 * What `npm pack` ships: only what runs (the bundle, its source maps with their sources, the
 * policies, ready drills and dashboards, README and LICENSE) — no tests, benchmarks, TypeScript
 * sources or fixtures — and every package the bundle still loads at run time is a dependency.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import { buildDist } from '../../scripts/build.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  files: string[];
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
let checkout: string;
let shipped: string[];
let metafile: Metafile;

beforeAll(async () => {
  // A copy of what npm looks at, built fresh, with the kind of stray files a working tree has.
  checkout = mkdtempSync(path.join(tmpdir(), 'vouch-pack-'));
  for (const name of [
    'package.json',
    'README.md',
    'LICENSE',
    'policies',
    'restore-drills',
    'dashboards',
    'agent',
    'bench',
    'scripts',
    'test/tiers.ts',
  ]) {
    cpSync(path.join(ROOT, name), path.join(checkout, name), { recursive: true });
  }
  metafile = await buildDist(path.join(checkout, 'dist'));
  mkdirSync(path.join(checkout, 'dist/test/fixtures'), { recursive: true });
  writeFileSync(path.join(checkout, 'dist/test/fixtures/stale.js'), '// left over from an old build\n');
  writeFileSync(path.join(checkout, 'dist/stale.ts'), 'export {};\n');
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: checkout,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'silent' },
  });
  shipped = (JSON.parse(output) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path).sort();
}, 180_000);

afterAll(() => rmSync(checkout, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships the bundle, the console assets, policies, drills, dashboards, README and LICENSE', () => {
    for (const file of [
      'dist/vouch.js',
      'dist/vouch.js.map',
      'dist/analysis-worker.js',
      'dist/assets/console.js',
      'policies/s3-object-lock.yaml',
      'restore-drills/README.md',
      'dashboards/vouch-alerts.yml',
      'README.md',
      'LICENSE',
      'package.json',
    ]) {
      expect(shipped).toContain(file);
    }
  });

  it('ships no tests, benchmarks, scripts, TypeScript sources or fixtures', () => {
    // dashboards/vouch-alerts.test.yml is for users: `promtool test rules` of the shipped alert rules.
    const stray = shipped.filter(
      (file) =>
        /^(test|bench|scripts|agent|docs)\//.test(file) ||
        /(^|\/)(test|tests|fixtures|__tests__)\//.test(file) ||
        /\.(ts|tsx|mts|cts)$/.test(file) ||
        (/\.test\./.test(file) && file !== 'dashboards/vouch-alerts.test.yml'),
    );
    expect(stray).toEqual([]);
    // Only the bundle's own files from dist/: entries, chunks, their maps, the console assets.
    expect(
      shipped.filter(
        (file) =>
          file.startsWith('dist/') &&
          !/^dist\/(vouch|analysis-worker|fs-list-worker|chunk-[A-Z0-9]+)\.js(\.map)?$|^dist\/assets\//.test(
            file,
          ),
      ),
    ).toEqual([]);
  });

  it('ships source maps that carry their sources (the .ts files themselves are not shipped)', () => {
    const maps = shipped.filter((file) => file.endsWith('.map'));
    let ownSources = 0;
    expect(maps.length).toBe(shipped.filter((file) => /^dist\/[^/]+\.js$/.test(file)).length);
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(path.join(checkout, map), 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      expect(parsed.sourcesContent?.length, map).toBe(parsed.sources.length);
      // vouch's own sources, every one; a package's map may name sources the package does not ship (node-cron's).
      const own = parsed.sources.flatMap((source, i) =>
        path
          .resolve(path.dirname(path.join(checkout, map)), source)
          .startsWith(path.join(ROOT, 'agent') + path.sep)
          ? [parsed.sourcesContent![i]]
          : [],
      );
      expect(
        own.every((content) => typeof content === 'string' && content.length > 0),
        map,
      ).toBe(true);
      ownSources += own.length;
    }
    expect(ownSources).toBeGreaterThan(100);
  });

  /** The packages the bundle leaves to Node's resolution at run time (builtins and the AWS SDK's optional signers left out). */
  function runtimePackages(): Set<string> {
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    // What the bundle leaves to Node's resolution at run time, by esbuild's own account.
    const specifiers = new Set(
      Object.values(metafile.outputs).flatMap((output) =>
        output.imports.filter((i) => i.external).map((i) => i.path),
      ),
    );
    // Loaded through a variable (the bundler cannot see them): the demo's embedded S3 server, zstd's XXH64.
    specifiers.add('s3rver');
    specifiers.add('hash-wasm/dist/xxhash64.umd.min.js');
    // The AWS SDK probes for its optional signers inside try blocks.
    for (const optional of ['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a'])
      specifiers.delete(optional);
    const packageOf = (specifier: string) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/');
    return new Set([...specifiers].filter((specifier) => !builtins.has(specifier)).map(packageOf));
  }

  it('builds before packing, and every package the bundle loads at run time is installed with --omit=dev', () => {
    expect(pkg.scripts.prepack).toMatch(/npm run build/);
    const installed = new Set([
      ...Object.keys(pkg.dependencies),
      ...Object.keys(pkg.optionalDependencies ?? {}),
    ]);
    const runtime = runtimePackages();
    expect([...runtime].filter((name) => !installed.has(name))).toEqual([]);
    expect(runtime).toContain('pino');
  });

  it('installs nothing the bundle already carries: the runtime dependencies are exactly what it leaves outside', () => {
    const runtime = runtimePackages();
    expect([...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})].sort()).toEqual(
      [...runtime].sort(),
    );
  });

  it('keeps test-only and demo-only packages out of the runtime dependencies', () => {
    for (const name of ['fflate', 's3rver', 'sql.js', 'vitest', 'esbuild', 'tsx'])
      expect(Object.keys(pkg.dependencies)).not.toContain(name);
    expect(Object.keys(pkg.optionalDependencies ?? {}).sort()).toEqual(['s3rver', 'sql.js']);
  });
});
