import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../agent/config/load-policy.js';
import { policyJsonSchema } from '../../agent/config/policy-json-schema.js';
import { ConfigError } from '../../agent/errors.js';

function problemsOf(text: string): string[] {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('policy was accepted');
}

describe('policy files', () => {
  it('names every problem by its path, all at once', () => {
    const problems = problemsOf(`
sets:
  orders:
    source: { s3: { region: eu-west-1 } }
    snapshots: { layout: archive, match: '(' }
    targets: { rpo: 5x }
    retention: 30d
  Bad_Name:
    source: { fs: { path: /x } }
    snapshots: { layout: directory }
`);
    expect(problems).toContain('sets.orders.source.s3.bucket: required');
    expect(problems).toContain('sets.orders.snapshots.match: not a valid regular expression');
    expect(problems).toContain('sets.orders.targets.rpo: expected a duration such as 90m, 24h, 30d');
    expect(problems).toContain('sets.orders.retention: unknown key');
    expect(problems.some((p) => p.startsWith('sets.Bad_Name: invalid name'))).toBe(true);
  });

  it('requires exactly one source kind', () => {
    expect(
      problemsOf(
        `sets:\n  a:\n    source: { fs: { path: /a }, s3: { bucket: abc } }\n    snapshots: { layout: archive }\n`,
      ),
    ).toEqual(['sets.a.source: set exactly one of fs, s3, restic, borg']);
  });

  it('reads restic and borg sets without a snapshots block, resolving local repositories and password files against the policy file', () => {
    const policy = parsePolicy(
      `sets:
  orders-restic:
    source: { restic: { repository: ./restic-repo, passwordFile: ./restic.pw, host: db1, tags: [nightly], paths: [/srv/orders] } }
  orders-s3-restic:
    source: { restic: { repository: 's3:https://s3.example.com/backups/orders', lock: false } }
  orders-borg:
    source: { borg: { repository: ../borg-repo, archives: 'orders-*' } }
  orders-borg-ssh:
    source: { borg: { repository: 'backup@nas:orders' } }
`,
      '/etc/vouch/vouch.yaml',
    );
    const [restic, s3Restic, borg, borgSsh] = policy.sets;
    expect(restic!.source).toEqual({
      kind: 'restic',
      repository: '/etc/vouch/restic-repo',
      passwordFile: '/etc/vouch/restic.pw',
      host: 'db1',
      paths: ['/srv/orders'],
      tags: ['nightly'],
      lock: true,
    });
    expect(restic!.layout).toBe('archive');
    expect(restic!.storage.media).toBe('disk');
    expect(s3Restic!.source).toMatchObject({
      kind: 'restic',
      repository: 's3:https://s3.example.com/backups/orders',
      lock: false,
    });
    expect(s3Restic!.storage.media).toBe('object-storage');
    expect(borg!.source).toEqual({
      kind: 'borg',
      repository: '/etc/borg-repo',
      archives: 'orders-*',
      lock: true,
    });
    expect(borgSsh!.source).toMatchObject({ kind: 'borg', repository: 'backup@nas:orders' });
  });

  it('refuses a snapshots block on restic and borg sets, and requires one on fs and s3 sets', () => {
    expect(
      problemsOf(`sets:
  a:
    source: { restic: { repository: /r } }
    snapshots: { layout: archive }
  b:
    source: { fs: { path: /b } }
  c:
    source: { borg: { repository: /c } }
    immutability: { objectLock: compliance }
`),
    ).toEqual([
      'sets.a.snapshots: restic sets need no snapshots block: each restic snapshot is one snapshot',
      'sets.b.snapshots: required for fs and s3 sets (layout: archive or directory)',
      'sets.c.immutability.objectLock: applies to s3 sets only',
    ]);
  });

  it('takes a password file for encrypted 7z snapshots, never the password', () => {
    const policy = parsePolicy(
      `sets:
  a:
    source: { fs: { path: /a } }
    snapshots: { layout: archive, passwordFile: ./7z.pw }
`,
      '/etc/vouch/vouch.yaml',
    );
    expect(policy.sets[0]!.archivePasswordFile).toBe('/etc/vouch/7z.pw');
    expect(
      problemsOf(`sets:
  a:
    source: { fs: { path: /a } }
    snapshots: { layout: archive, password: secret }
`),
    ).toEqual(['sets.a.snapshots.password: unknown key']);
  });

  it('refuses an alias to an anchor that is not there with a ConfigError (found by the policy fuzzer)', () => {
    expect(() => parsePolicy('<<: *a\nsets: {}\n', 'p.yaml')).toThrow(ConfigError);
    expect(() => parsePolicy('<<: *a\nsets: {}\n', 'p.yaml')).toThrow(/not valid YAML/);
  });

  it('reports YAML syntax errors instead of schema noise', () => {
    expect(problemsOf('sets: [unclosed\n')[0]).toMatch(/./);
  });

  it('resolves durations, sizes, regexes and relative paths against the policy file', () => {
    const policy = parsePolicy(
      `state: ./state
sets:
  orders:
    source: { fs: { path: ./backups } }
    snapshots: { layout: archive, match: '^orders-(?<time>\\d{8}T\\d{6}Z)\\.tar\\.gz$' }
    integrity: { rehash: 7d }
    limits: { maxEntryBytes: 10GiB }
    targets: { rpo: 24h, rto: 2h }
`,
      '/etc/vouch/policy.yaml',
    );
    const [set] = policy.sets;
    expect(policy.state).toBe('/etc/vouch/state');
    expect(set!.source).toEqual({ kind: 'fs', path: '/etc/vouch/backups', concurrency: 8 });
    expect(set!.match!.exec('orders-20251019T000000Z.tar.gz')?.groups?.time).toBe('20251019T000000Z');
    expect(set!.rehashSeconds).toBe(7 * 86_400);
    expect(set!.limits.maxEntryBytes).toBe(10 * 2 ** 30);
    expect([set!.rpoSeconds, set!.rtoSeconds]).toEqual([86_400, 7200]);
    expect(set!.algorithm).toBe('sha256');
  });

  it('resolves drill definitions: commands, scripts, application checks, limits and defaults', () => {
    const policy = parsePolicy(
      `sets:
  orders:
    source: { fs: { path: ./backups } }
    snapshots: { layout: archive }
    targets: { rpo: 24h }
    drill:
      pick: random
      window: 30d
      sample: 12.5%
      timeout: 10m
      limits: { memory: 1GiB, processes: 128 }
      commands:
        - 'test -s db/orders.sql'
        - { script: ./checks/rows.sh, args: [exports], expectOutput: '^ok', timeout: 30s }
      postgres:
        - dump: db/orders.sql
          assertions:
            - { sql: 'select count(*) from orders', min: 1000 }
            - { name: fresh, sql: 'select max(ordered_at) from orders', within: rpo }
      sqlite:
        - { path: db/inventory.sqlite, integrity: quick }
  plain:
    source: { fs: { path: ./plain } }
    snapshots: { layout: directory }
`,
      '/etc/vouch/policy.yaml',
    );
    const [orders, plain] = policy.sets;
    expect(orders!.drill).toMatchObject({
      pick: 'random',
      windowSeconds: 30 * 86_400,
      samplePercent: 12.5,
      sandbox: 'bwrap',
      timeoutSeconds: 600,
    });
    expect(orders!.drill.limits).toMatchObject({ memoryBytes: 2 ** 30, processes: 128, cpuSeconds: 1800 });
    expect(orders!.drill.commands).toEqual([
      {
        name: 'test -s db/orders.sql',
        run: 'test -s db/orders.sql',
        script: null,
        args: [],
        expectExit: 0,
        timeoutSeconds: 600,
      },
      {
        name: 'rows.sh exports',
        run: null,
        script: '/etc/vouch/checks/rows.sh',
        args: ['exports'],
        expectExit: 0,
        expectOutput: /^ok/u,
        timeoutSeconds: 30,
      },
    ]);
    expect(orders!.drill.postgres[0]!.assertions).toEqual([
      { name: 'select count(*) from orders', sql: 'select count(*) from orders', min: 1000 },
      { name: 'fresh', sql: 'select max(ordered_at) from orders', withinSeconds: 86_400 },
    ]);
    expect(orders!.drill.sqlite[0]).toMatchObject({
      path: 'db/inventory.sqlite',
      integrity: 'quick',
      assertions: [],
    });
    expect(plain!.drill).toMatchObject({
      pick: 'last-clean',
      samplePercent: 100,
      sandbox: 'bwrap',
      commands: [],
      postgres: [],
      sqlite: [],
      verify: { digests: true, structure: true },
    });
  });

  it('rejects drill definitions that cannot work, by path', () => {
    const problems = problemsOf(`
sets:
  orders:
    source: { fs: { path: /x } }
    snapshots: { layout: archive }
    drill:
      sample: 150%
      sandbox: docker
      commands: [{ run: 'true', script: ./x.sh }]
      postgres: [{ dump: db/x.sql, database: Bad-Name, assertions: [{ sql: 'select 1' }] }]
`);
    expect(problems).toContain('sets.orders.drill.sample: expected a percentage above 0% and at most 100%');
    expect(problems.some((p) => p.startsWith('sets.orders.drill.sandbox:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('sets.orders.drill.commands[0]'))).toBe(true);
    expect(problems).toContain('sets.orders.drill.postgres[0].database: a lower-case PostgreSQL identifier');
    expect(problems).toContain(
      'sets.orders.drill.postgres[0].assertions[0]: give at least one of min, max, equals, matches, within',
    );
    expect(() =>
      parsePolicy(
        `sets:\n  o:\n    source: { fs: { path: /x } }\n    snapshots: { layout: archive }\n    drill: { sqlite: [{ path: a.db, assertions: [{ sql: 'select 1', within: rpo }] }] }\n`,
        'p.yaml',
      ),
    ).toThrow(/sets\.o\.drill: assertion "select 1" uses within: rpo, but sets\.o\.targets\.rpo is not set/);
  });

  it('accepts every example policy shipped in policies/', () => {
    const dir = path.resolve('policies');
    const examples = readdirSync(dir).filter((name) => name.endsWith('.yaml'));
    expect(examples.length).toBeGreaterThan(0);
    for (const name of examples) {
      const policy = parsePolicy(readFileSync(path.join(dir, name), 'utf8'), path.join(dir, name));
      expect(policy.sets.length, name).toBeGreaterThan(0);
    }
  });

  it('keeps the committed JSON Schema in step with the zod schema (run `npm run schema` after changing it)', () => {
    const committed = JSON.parse(readFileSync('policies/vouch-policy.schema.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(policyJsonSchema())));
  });
});
