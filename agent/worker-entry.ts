/**
 * How to start one of vouch's worker modules, `name` beside the module at `from` (pass the
 * caller's `import.meta.url`: in the bundle each chunk sits in dist/ beside the worker entries).
 * The built `.js` starts directly; from the TypeScript sources (tests, `tsx`) the worker registers
 * tsx's loader itself, which a test runner's own transform does not reach.
 */
export function workerEntry(name: string, from: string): [string | URL, { eval?: boolean }] {
  const url = new URL(`./${name}.${from.endsWith('.ts') ? 'ts' : 'js'}`, from);
  if (url.pathname.endsWith('.js')) return [url, {}];
  return [
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`,
    { eval: true },
  ];
}
