/**
 * `npm run build`: bundles the CLI and its two worker entries (analysis, directory listing) with esbuild into dist/ (ESM, Node,
 * source maps with their sources embedded), and copies the web console's assets beside them.
 *
 * Why a bundle: the unbundled build loaded ~260 ES modules and ~120 CommonJS files on every run;
 * one file per entry (plus shared chunks for what is imported lazily) starts faster.
 *
 * Layout, flat on purpose — every module finds its run-time files relative to its own URL, and
 * in a bundle that URL is the chunk's: dist/vouch.js (the `bin`), dist/analysis-worker.js (the
 * analysis pool starts it as `./analysis-worker.js`), dist/fs-list-worker.js (a filesystem source's
 * listing thread, started as `./fs-list-worker.js`), dist/chunk-*.js (lazily imported parts),
 * dist/assets/ (the console's, read as `./assets/`). `../package.json`, `../dashboards/` and
 * `../restore-drills/` are one level up, as from agent/<folder>/ in the sources.
 *
 * Left outside the bundle (resolved from node_modules at run time): packages that locate their
 * own files at run time — pino (its transports start workers by path), sql.js (loads its .wasm),
 * s3rver (an optional dependency the demo loads on demand); and hash-wasm's XXH64 build, which
 * zstd.ts imports through a variable so that only that algorithm is parsed.
 *
 * tsc stays the type checker (`npm run typecheck`); esbuild only strips types.
 */
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashSourceTree } from '../agent/version.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * CommonJS packages bundled into ESM still call `require` for Node's built-ins and read
 * `__dirname`; give every output file the real ones.
 */
const CJS_SHIM = [
  "import { createRequire as __vouchCreateRequire } from 'node:module';",
  "import { fileURLToPath as __vouchFileURLToPath } from 'node:url';",
  'const require = __vouchCreateRequire(import.meta.url);',
  'const __filename = __vouchFileURLToPath(import.meta.url);',
  "const __dirname = __vouchFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

/** The esbuild options for an output directory and its entry points. */
export function bundleOptions(outdir: string, entryPoints: Record<string, string>): BuildOptions {
  return {
    absWorkingDir: ROOT,
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.15',
    sourcemap: 'linked',
    sourcesContent: true,
    chunkNames: 'chunk-[hash]',
    banner: { js: CJS_SHIM },
    external: ['pino', 'sql.js', 's3rver', 'hash-wasm/dist/*'],
    jsx: 'automatic',
    jsxImportSource: 'hono/jsx',
    logLevel: 'warning',
    legalComments: 'none',
    // Which detection judged a file is recorded with its judgement (agent/version.ts detectionVersion).
    define: {
      __VOUCH_DETECTION_REVISION__: JSON.stringify(hashSourceTree(path.join(ROOT, 'agent/detection'))),
    },
  };
}

/** Builds `dist` (default: the checkout's dist/) from scratch; returns esbuild's account of inputs, outputs and imports. */
export async function buildDist(dist: string = path.join(ROOT, 'dist')): Promise<Metafile> {
  await rm(dist, { recursive: true, force: true });
  const result = await build({
    ...bundleOptions(dist, {
      vouch: 'agent/cli/main.ts',
      'analysis-worker': 'agent/analysis/analysis-worker.ts',
      'fs-list-worker': 'agent/sources/fs-list-worker.ts',
    }),
    metafile: true,
  });
  await cp(path.join(ROOT, 'agent/web/assets'), path.join(dist, 'assets'), { recursive: true });
  return result.metafile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildDist();
