/**
 * The layering of agent/, enforced by `npm run lint:deps` (dependency-cruiser). ARCHITECTURE.md
 * draws it. Folders are listed bottom to top: a folder may import the root files (ROOT_FILES) and
 * any folder listed before it, never one after it; model/ imports nothing but model/. One total
 * order rules out every cycle between folders; `no-circular` rules them out between files. Type-only
 * imports count (`tsPreCompilationDeps`): persisted types are what used to pull imports upward.
 */
const fs = require('node:fs');

/** Bottom to top, grouped by layer (the grouping is for readers; the order is the rule). */
const LAYERS = [
  ['model'], // persisted and shared types; imports nothing else of vouch
  ['fs', 'tools', 'archives', 'config'], // primitives: files, host tools, archive readers, the policy
  ['integrity', 'verdicts', 'detection'], // decisions: pure judgements over model types
  ['sources', 'ledger', 'state'], // stores and sources: what is read and what is kept
  ['analysis', 'immutability', 'triage', 'scan', 'drills', 'recover', 'evidence'], // the work
  ['jobs', 'estate', 'metrics', 'web', 'daemon'], // serving: the job queue, the read model, the endpoints
  ['demo', 'cli'], // entry points
];
const ORDER = LAYERS.flat();
/** The only files at agent/'s root; a new one fails `unknown-root-file` (give it a folder instead). */
const ROOT_FILES = '^agent/(clock|errors|version|worker-entry)\\.ts$';

const upward = ORDER.map((folder, index) => ({
  name: `layer-${folder}`,
  comment: `agent/${folder}/ may import only ${index === 0 ? 'nothing else of vouch' : `root files and ${ORDER.slice(0, index).join(', ')}`} (.dependency-cruiser.cjs, ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: `^agent/${folder}/` },
  to: {
    path: '^agent/',
    pathNot: [
      `^agent/${folder}/`,
      ...(index === 0 ? [] : [ROOT_FILES, ...ORDER.slice(0, index).map((lower) => `^agent/${lower}/`)]),
    ],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle between files.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'root-files-import-no-folder',
      comment:
        'clock.ts, errors.ts, version.ts and worker-entry.ts sit at the bottom with model/: they import no folder of agent/.',
      severity: 'error',
      from: { path: ROOT_FILES },
      to: { path: '^agent/[^/]+/' },
    },
    {
      name: 'unknown-root-file',
      comment: 'agent/ holds only the root files listed in ROOT_FILES; anything else belongs in a folder.',
      severity: 'error',
      from: { path: '^agent/[^/]+\\.tsx?$', pathNot: ROOT_FILES },
      to: {},
    },
    {
      name: 'agent-stays-in-agent',
      comment:
        'agent/ (what ships) imports nothing from test/, bench/, scripts/ or any other folder of the repository.',
      severity: 'error',
      from: { path: '^agent/' },
      to: { dependencyTypes: ['local'], pathNot: '^agent/' },
    },
    {
      name: 'model-imports-no-package',
      comment: 'agent/model/ holds types only: it imports no package and no Node.js module.',
      severity: 'error',
      from: { path: '^agent/model/' },
      to: { pathNot: '^agent/model/' },
    },
    {
      name: 'unknown-folder',
      comment: 'Every folder of agent/ has a place in LAYERS (add a new one there, and to ARCHITECTURE.md).',
      severity: 'error',
      from: { path: '^agent/[^/]+/', pathNot: ORDER.map((folder) => `^agent/${folder}/`) },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^agent/web/assets/' },
    tsPreCompilationDeps: true,
    ...(fs.existsSync('tsconfig.json') ? { tsConfig: { fileName: 'tsconfig.json' } } : {}),
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js'] },
  },
};
