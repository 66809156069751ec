/**
 * Triage end to end on a real estate: an offline volume of directory snapshots holding the
 * machine's licence texts, some replaced by real `openssl enc` output (a password manager's own
 * encryption, in the story) and a security-awareness kit's example ransom note. `vouch accept`
 * turns the compromised and suspicious snapshots clean, every view (scan, last-clean, metrics,
 * the JSON API, the web console in Chromium, the auditor report) shows the findings as accepted
 * with who and why, the ledger verifies, a file that changes again counts again, and revoking
 * brings the verdicts back. Bad input exits 2 with a message that says what to do.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLedger } from '../../agent/ledger/ledger-store.js';
import { readSetIndex } from '../../agent/state/set-index.js';
import { type SnapshotState } from '../../agent/model/snapshot-state.js';
import { accessibilityViolations, launchChromium, watchPage } from '../helpers/browser.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { getJson, parseMetrics, startServe, type ServeProcess } from '../helpers/serve.js';

const LICENSES = '/usr/share/common-licenses';
const PLAIN = ['GPL-2', 'GPL-3', 'LGPL-2.1', 'Apache-2.0', 'MPL-2.0', 'Artistic', 'BSD'];
const VAULT = ['GPL-1', 'LGPL-2', 'MPL-1.1'];
const NOTE = 'training/HOW_TO_DECRYPT.txt';
const D1 = 'docs-20260101';
const D2 = 'docs-20260102';
const D3 = 'docs-20260103';
const D4 = 'docs-20260104';

let root: string;
/** Snapshots in which the scan reported the vault's files as encrypted (D2, and D3 where unchanged bytes are reported again). */
let vaultIn: string[];
let volume: string;
let config: string;
let state: string;

/** `openssl enc` of a file with a key of our choosing (no header: raw ciphertext). */
function opensslEncrypt(input: string, output: string, key: number): void {
  execFileSync('openssl', [
    'enc',
    '-aes-256-ctr',
    '-nosalt',
    '-K',
    key.toString(16).padStart(64, '0'),
    '-iv',
    '3'.padStart(32, '0'),
    '-in',
    input,
    '-out',
    output,
  ]);
}

const noteText = (extra: string) =>
  `YOUR FILES ARE ENCRYPTED!\nAll your files have been encrypted. To decrypt them, pay 0.5 BTC to our wallet.\nContact us at http://examplexampleexample3xample4onion5address6xyz.onion with your ID.\n${extra}\n`;

async function vouch(...args: string[]): Promise<CliResult> {
  return runCli(['--config', config, ...args]);
}

async function vouchJson<T>(...args: string[]): Promise<{ code: number | null; body: T; stderr: string }> {
  const result = await runCli(['--config', config, '--json', ...args]);
  return { code: result.code, body: JSON.parse(result.stdout) as T, stderr: result.stderr };
}

async function snapshots(): Promise<Record<string, SnapshotState>> {
  return (await readSetIndex(state, 'docs')).snapshots;
}

const verdicts = async () =>
  Object.fromEntries(Object.entries(await snapshots()).map(([id, snapshot]) => [id, snapshot.verdict]));

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'vouch-triage-'));
  volume = path.join(root, 'volume');
  state = path.join(root, 'state');
  // D1: licence texts, three of them in a vault folder; a staff handbook.
  const d1 = path.join(volume, D1);
  await mkdir(path.join(d1, 'licenses'), { recursive: true });
  await mkdir(path.join(d1, 'vault'), { recursive: true });
  await mkdir(path.join(d1, 'training'), { recursive: true });
  for (const name of PLAIN) await cp(path.join(LICENSES, name), path.join(d1, 'licenses', `${name}.txt`));
  for (const name of VAULT) await cp(path.join(LICENSES, name), path.join(d1, 'vault', `${name}.txt`));
  await writeFile(path.join(d1, 'training/intro.txt'), 'Staff handbook: how we work.\n');
  // D2: the vault encrypted in place by the password manager; the training kit's example ransom note.
  const d2 = path.join(volume, D2);
  await cp(d1, d2, { recursive: true });
  for (const name of VAULT)
    opensslEncrypt(path.join(LICENSES, name), path.join(d2, 'vault', `${name}.txt`), 7);
  await writeFile(
    path.join(d2, NOTE),
    noteText('This is an example ransom note from the security awareness training kit.'),
  );
  // D3: unchanged, but someone renamed BSD.txt to BSD.txt.orig.
  const d3 = path.join(volume, D3);
  await cp(d2, d3, { recursive: true });
  await rename(path.join(d3, 'licenses/BSD.txt'), path.join(d3, 'licenses/BSD.txt.orig'));
  config = path.join(root, 'vouch.yaml');
  await writeFile(
    config,
    `state: ./state\nsets:\n  docs:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: directory, match: '^docs-(?<time>\\d{8})$' }\n`,
  );
  const scan = await vouch('scan');
  expect(scan.code, scan.stderr).toBe(3);
});

describe('vouch accept: triage on a real estate', () => {
  it('starts from a compromised and a suspicious-at-heart snapshot, each finding with its content identity', async () => {
    const index = await snapshots();
    expect(index[D1]!.verdict).toBe('clean');
    expect(index[D2]!.verdict).toBe('compromised');
    expect(index[D3]!.verdict).toBe('compromised');
    const d2Paths = index[D2]!.findings.map((finding) => `${finding.kind} ${finding.path}`);
    expect(d2Paths).toEqual(
      expect.arrayContaining([...VAULT.map((name) => `encrypted vault/${name}.txt`), `ransom-note ${NOTE}`]),
    );
    vaultIn = [D2, D3].filter((id) =>
      index[id]!.findings.some(
        (finding) => finding.kind === 'encrypted' && finding.path.startsWith('vault/'),
      ),
    );
    // The identity is the digest of the bytes read: the same file in D2 and D3 has the same one.
    const digest = execFileSync('sha256sum', [path.join(volume, D2, 'vault/GPL-1.txt')], {
      encoding: 'utf8',
    }).split(' ')[0];
    for (const id of vaultIn)
      expect(index[id]!.findings.find((finding) => finding.path === 'vault/GPL-1.txt')!.contentId).toBe(
        `sha256:${digest}`,
      );
    expect(index[D3]!.findings.some((finding) => finding.path === 'licenses/BSD.txt.orig')).toBe(true);
  });

  it('refuses bad input with exit 2 and a message that says what to do', async () => {
    // Refused before the state is touched, so they may run at once.
    const [unknownSet, emptyReason, noReason, unknownKind] = await Promise.all([
      vouch('accept', 'dcos', '--path', '**', '--reason', 'x'),
      vouch('accept', 'docs', '--path', 'vault/**', '--reason', '  '),
      vouch('accept', 'docs', '--path', 'vault/**'),
      vouch('accept', 'docs', '--path', '**', '--kind', 'encrypt', '--reason', 'x'),
    ]);
    expect(unknownSet.code).toBe(2);
    expect(unknownSet.stderr).toContain('unknown set: dcos (policy has: docs)');
    expect(emptyReason.code).toBe(2);
    expect(emptyReason.stderr).toContain('--reason must not be empty');
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason TEXT is required');
    expect(unknownKind.code).toBe(2);
    expect(unknownKind.stderr).toContain('unknown finding kind "encrypt"');

    const noMatch = await vouch('accept', 'docs', '--path', 'valut/**', '--reason', 'known');
    expect(noMatch.code).toBe(2);
    expect(noMatch.stderr).toContain("no findings of set docs to accept for --path 'valut/**'");
    expect(noMatch.stderr).toContain(`ransom-note ${NOTE} in ${D2}`);

    const unknownSnapshot = await vouch(
      'accept',
      'docs',
      '--path',
      '**',
      '--snapshot',
      'docs-20990101',
      '--reason',
      'x',
    );
    expect(unknownSnapshot.code).toBe(2);
    expect(unknownSnapshot.stderr).toContain(
      `set docs has no snapshot docs-20990101 (3 in state; newest: ${D3}, ${D2}, ${D1})`,
    );

    const unknownId = await vouch('accept', 'docs', '--revoke', '999');
    expect(unknownId.code).toBe(2);
    expect(unknownId.stderr).toContain('set docs has no acceptance 999 (it has no acceptances in force)');

    const json = await vouchJson<{ error: string }>(
      'accept',
      'docs',
      '--path',
      'valut/**',
      '--reason',
      'known',
    );
    expect(json.code).toBe(2);
    expect(json.body.error).toContain('no findings of set docs to accept');
    // Nothing was recorded by any of them.
    const types: string[] = [];
    for await (const record of readLedger(state)) types.push(record!.type);
    expect(types.filter((type) => type === 'finding-acceptance')).toEqual([]);
  });

  it('accepting the vault covers the same bytes in every snapshot; accepting the note turns D2 clean, D3 suspicious; the rename in D3 only then turns it clean', async () => {
    const vault = await vouchJson<{
      acceptance: { id: number; by: string };
      count: number;
      snapshots: string[];
      verdicts: unknown[];
    }>(
      'accept',
      'docs',
      '--path',
      'vault/**',
      '--kind',
      'encrypted',
      '--by',
      'alice@example.com',
      '--reason',
      'exported by the password manager with its own encryption',
    );
    expect(vault.code, vault.stderr).toBe(0);
    expect(vault.body).toMatchObject({
      acceptance: { by: 'alice@example.com' },
      count: 3 * vaultIn.length,
      snapshots: vaultIn,
      verdicts: [],
    });
    expect(await verdicts()).toEqual({ [D1]: 'clean', [D2]: 'compromised', [D3]: 'compromised' });

    const note = await vouch(
      'accept',
      'docs',
      '--path',
      'training/*',
      '--by',
      'bob',
      '--reason',
      'example note from the security awareness training kit',
    );
    expect(note.code, note.stderr).toBe(0);
    expect(note.stdout).toMatch(/docs: acceptance \d+ by bob \(.*\) covers 2 findings: 2 × ransom-note/);
    expect(note.stdout).toContain(`${D2}: compromised → clean`);
    expect(note.stdout).toContain(`${D3}: compromised → suspicious`);
    expect(await verdicts()).toEqual({ [D1]: 'clean', [D2]: 'clean', [D3]: 'suspicious' });

    const again = await vouch('accept', 'docs', '--path', 'training/*', '--reason', 'once more');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('2 matching finding(s) are already accepted: acceptance');

    const rename = await vouch(
      'accept',
      'docs',
      '--path',
      'licenses/*.orig',
      '--snapshot',
      D3,
      '--by',
      'carol',
      '--reason',
      'a colleague kept the original licence text',
    );
    expect(rename.code, rename.stderr).toBe(0);
    expect(rename.stdout).toContain(`${D3}: suspicious → clean`);
    expect(await verdicts()).toEqual({ [D1]: 'clean', [D2]: 'clean', [D3]: 'clean' });
  });

  it('the ledger verifies with the new records, which say who, when, why and exactly which findings', async () => {
    const verify = await vouch('evidence', 'verify');
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const acceptances = [];
    const changes = [];
    for await (const record of readLedger(state)) {
      if (record!.type === 'finding-acceptance') acceptances.push(record!);
      if (record!.type === 'verdict-change' && (record!.data as { acceptance?: number }).acceptance)
        changes.push(record!.data);
    }
    expect(acceptances).toHaveLength(3);
    const vault = acceptances[0]!.data as {
      by: string;
      reason: string;
      selection: unknown;
      findings: { path: string; kind: string; contentId: string; snapshots: string[] }[];
    };
    expect(vault.by).toBe('alice@example.com');
    expect(vault.selection).toEqual({ path: 'vault/**', kind: 'encrypted' });
    expect(vault.findings.map((finding) => [finding.path, finding.kind, finding.snapshots])).toEqual(
      VAULT.map((name) => [`vault/${name}.txt`, 'encrypted', vaultIn]),
    );
    for (const finding of vault.findings) expect(finding.contentId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(changes).toEqual([
      expect.objectContaining({
        snapshot: D2,
        from: 'compromised',
        to: 'clean',
        acceptance: acceptances[1]!.seq,
      }),
      expect.objectContaining({
        snapshot: D3,
        from: 'compromised',
        to: 'suspicious',
        acceptance: acceptances[1]!.seq,
      }),
      expect.objectContaining({
        snapshot: D3,
        from: 'suspicious',
        to: 'clean',
        acceptance: acceptances[2]!.seq,
      }),
    ]);
  });

  it('scan and last-clean show the accepted findings, marked with who and why, and no longer count them', async () => {
    const scan = await vouchJson<{
      sets: {
        snapshots: {
          id: string;
          verdict: string;
          verdictBeforeAcceptance?: string;
          acceptedCounts?: Record<string, number>;
          findings: { path: string; accepted?: { by: string; reason: string } }[];
        }[];
      }[];
    }>('scan');
    expect(scan.code, scan.stderr).toBe(0);
    const d3 = scan.body.sets[0]!.snapshots.find((snapshot) => snapshot.id === D3)!;
    const d3Vault = vaultIn.includes(D3) ? 3 : 0;
    expect(d3).toMatchObject({
      verdict: 'clean',
      verdictBeforeAcceptance: 'compromised',
      acceptedCounts: { ...(d3Vault ? { encrypted: 3 } : {}), 'ransom-note': 1, 'extension-change': 1 },
    });
    expect(d3.findings.find((finding) => finding.path === NOTE)!.accepted).toMatchObject({
      by: 'bob',
      reason: 'example note from the security awareness training kit',
    });

    const text = await vouch('scan');
    expect(text.stdout).toContain(
      `${D2}: 4 accepted findings (known and harmless, not counted; without them it would be compromised)`,
    );
    expect(text.stdout).toMatch(
      /acceptance \d+ by alice@example\.com, 3 findings: exported by the password manager with its own encryption/,
    );

    const lastClean = await vouchJson<{
      lastClean: { id: string };
      recommendation: { id: string; standing: string };
      rejected: unknown[];
      accepted: {
        id: string;
        verdictBeforeAcceptance: string;
        acceptances: { by: string; reason: string }[];
      }[];
    }>('last-clean', 'docs');
    // The newest snapshot is clean again, but no drill proved it: exit 3, recommended as not drilled.
    expect(lastClean.code).toBe(3);
    expect(lastClean.body.lastClean.id).toBe(D3);
    expect(lastClean.body.recommendation).toMatchObject({ id: D3, standing: 'not-drilled' });
    expect(lastClean.body.rejected).toEqual([]);
    expect(
      lastClean.body.accepted.map((snapshot) => [snapshot.id, snapshot.verdictBeforeAcceptance]),
    ).toEqual([
      [D3, 'compromised'],
      [D2, 'compromised'],
    ]);
    expect(lastClean.body.accepted[1]!.acceptances.map((acceptance) => acceptance.by)).toEqual([
      'alice@example.com',
      'bob',
    ]);
    expect(lastClean.body.accepted[0]!.acceptances.map((acceptance) => acceptance.by)).toEqual([
      ...(vaultIn.includes(D3) ? ['alice@example.com'] : []),
      'bob',
      'carol',
    ]);
    const lastCleanText = await vouch('last-clean', 'docs');
    expect(lastCleanText.stdout).toContain('accepted findings (known and harmless, not counted');
    expect(lastCleanText.stdout).toContain(`${D3}  clean, compromised without them`);

    const list = await vouchJson<{
      acceptances: {
        by: string;
        inForce: boolean;
        count: number;
        now: { findings: number; snapshots: string[] };
      }[];
    }>('accept', 'docs', '--list');
    expect(
      list.body.acceptances.map((acceptance) => [
        acceptance.by,
        acceptance.inForce,
        acceptance.count,
        acceptance.now.findings,
      ]),
    ).toEqual([
      ['carol', true, 1, 1],
      ['bob', true, 2, 2],
      ['alice@example.com', true, 3 * vaultIn.length, 3 * vaultIn.length],
    ]);
  });

  describe('the daemon: metrics, API and console', () => {
    let serve: ServeProcess;
    let browser: Browser;

    beforeAll(async () => {
      serve = await startServe(['--config', config], ['--listen', '127.0.0.1:0']);
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await serve?.stop();
    });

    it('metrics count only findings that count; accepted ones have their own gauge', async () => {
      const metrics = parseMetrics(await (await fetch(`${serve.url}/metrics`)).text());
      expect(metrics.get('vouch_snapshots{set="docs",verdict="clean"}')).toBe(3);
      expect(metrics.get('vouch_findings{set="docs",kind="encrypted"}')).toBe(0);
      expect(metrics.get('vouch_findings{set="docs",kind="ransom-note"}')).toBe(0);
      expect(metrics.get('vouch_findings_accepted{set="docs",kind="encrypted"}')).toBe(3 * vaultIn.length);
      expect(metrics.get('vouch_findings_accepted{set="docs",kind="ransom-note"}')).toBe(2);
      expect(metrics.get('vouch_findings_accepted{set="docs",kind="extension-change"}')).toBe(1);
    });

    it('the API lists acceptances and marks accepted findings', async () => {
      const { body: acceptances } = await getJson<{
        acceptances: { by: string; reason: string; now: { snapshots: string[] } }[];
      }>(`${serve.url}/api/sets/docs/acceptances`);
      expect(acceptances.acceptances.map((acceptance) => acceptance.by)).toEqual([
        'carol',
        'bob',
        'alice@example.com',
      ]);
      expect(acceptances.acceptances[1]!.now.snapshots).toEqual([D3, D2]);
      const { body: list } = await getJson<{
        snapshots: { id: string; verdict: string; findings: { path: string; accepted?: { by: string } }[] }[];
      }>(`${serve.url}/api/sets/docs/snapshots`);
      const d2 = list.snapshots.find((snapshot) => snapshot.id === D2)!;
      expect(d2.verdict).toBe('clean');
      expect(d2.findings.every((finding) => finding.accepted)).toBe(true);
      const { body: lastClean } = await getJson<{ lastClean: { id: string }; accepted: { id: string }[] }>(
        `${serve.url}/api/sets/docs/last-clean`,
      );
      expect(lastClean.lastClean.id).toBe(D3);
      expect(lastClean.accepted.map((snapshot) => snapshot.id)).toEqual([D3, D2]);
      const { body: summary } = await getJson<{
        ready: boolean;
        acceptances: { inForce: number; acceptedFindings: number };
      }>(`${serve.url}/api/sets/docs`);
      expect(summary.acceptances).toEqual({ inForce: 3, acceptedFindings: 3 * vaultIn.length + 3 });
    });

    it('the console shows who accepted what and why on the set and snapshot pages (Chromium)', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems = watchPage(page);
      await page.goto(`${serve.url}/sets/docs`, { waitUntil: 'load' });
      expect(await page.locator('[data-last-clean]').getAttribute('data-last-clean')).toBe(D3);
      const rows = page.locator('table.acceptances tr[data-acceptance]');
      expect(await rows.count()).toBe(3);
      const bob = page.locator('table.acceptances tr.in-force', { hasText: 'bob' });
      await expect(bob.textContent()).resolves.toContain(
        'example note from the security awareness training kit',
      );
      await expect(bob.textContent()).resolves.toContain('2 findings');
      expect(await page.locator(`tr[data-snapshot="${D3}"]`).textContent()).toContain(
        `+${(vaultIn.includes(D3) ? 3 : 0) + 2} accepted`,
      );
      expect(await accessibilityViolations(page)).toEqual([]);

      await page.locator('table.acceptances').getByRole('link', { name: D3 }).first().click();
      await page.waitForURL(new RegExp(`/sets/docs/snapshots/${D3}$`));
      expect(
        await page.locator('[data-verdict-before-acceptance]').getAttribute('data-verdict-before-acceptance'),
      ).toBe('compromised');
      const accepted = page.locator('.group.accepted');
      await expect(accepted.locator('h3').textContent()).resolves.toMatch(
        new RegExp(
          `Accepted as known and harmless \\(not counted\\)\\s*${(vaultIn.includes(D3) ? 3 : 0) + 2}`,
        ),
      );
      await expect(accepted.locator('summary').allTextContents()).resolves.toEqual([
        ...(vaultIn.includes(D3)
          ? [
              expect.stringContaining(
                'by alice@example.com: exported by the password manager with its own encryption',
              ),
            ]
          : []),
        expect.stringContaining('by bob: example note from the security awareness training kit'),
        expect.stringContaining('by carol: a colleague kept the original licence text'),
      ]);
      expect(await page.locator(`tr[data-path="${NOTE}"][data-accepted]`).count()).toBe(1);
      expect(await accessibilityViolations(page)).toEqual([]);

      await page.goto(`${serve.url}/evidence?set=docs&kind=finding-acceptance`, { waitUntil: 'load' });
      await expect(page.locator('main').textContent()).resolves.toContain(
        '2 findings accepted by bob: example note from the security awareness training kit',
      );
      expect(problems.errors).toEqual([]);
      expect(problems.badResponses).toEqual([]);
      await page.close();
    });
  });

  it('the auditor report lists each acceptance with who, when, why, what and the verdicts it changed', async () => {
    const out = path.join(root, 'report.html');
    const report = await vouch('evidence', 'report', '--out', out);
    expect(report.code, report.stderr).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html).toContain('<h3 id="accepted-docs">Accepted findings</h3>');
    expect(html).toMatch(
      /<td>bob<\/td><td>example note from the security awareness training kit<\/td><td>2 × ransom-note/,
    );
    expect(html).toContain(
      `<code>${D2}</code> compromised → clean<br><code>${D3}</code> compromised → suspicious`,
    );
    expect(html).toContain(
      `${3 * vaultIn.length + 3} findings accepted (<a href="#accepted-docs">who and why</a>)`,
    );
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`file://${out}`);
      expect(await page.locator('table.acceptances tr.acceptance').count()).toBe(3);
    } finally {
      await browser.close();
    }
  });

  it('a later snapshot counts again what changed at accepted paths and keeps accepting unchanged bytes', async () => {
    const d4 = path.join(volume, D4);
    await cp(path.join(volume, D3), d4, { recursive: true });
    await writeFile(path.join(d4, NOTE), noteText('Pay within 48 hours or your data is published.'));
    opensslEncrypt(path.join(LICENSES, 'GPL-1'), path.join(d4, 'vault/GPL-1.txt'), 8); // other bytes at an accepted path
    const scan = await vouchJson<{
      sets: {
        snapshots: {
          id: string;
          verdict: string;
          findings: { kind: string; path: string; accepted?: unknown }[];
        }[];
      }[];
    }>('scan');
    expect(scan.code).toBe(3);
    const newest = scan.body.sets[0]!.snapshots.find((snapshot) => snapshot.id === D4)!;
    expect(newest.verdict).toBe('compromised');
    const note = newest.findings.find((finding) => finding.path === NOTE)!;
    expect(note.kind).toBe('ransom-note');
    expect(note.accepted).toBeUndefined();
    for (const name of VAULT) {
      const finding = newest.findings.find(
        (candidate) => candidate.path === `vault/${name}.txt` && candidate.kind === 'encrypted',
      );
      // The bytes accepted in D2 are still accepted; GPL-1's new bytes are judged on their own.
      if (finding) expect(Boolean(finding.accepted), finding.path).toBe(name !== 'GPL-1');
    }
    expect(await verdicts()).toEqual({ [D1]: 'clean', [D2]: 'clean', [D3]: 'clean', [D4]: 'compromised' });
    const lastClean = await vouch('last-clean', 'docs');
    expect(lastClean.code).toBe(3);
    expect(lastClean.stdout).toContain(`last clean:      ${D3}`);
  });

  it('revoking brings the verdicts back, with a signed record; revoking twice is refused', async () => {
    const list = await vouchJson<{ acceptances: { id: number; by: string }[] }>('accept', 'docs', '--list');
    const bob = list.body.acceptances.find((acceptance) => acceptance.by === 'bob')!;
    const revoke = await vouch(
      'accept',
      'docs',
      '--revoke',
      String(bob.id),
      '--by',
      'dave',
      '--reason',
      'the training kit was removed from backups',
    );
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(`${D2}: clean → compromised`);
    expect(revoke.stdout).toContain(`${D3}: clean → compromised`);
    expect(await verdicts()).toEqual({
      [D1]: 'clean',
      [D2]: 'compromised',
      [D3]: 'compromised',
      [D4]: 'compromised',
    });
    const index = await snapshots();
    expect(index[D2]!.findings.find((finding) => finding.path === NOTE)!.accepted).toBeUndefined();
    expect(index[D2]!.findings.find((finding) => finding.path === 'vault/GPL-1.txt')!.accepted?.by).toBe(
      'alice@example.com',
    );

    const twice = await vouch('accept', 'docs', '--revoke', String(bob.id));
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(
      new RegExp(`acceptance ${bob.id} of set docs was already revoked by dave at .* \\(record \\d+\\)`),
    );

    const lastClean = await vouchJson<{ lastClean: { id: string } }>('last-clean', 'docs');
    expect(lastClean.code).toBe(3);
    expect(lastClean.body.lastClean.id).toBe(D1);
    const verify = await vouch('evidence', 'verify');
    expect(verify.code, verify.stdout).toBe(0);
  });
});
