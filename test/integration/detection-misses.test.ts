/**
 * The detection misses the adversarial review of issue 12 found, rebuilt with the real tools
 * (openssl enc, gpg, zip -P) in set-up and scanned as a user's sets: ciphertext camouflaged under
 * plain-text names, a terse ransom note inside a snapshot, a first snapshot that is already hit,
 * and (see the zip describe) archives encrypted by the archiver itself. Each must be a finding,
 * and recovery must neither restore the ciphertext as intact nor count the note as lost data.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import { loadPlanInput } from '../../agent/recover/plan-input.js';
import { planRecovery } from '../../agent/recover/recovery-plan.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';

const NOTE =
  'YOUR FILES HAVE BEEN ENCRYPTED!\nAll your documents, databases and backups are encrypted.\nTo decrypt them send 2 BTC to bc1qxyz and email decrypt@evil.example with your ID.\nDo not try to recover files yourself or they will be lost forever.\n';

let root: string;

function run(command: string, args: string[], options: { cwd?: string } = {}): Buffer {
  return execFileSync(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 2 ** 28,
    env: { ...process.env, GNUPGHOME: path.join(root, 'gnupg') },
    ...options,
  });
}

/** `openssl enc` of `data`, as a ransomware script runs it. */
function opensslEnc(data: Buffer): Buffer {
  writeFileSync(path.join(root, 'plain'), data);
  return run('openssl', [
    'enc',
    '-aes-256-cbc',
    '-salt',
    '-pbkdf2',
    '-pass',
    'pass:evil',
    '-in',
    path.join(root, 'plain'),
  ]);
}

/** A binary gpg message of `data` (gpg --symmetric, no armour). */
function gpgSymmetric(data: Buffer): Buffer {
  writeFileSync(path.join(root, 'plain'), data);
  return run('gpg', [
    '--batch',
    '--yes',
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    'evil',
    '--symmetric',
    '--output',
    '-',
    path.join(root, 'plain'),
  ]);
}

/** Real files of this machine, as a small estate. */
function estate(): Record<string, Buffer> {
  return {
    'exports/orders.csv': Buffer.from(
      Array.from({ length: 400 }, (_, i) => `${i},widget-${i},${(i * 7) % 100}.99\n`).join(''),
    ),
    'notes/static.txt': readFileSync('/usr/share/common-licenses/GPL-3'),
    'doc/copyright': readFileSync('/usr/share/common-licenses/Apache-2.0'),
    'etc/passwd': readFileSync('/etc/passwd'),
  };
}

function writeTree(dir: string, files: Record<string, Buffer>): void {
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), data);
  }
}

function directoryPolicy(base: string) {
  return validatePolicy(
    {
      sets: {
        files: {
          source: { fs: { path: base } },
          snapshots: { layout: 'directory', match: '^(?<time>\\d{4}-\\d{2}-\\d{2})$' },
        },
      },
    },
    'test policy',
    root,
  );
}

const findingsOf = (report: ScanReport, id: string) =>
  report.sets[0]!.snapshots.find((snapshot) => snapshot.id === id)!;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'vouch-misses-'));
  mkdirSync(path.join(root, 'gnupg'), { mode: 0o700 });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('a first snapshot that is already hit (no history)', () => {
  let report: ScanReport;
  let state: string;

  beforeAll(async () => {
    const base = path.join(root, 'first');
    state = path.join(root, 'state-first');
    const files = estate();
    writeTree(path.join(base, '2025-11-05'), {
      ...files,
      'exports/orders.csv': opensslEnc(files['exports/orders.csv']!),
      'notes/static.txt': gpgSymmetric(files['notes/static.txt']!),
      'README_DECRYPT.txt': Buffer.from(NOTE),
    });
    report = await runScan(directoryPolicy(base), { stateDir: state });
  });

  it('flags the openssl CSV and the gpg .txt as camouflaged ciphertext and the note as a ransom note: compromised, not clean', () => {
    const snapshot = findingsOf(report, '2025-11-05');
    expect(snapshot.verdict).toBe('compromised');
    const byPath = new Map(snapshot.findings.map((finding) => [`${finding.kind} ${finding.path}`, finding]));
    expect(byPath.get('encrypted exports/orders.csv')).toMatchObject({ severity: 'critical' });
    expect(byPath.get('encrypted exports/orders.csv')!.detail).toMatch(
      /named as plain text \(\.csv\).*Salted__/,
    );
    expect(byPath.get('encrypted notes/static.txt')).toMatchObject({ severity: 'critical' });
    expect(byPath.get('ransom-note README_DECRYPT.txt')).toMatchObject({ severity: 'critical' });
    expect(report.sets[0]!.lastClean).toBeNull();
  });

  it('recovers neither the ciphertext nor the note: the two files are lost, the note is an artifact', async () => {
    const plan = planRecovery('files', await loadPlanInput(state, 'files'));
    expect(plan.files.map((file) => file.path).sort()).toEqual(['doc/copyright', 'etc/passwd']);
    expect(plan.lost.map((file) => file.path).sort()).toEqual(['exports/orders.csv', 'notes/static.txt']);
    expect(plan.artifacts).toEqual([
      expect.objectContaining({ path: 'README_DECRYPT.txt', kind: 'ransom-note' }),
    ]);
  });
});

describe('a new ciphertext file and a terse note in a snapshot after clean ones', () => {
  let report: ScanReport;
  let state: string;

  beforeAll(async () => {
    const base = path.join(root, 'later');
    state = path.join(root, 'state-later');
    const files = estate();
    writeTree(path.join(base, '2025-11-04'), files);
    writeTree(path.join(base, '2025-11-05'), {
      ...files,
      'notes/new5.txt': opensslEnc(readFileSync('/usr/share/common-licenses/GPL-2')),
      'HOW_TO_DECRYPT.txt': Buffer.from(NOTE),
    });
    report = await runScan(directoryPolicy(base), { stateDir: state });
  });

  it('flags the new .txt holding Salted__ and the note; the earlier night stays clean', () => {
    expect(findingsOf(report, '2025-11-04')).toMatchObject({ verdict: 'clean', findings: [] });
    const hit = findingsOf(report, '2025-11-05');
    expect(hit.verdict).toBe('compromised');
    expect(hit.findings.map((finding) => `${finding.kind} ${finding.path}`).sort()).toEqual([
      'encrypted notes/new5.txt',
      'ransom-note HOW_TO_DECRYPT.txt',
    ]);
  });

  it('plans every intact file, reports new5.txt lost and the note as an artifact', async () => {
    const plan = planRecovery('files', await loadPlanInput(state, 'files'));
    expect(plan.files.map((file) => file.path).sort()).toEqual(Object.keys(estate()).sort());
    expect(plan.lost.map((file) => file.path)).toEqual(['notes/new5.txt']);
    expect(plan.artifacts.map((artifact) => artifact.path)).toEqual(['HOW_TO_DECRYPT.txt']);
  });
});

describe.each([
  [
    'zip -P (ZipCrypto)',
    (dir: string, out: string) => run('zip', ['-q', '-r', '-P', 'evil', out, '.'], { cwd: dir }),
  ],
  [
    '7-Zip zip AES-256',
    (dir: string, out: string) =>
      run('7zz', ['a', '-bd', '-tzip', '-pevil', '-mem=AES256', out, '.'], { cwd: dir }),
  ],
])('archives encrypted by the archiver itself: %s', (label, encryptedZip) => {
  const slug = label.replace(/[^a-z0-9]+/gi, '-');
  const files = () => estate();
  const zipPolicy = (base: string, detection: Record<string, unknown> = {}) =>
    validatePolicy(
      {
        sets: {
          web: {
            source: { fs: { path: base } },
            snapshots: { layout: 'archive', match: '^web-(?<time>\\d{8}T\\d{6}Z)\\.zip$' },
            detection,
          },
        },
      },
      'test policy',
      root,
    );
  /** Zips `content` into `out` (plain, or with the archiver's password). */
  function pack(content: Record<string, Buffer>, out: string, encrypted: boolean): void {
    const dir = mkdtempSync(path.join(root, 'tree-'));
    writeTree(dir, content);
    rmSync(out, { force: true });
    if (encrypted) encryptedZip(dir, out);
    else run('zip', ['-q', '-r', out, '.'], { cwd: dir });
    rmSync(dir, { recursive: true, force: true });
  }

  it('calls a night whose files were plain the night before and are now password-protected compromised, each file encrypted; recovery takes the plain night', async () => {
    const base = path.join(root, `zip-${slug}`);
    const state = path.join(root, `state-zip-${slug}`);
    mkdirSync(base, { recursive: true });
    pack(files(), path.join(base, 'web-20251104T020000Z.zip'), false);
    pack(files(), path.join(base, 'web-20251105T020000Z.zip'), true);
    const report = await runScan(zipPolicy(base), { stateDir: state });
    expect(findingsOf(report, 'web-20251104T020000Z')).toMatchObject({ verdict: 'clean', findings: [] });
    const hit = findingsOf(report, 'web-20251105T020000Z');
    expect(hit.verdict).toBe('compromised');
    const encrypted = hit.findings.filter((finding) => finding.kind === 'encrypted');
    expect(encrypted.map((finding) => finding.path).sort()).toEqual(Object.keys(files()).sort());
    for (const finding of encrypted) {
      expect(finding.severity).toBe('critical');
      expect(finding.detail).toMatch(
        /became encrypted: was text in the previous snapshot, now password-protected by its archive/,
      );
    }
    const plan = planRecovery('web', await loadPlanInput(state, 'web'));
    expect(plan.files.map((file) => file.snapshot)).toEqual(
      Object.keys(files()).map(() => 'web-20251104T020000Z'),
    );
    expect(plan.lost).toEqual([]);
  });

  it('makes a first snapshot whose every file is password-protected suspicious, and clean where the policy expects encrypted archives', async () => {
    const base = path.join(root, `zip-first-${slug}`);
    mkdirSync(base, { recursive: true });
    pack(files(), path.join(base, 'web-20251105T020000Z.zip'), true);
    const report = await runScan(zipPolicy(base), { stateDir: path.join(root, `state-zip-first-${slug}`) });
    const snapshot = findingsOf(report, 'web-20251105T020000Z');
    expect(snapshot.verdict).toBe('suspicious');
    expect(snapshot.findings).toEqual([
      expect.objectContaining({
        kind: 'encrypted',
        path: '',
        severity: 'warning',
        detail: expect.stringMatching(/^all 4 files are password-protected by the archive itself/),
      }),
    ]);
    const expected = await runScan(zipPolicy(base, { expectEncryptedArchives: true }), {
      stateDir: path.join(root, `state-zip-expected-${slug}`),
    });
    expect(findingsOf(expected, 'web-20251105T020000Z')).toMatchObject({ verdict: 'clean', findings: [] });
    // One plain file among them: not an archive sealed whole, no finding.
    const mixed = path.join(root, `zip-mixed-${slug}`);
    mkdirSync(mixed, { recursive: true });
    pack(files(), path.join(mixed, 'web-20251105T020000Z.zip'), true);
    writeFileSync(path.join(root, 'README'), 'plain\n');
    run('zip', ['-q', '-j', path.join(mixed, 'web-20251105T020000Z.zip'), path.join(root, 'README')]);
    const partly = await runScan(zipPolicy(mixed), { stateDir: path.join(root, `state-zip-mixed-${slug}`) });
    expect(findingsOf(partly, 'web-20251105T020000Z')).toMatchObject({ verdict: 'clean', findings: [] });
  });

  it('says a baselined file is now password-protected when its archive is re-packed with a password', async () => {
    const base = path.join(root, `zip-rebaselined-${slug}`);
    const state = path.join(root, `state-zip-rebaselined-${slug}`);
    mkdirSync(base, { recursive: true });
    const archive = path.join(base, 'web-20251105T020000Z.zip');
    pack(files(), archive, false);
    await runScan(zipPolicy(base), { stateDir: state });
    pack(files(), archive, true);
    const report = await runScan(zipPolicy(base), { stateDir: state });
    const snapshot = findingsOf(report, 'web-20251105T020000Z');
    expect(snapshot.verdict).toBe('compromised');
    const drift = snapshot.findings.filter(
      (finding) => finding.kind.startsWith('drift-') && finding.path !== '' && !finding.path.endsWith('.zip'),
    );
    expect(drift.map((finding) => finding.path).sort()).toEqual(Object.keys(files()).sort());
    for (const finding of drift)
      expect(finding.detail).toMatch(
        /^now password-protected by the archive \(stored encrypted; the baseline held it readable as text\): \d+ bytes/,
      );
  });
});
