/**
 * The layering rule (.dependency-cruiser.cjs, `npm run lint:deps`) bites: upward imports of every
 * kind (value, type-only, re-export, dynamic), a file cycle, a package in model/, an unknown folder
 * or root file and an import out of agent/ fail it in small fixtures, and the real tree passes it. Runs the real
 * dependency-cruiser CLI, as CI does.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = process.cwd();
const CONFIG = path.join(REPO, '.dependency-cruiser.cjs');
const CLI = path.join(REPO, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** Runs `depcruise agent` with the project's rules in `cwd`: exit status and report. */
function lintDeps(cwd: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [CLI, 'agent', '--config', CONFIG, '--output-type', 'err'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const fixtures: string[] = [];
afterAll(() => fixtures.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A throwaway tree of `agent/` files (path → source) with the project's tsconfig. */
function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vouch-layering-'));
  fixtures.push(dir);
  copyFileSync(path.join(REPO, 'tsconfig.json'), path.join(dir, 'tsconfig.json'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), source);
  }
  return dir;
}

describe('lint:deps, the import-boundary rule', () => {
  it('passes a fixture whose imports only run downward', () => {
    const dir = fixture({
      'agent/model/finding.ts': 'export interface Finding { path: string }\n',
      'agent/scan/scan-run.ts':
        "import type { Finding } from '../model/finding.js';\nexport const none: Finding[] = [];\n",
    });
    const result = lintDeps(dir);
    expect(result.output).toContain('no dependency violations');
    expect(result.status).toBe(0);
  });

  it('fails a model/ file that imports scan/, naming the rule', () => {
    const dir = fixture({
      'agent/model/finding.ts':
        "import { none } from '../scan/scan-run.js';\nexport interface Finding { path: string }\nexport const count = none;\n",
      'agent/scan/scan-run.ts': 'export const none = 0;\n',
    });
    const result = lintDeps(dir);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/layer-model: agent\/model\/finding\.ts → agent\/scan\/scan-run\.ts/);
  });

  it('fails a store that imports the work above it (state/ importing scan/), and passes it the other way round', () => {
    const dir = fixture({
      'agent/scan/scan-run.ts': 'export const judge = (x: number) => x > 1;\n',
      'agent/state/set-index.ts':
        "import { judge } from '../scan/scan-run.js';\nexport const ok = judge(2);\n",
    });
    const result = lintDeps(dir);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/layer-state: agent\/state\/set-index\.ts → agent\/scan\/scan-run\.ts/);
    const downward = fixture({
      'agent/state/set-index.ts': 'export const judge = (x: number) => x > 1;\n',
      'agent/scan/scan-run.ts':
        "import { judge } from '../state/set-index.js';\nexport const ok = judge(2);\n",
    });
    expect(lintDeps(downward).status).toBe(0);
  });

  it('fails a cycle between two files of one folder, and a folder not in the layer list', () => {
    const dir = fixture({
      'agent/scan/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'agent/scan/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      'agent/misc/c.ts': "import { a } from '../scan/a.js';\nexport const c = a;\n",
    });
    const result = lintDeps(dir);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('no-circular');
    expect(result.output).toMatch(/unknown-folder: agent\/misc\/c\.ts/);
  });

  it('catches the imports a newcomer would not see: type-only, re-exported, dynamic, into test/, from a root file or a package in model/', () => {
    const dir = fixture({
      'agent/scan/scan-run.ts': 'export interface R { a: number }\nexport const r = 1;\n',
      'agent/model/type-only.ts': "import type { R } from '../scan/scan-run.js';\nexport type X = R;\n",
      'agent/model/re-export.ts': "export type { R } from '../scan/scan-run.js';\n",
      'agent/model/package.ts':
        "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n",
      'agent/state/dynamic.ts': "export const load = () => import('../scan/scan-run.js');\n",
      'agent/config/c.ts': 'export const c = 1;\n',
      'agent/fs/same-row.ts': "import { c } from '../config/c.js';\nexport const a = c;\n",
      'agent/clock.ts': "import type { R } from './scan/scan-run.js';\nexport type C = R;\n",
      'agent/util.ts': "import { c } from './config/c.js';\nexport const u = c;\n",
      'agent/drills/helper-use.ts': "import { h } from '../../test/helper.js';\nexport const t = h;\n",
      'test/helper.ts': 'export const h = 1;\n',
    });
    const result = lintDeps(dir);
    expect(result.status).not.toBe(0);
    for (const violation of [
      /layer-model: agent\/model\/type-only\.ts → agent\/scan\/scan-run\.ts/,
      /layer-model: agent\/model\/re-export\.ts → agent\/scan\/scan-run\.ts/,
      /model-imports-no-package: agent\/model\/package\.ts → /,
      /layer-state: agent\/state\/dynamic\.ts → agent\/scan\/scan-run\.ts/,
      /layer-fs: agent\/fs\/same-row\.ts → agent\/config\/c\.ts/,
      /root-files-import-no-folder: agent\/clock\.ts → agent\/scan\/scan-run\.ts/,
      /unknown-root-file: agent\/util\.ts → /,
      /agent-stays-in-agent: agent\/drills\/helper-use\.ts → test\/helper\.ts/,
    ])
      expect(result.output).toMatch(violation);
  });

  it('knows every folder and root file of the real agent/ (a new folder needs a place in LAYERS)', async () => {
    const config = (await import(path.join(REPO, '.dependency-cruiser.cjs'))) as {
      default: { forbidden: { name: string }[] };
    };
    const layers = config.default.forbidden
      .map((rule) => /^layer-(.+)$/.exec(rule.name)?.[1])
      .filter((name): name is string => name !== undefined);
    const entries = readdirSync(path.join(REPO, 'agent'), { withFileTypes: true });
    expect(
      entries
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort(),
    ).toEqual([...layers].sort());
    expect(
      entries
        .filter((entry) => entry.isFile())
        .map((entry) => entry.name)
        .sort(),
    ).toEqual(['clock.ts', 'errors.ts', 'version.ts', 'worker-entry.ts']);
  });

  it('passes the real tree', () => {
    const result = lintDeps(REPO);
    expect(result.output).toContain('no dependency violations');
    expect(result.status).toBe(0);
  });
});
