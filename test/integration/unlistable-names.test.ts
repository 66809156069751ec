/**
 * The listing never hides a file (bug B3), and one directory that cannot be read fails only its
 * own snapshot (bug B4). Trees are real: names that are not valid UTF-8 are made with Buffer
 * paths, a path over PATH_MAX by walking down relative paths in a shell, and an unreadable
 * directory with `chmod 000` while the scan runs as `nobody` (root ignores modes).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { runScan } from '../../agent/scan/scan-run.js';
import { createFsSource } from '../../agent/sources/fs-source.js';
import type { SourceObject } from '../../agent/sources/backup-source.js';

let base: string;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'vouch-unlistable-'));
  await chmod(base, 0o755);
});

afterAll(() => {
  // GNU rm walks a tree deeper than PATH_MAX; fs.rm cannot.
  execFileSync('rm', ['-rf', base]);
});

/** `name` under `dir` as a Buffer path (the name's bytes need not be UTF-8). */
const under = (dir: string, ...names: (string | Buffer)[]): Buffer =>
  Buffer.concat([Buffer.from(dir), ...names.flatMap((name) => [Buffer.from('/'), Buffer.from(name)])]);

function scanPolicy(root: string) {
  return validatePolicy(
    { sets: { t: { source: { fs: { path: root } }, snapshots: { layout: 'directory' } } } },
    'test',
    base,
  );
}

async function listAll(root: string): Promise<SourceObject[]> {
  const source = createFsSource(root);
  const out: SourceObject[] = [];
  try {
    for await (const object of source.list()) out.push(object);
  } finally {
    await source.close();
  }
  return out;
}

describe('names that are not valid UTF-8 (B3)', () => {
  let root: string;
  beforeAll(() => {
    root = path.join(base, 'b3');
    mkdirSync(path.join(root, 's'), { recursive: true });
    mkdirSync(under(root, 's', Buffer.from([0x64, 0x69, 0x72, 0xfe]))); // dir\xfe
    writeFileSync(under(root, 's', Buffer.from([0x64, 0x69, 0x72, 0xfe]), 'payload'), 'x\n');
    // enc\xff.bin: random bytes that would otherwise be an encrypted file no one looked at.
    writeFileSync(
      under(root, 's', Buffer.from([0x65, 0x6e, 0x63, 0xff, 0x2e, 0x62, 0x69, 0x6e])),
      execFileSync('head', ['-c', '200000', '/dev/urandom']),
    );
    writeFileSync(path.join(root, 's', 'visible'), 'v\n');
  });

  it('lists each such name escaped, as an unlisted unsafe entry, and does not walk its subtree', async () => {
    const listed = await listAll(root);
    expect(listed.map((object) => object.key)).toEqual(['s/dir\\xfe', 's/enc\\xff.bin', 's/visible']);
    const [dir, enc] = listed;
    expect(dir!.unlisted?.kind).toBe('unsafe-entry');
    expect(dir!.unlisted?.detail).toContain("'s/dir\\xfe' is not valid UTF-8");
    expect(dir!.unlisted?.detail).toContain("the directory's contents were not listed");
    expect(enc!.unlisted?.kind).toBe('unsafe-entry');
    expect(enc!.unlisted?.detail).not.toContain('contents');
    expect(listed[2]!.unlisted).toBeUndefined();
  });

  it('makes the snapshot not clean, with an unsafe-entry finding per hidden name', async () => {
    const report = (await runScan(scanPolicy(root), { stateDir: path.join(base, 'b3-state') })).sets[0]!;
    expect(report.error).toBeUndefined();
    expect(report.snapshots).toHaveLength(1);
    const snapshot = report.snapshots[0]!;
    expect(snapshot.verdict).not.toBe('clean');
    const unsafe = snapshot.findings.filter((finding) => finding.kind === 'unsafe-entry');
    expect(unsafe.map((finding) => finding.path).sort()).toEqual(['dir\\xfe', 'enc\\xff.bin']);
    expect(unsafe.every((finding) => finding.severity === 'warning')).toBe(true);
  });
});

describe('a snapshot folder whose name is not valid UTF-8 (B3)', () => {
  it('is a set finding, not a folder silently left out', async () => {
    const root = path.join(base, 'b3-root');
    mkdirSync(path.join(root, 'good'), { recursive: true });
    writeFileSync(path.join(root, 'good', 'file.txt'), 'good\n');
    mkdirSync(under(root, Buffer.from([0x62, 0x61, 0x64, 0xfe]))); // bad\xfe
    writeFileSync(under(root, Buffer.from([0x62, 0x61, 0x64, 0xfe]), 'file.txt'), 'hidden\n');
    const report = (await runScan(scanPolicy(root), { stateDir: path.join(base, 'b3-root-state') })).sets[0]!;
    expect(report.snapshots.map((snapshot) => snapshot.id)).toEqual(['good']);
    const unsafe = (report.findings ?? []).filter((finding) => finding.kind === 'unsafe-entry');
    expect(unsafe.map((finding) => finding.path)).toEqual(['bad\\xfe']);
    expect(unsafe[0]!.detail).toContain("the directory's contents were not listed");
  });
});

describe('a directory that cannot be read fails only its snapshot (B4)', () => {
  it('a path over PATH_MAX is a read-error on its snapshot; the rest and the sibling snapshot are scanned', async () => {
    const root = path.join(base, 'b4-long');
    mkdirSync(path.join(root, 'a'), { recursive: true });
    mkdirSync(path.join(root, 'b'), { recursive: true });
    writeFileSync(path.join(root, 'a', 'kept.txt'), 'kept\n');
    writeFileSync(path.join(root, 'b', 'other.txt'), 'other\n');
    // 24 levels of 200-character names: ~4.8k characters, over Linux's PATH_MAX of 4096.
    execFileSync('bash', [
      '-c',
      'cd "$1" && n=$(printf "d%.0s" $(seq 200)) && for i in $(seq 24); do mkdir "$n" && cd "$n"; done && echo deep > deep.txt',
      'bash',
      path.join(root, 'a'),
    ]);
    const report = (await runScan(scanPolicy(root), { stateDir: path.join(base, 'b4-long-state') })).sets[0]!;
    expect(report.error).toBeUndefined();
    // Order is by newest member mtime, which the deep mkdirs make a race: look them up by id.
    expect(report.snapshots.map((snapshot) => snapshot.id).sort()).toEqual(['a', 'b']);
    const a = report.snapshots.find((snapshot) => snapshot.id === 'a');
    const b = report.snapshots.find((snapshot) => snapshot.id === 'b');
    const errors = a!.findings.filter((finding) => finding.kind === 'read-error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.severity).toBe('critical');
    expect(errors[0]!.detail).toContain('ENAMETOOLONG');
    expect(a!.verdict).toBe('unverified');
    expect(a!.entries).toBeGreaterThanOrEqual(1); // kept.txt was still read
    expect(b!.verdict).toBe('clean');
  });

  it('an unreadable directory (chmod 000, scanned as nobody) is a read-error naming it; siblings scan as usual', async () => {
    const root = path.join(base, 'b4-locked');
    for (const dir of ['snap/locked', 'snap/open', 'later'])
      mkdirSync(path.join(root, dir), { recursive: true });
    writeFileSync(path.join(root, 'snap/locked/secret.txt'), 'secret\n');
    writeFileSync(path.join(root, 'snap/open/file.txt'), 'open\n');
    writeFileSync(path.join(root, 'later/file.txt'), 'later\n');
    // A directory snapshot's time is its newest member's mtime (directories included): pin them
    // so the order does not depend on whether the writes above fell in the same millisecond.
    const pin = (paths: string[], iso: string) => {
      for (const relative of paths) utimesSync(path.join(root, relative), new Date(iso), new Date(iso));
    };
    pin(
      ['snap/locked/secret.txt', 'snap/locked', 'snap/open/file.txt', 'snap/open', 'snap'],
      '2026-01-01T00:00:00Z',
    );
    pin(['later/file.txt', 'later'], '2026-01-02T00:00:00Z');
    chmodSync(path.join(root, 'snap/locked'), 0o000);
    const state = path.join(base, 'b4-locked-state');
    mkdirSync(state, { mode: 0o777 });
    chmodSync(state, 0o777);
    const script = path.join(base, 'scan-as-nobody.mts');
    writeFileSync(
      script,
      `import { validatePolicy } from ${JSON.stringify(path.resolve('agent/config/load-policy.ts'))};
import { runScan } from ${JSON.stringify(path.resolve('agent/scan/scan-run.ts'))};
const policy = validatePolicy({ sets: { t: { source: { fs: { path: ${JSON.stringify(root)} } }, snapshots: { layout: 'directory' } } } }, 'test', ${JSON.stringify(base)});
const report = (await runScan(policy, { stateDir: ${JSON.stringify(state)} })).sets[0];
process.stdout.write(JSON.stringify({ error: report.error, snapshots: report.snapshots.map((s) => ({ id: s.id, verdict: s.verdict, entries: s.entries, findings: s.findings })) }));
`,
    );
    chmodSync(script, 0o644);
    const out = execFileSync(
      'runuser',
      ['-u', 'nobody', '--', process.execPath, path.resolve('node_modules/tsx/dist/cli.mjs'), script],
      { cwd: process.cwd(), env: { ...process.env, HOME: base }, encoding: 'utf8', timeout: 120_000 },
    );
    const report = JSON.parse(out) as {
      error?: string;
      snapshots: {
        id: string;
        verdict: string;
        entries: number;
        findings: { kind: string; path: string; detail: string }[];
      }[];
    };
    expect(report.error).toBeUndefined();
    expect(report.snapshots.map((snapshot) => snapshot.id)).toEqual(['snap', 'later']);
    const snap = report.snapshots[0]!;
    const errors = snap.findings.filter((finding) => finding.kind === 'read-error');
    expect(errors.map((finding) => finding.path)).toEqual(['locked/']);
    expect(errors[0]!.detail).toContain("directory 'snap/locked/'");
    expect(errors[0]!.detail).toContain('EACCES');
    expect(snap.verdict).toBe('unverified');
    expect(snap.entries).toBe(1); // open/file.txt
    expect(report.snapshots[1]!.verdict).toBe('clean');
  });
});
