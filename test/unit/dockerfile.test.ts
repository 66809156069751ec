import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Dockerfile instructions with continuation lines joined (no Docker engine is needed to read them), each with its stage's name. */
function instructions(text: string): { op: string; args: string; stage: number; name: string }[] {
  const joined = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'));
  let stage = -1;
  let name = '';
  return joined.map((line) => {
    const [, op, args] = /^\s*(\w+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === 'FROM') {
      stage++;
      name = / AS (\S+)$/i.exec(args!.trim())?.[1] ?? '';
    }
    return { op: op!.toUpperCase(), args: args!.trim(), stage, name };
  });
}

describe('Dockerfile', () => {
  const all = instructions(readFileSync('Dockerfile', 'utf8'));
  const runtime = all.filter((i) => i.name === 'runtime');
  const one = (op: string) => runtime.filter((i) => i.op === op);

  it('builds in one stage with npm ci and ships only the build output and production modules', () => {
    expect(all.filter((i) => i.op === 'FROM').map((i) => i.args)).toEqual([
      expect.stringMatching(/ AS build$/),
      expect.stringMatching(/ AS runtime$/),
      'runtime AS drills',
      'runtime AS agent',
    ]);
    // `docker build .` builds the last stage: the agent image is the runtime, nothing added.
    expect(all.filter((i) => i.name === 'agent').map((i) => i.op)).toEqual(['FROM']);
    expect(all.some((i) => i.stage === 0 && i.op === 'RUN' && /npm ci\b/.test(i.args))).toBe(true);
    expect(all.some((i) => i.stage === 0 && i.op === 'RUN' && /npm prune --omit=dev/.test(i.args))).toBe(
      true,
    );
    expect(
      one('COPY')
        .filter((i) => i.args.startsWith('--from=build'))
        .map((i) => i.args.split(' ')[1]),
    ).toEqual(['/src/package.json', '/src/node_modules', '/src/dist']);
  });

  it('runs serve as a non-root user under tini, with bubblewrap for drills', () => {
    expect(one('USER').at(-1)!.args).not.toMatch(/^(root|0)(:|$)/);
    expect(one('ENTRYPOINT')[0]!.args).toMatch(/^\["\/usr\/bin\/tini", "--", "node"/);
    expect(one('CMD').at(-1)!.args).toBe('["serve"]');
    // bubblewrap comes in directly or through the DRILL_TOOLS build argument the RUN installs.
    const drillTools = one('ARG').find((i) => i.args.startsWith('DRILL_TOOLS='))?.args ?? '';
    expect(
      one('RUN').some(
        (i) =>
          /apt-get install .*\btini\b/.test(i.args) &&
          (/\bbubblewrap\b/.test(i.args) ||
            (/\$\{DRILL_TOOLS\}/.test(i.args) && /\bbubblewrap\b/.test(drillTools))),
      ),
    ).toBe(true);
  });

  it('builds on a Node.js LTS release that CI tests and engines allows', () => {
    const version = all
      .find((i) => i.op === 'ARG' && i.args.startsWith('NODE_VERSION='))!
      .args.split('=')[1]!;
    // Every stage starts from the pinned Node.js image or from a stage built on it.
    const stages: string[] = [];
    for (const from of all.filter((i) => i.op === 'FROM')) {
      const [image, , name] = from.args.split(/\s+/);
      expect(image!.startsWith('node:${NODE_VERSION}-') || stages.includes(image!)).toBe(true);
      if (name) stages.push(name);
    }
    expect(Number(version) % 2).toBe(0); // even majors are the LTS lines
    expect(readFileSync('.ci/run', 'utf8')).toMatch(
      new RegExp(`with-node\\.sh (\\S+ )?${version}\\b|for major in [\\d ]*\\b${version}\\b`),
    );
    const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } })
      .engines.node;
    expect(engines).toMatch(new RegExp(`\\^${version}\\b|>=(\\d+)`));
  });

  it('exposes the daemon port, checks /healthz and carries OCI labels', () => {
    expect(one('EXPOSE').map((i) => i.args)).toEqual(['9740']);
    expect(one('ENV').some((i) => /VOUCH_LISTEN=0\.0\.0\.0:9740/.test(i.args))).toBe(true);
    expect(one('HEALTHCHECK')[0]!.args).toMatch(/\/healthz/);
    const labels = one('LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'description', 'version', 'licenses'])
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
  });

  it('has a drills target with PostgreSQL, SQLite and bubblewrap that still runs as the unprivileged user', () => {
    const drills = all.filter((i) => i.name === 'drills');
    const install = drills.find((i) => i.op === 'RUN' && /apt-get install/.test(i.args))!.args;
    for (const tool of ['postgresql', 'sqlite3', 'bubblewrap'])
      expect(install).toMatch(new RegExp(`\\b${tool}\\b`));
    expect(drills.filter((i) => i.op === 'USER').at(-1)!.args).toBe('node');
  });
});
