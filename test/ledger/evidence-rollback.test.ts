/**
 * Evidence that cannot be rolled back, tried the way an attacker with root on the host (or a
 * careless operator) would: cut records off the end and delete, empty or garble the head; delete
 * the signing key; edit a line's bytes without changing its value; and, with heads anchored off
 * the host, cut the tail and sign a fresh head over the rest. Each must stop the next writer or
 * fail verification, naming the file or line, and the explicit recoveries must leave a trace.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { directoryAnchor } from '../../agent/ledger/head-anchor.js';
import { startEmbeddedS3 } from '../../agent/demo/embedded-s3.js';
import { currentPublicKey, keysDir, signingKeyPath } from '../../agent/ledger/signing-key.js';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { EvidenceRecoveryError, headPath, openLedger } from '../../agent/ledger/ledger-store.js';
import { runCli } from '../helpers/cli.js';

const tempDir = () => mkdtemp(path.join(tmpdir(), 'vouch-rollback-'));
const segment = (dir: string) => path.join(dir, 'ledger', '00000001.ndjson');

async function ledgerWith(records: number, dir?: string, anchorDir?: string): Promise<string> {
  const state = dir ?? (await tempDir());
  const ledger = await openLedger(state, anchorDir ? { anchor: directoryAnchor(anchorDir) } : {});
  for (let n = 1; n <= records; n++)
    await ledger.append('drill', { set: 'orders', outcome: n === records ? 'failed' : 'passed', n });
  await ledger.close();
  return state;
}

async function lines(dir: string): Promise<string[]> {
  return (await readFile(segment(dir), 'utf8')).split('\n').filter(Boolean);
}

async function cutTail(dir: string, keep: number): Promise<void> {
  await writeFile(segment(dir), `${(await lines(dir)).slice(0, keep).join('\n')}\n`);
}

const refusal = async (dir: string) =>
  openLedger(dir).then(
    async (ledger) => {
      await ledger.close();
      return null;
    },
    (error: unknown) => error,
  );

/** A policy over an offline volume of one small directory snapshot, so `vouch scan` is a real writer. */
async function policyFor(dir: string, extra = ''): Promise<string> {
  await mkdir(path.join(dir, 'volume', '2025-01-01'), { recursive: true });
  await writeFile(path.join(dir, 'volume', '2025-01-01', 'orders.csv'), 'id,total\n1,10\n');
  const file = path.join(dir, 'vouch.yaml');
  await writeFile(
    file,
    `${extra}sets:\n  orders:\n    source: { fs: { path: ./volume } }\n    snapshots: { layout: directory }\n`,
  );
  return file;
}

describe('a cut tail with the head deleted, emptied or garbled stops every writer', () => {
  for (const [damage, apply] of [
    ['deleted', (dir: string) => rm(headPath(dir))],
    ['emptied', (dir: string) => writeFile(headPath(dir), '')],
    ['garbled', (dir: string) => writeFile(headPath(dir), '{"v":1,"seq":3,"hash":')],
  ] as const) {
    it(`head ${damage}: the next open refuses instead of signing a fresh head over the shortened ledger`, async () => {
      const dir = await ledgerWith(5);
      const pinned = (await currentPublicKey(dir))!.pem;
      await cutTail(dir, 3); // the failed drill (record 5) is gone
      await apply(dir);
      const error = await refusal(dir);
      expect(error).toBeInstanceOf(EvidenceRecoveryError);
      expect((error as Error).message).toContain(headPath(dir));
      expect((error as Error).message).toMatch(/vouch evidence verify.*vouch evidence recover-head/s);
      // Nothing was written: the pinned-key verification still fails.
      expect((await verifyLedger(dir, { trustedKeys: [pinned] })).ok).toBe(false);
      expect((await lines(dir)).length).toBe(3);
    });
  }

  it('vouch scan exits 1 naming the head file and the way forward', async () => {
    const dir = await tempDir();
    const config = await policyFor(dir);
    const state = path.join(dir, 'state');
    expect((await runCli(['--config', config, '--state', state, 'scan'])).code).toBe(0);
    await rm(headPath(state));
    const { code, stderr } = await runCli(['--config', config, '--state', state, 'scan']);
    expect(code).toBe(1);
    expect(stderr).toContain(headPath(state));
    expect(stderr).toContain('vouch evidence recover-head');
  });
});

describe('a missing signing key with a signed ledger', () => {
  it('is not silently regenerated: writers refuse, naming the key file and rotate-key --lost', async () => {
    const dir = await ledgerWith(3);
    await rm(signingKeyPath(dir));
    const error = await refusal(dir);
    expect(error).toBeInstanceOf(EvidenceRecoveryError);
    expect((error as Error).message).toContain(signingKeyPath(dir));
    expect((error as Error).message).toContain('rotate-key --lost');
    expect(await readdir(keysDir(dir))).not.toContain('signing-key.pem');
  });

  it('rotate-key --lost records a key-replaced record the pinned old key does not vouch for', async () => {
    const dir = await ledgerWith(3);
    const old = (await currentPublicKey(dir))!;
    await rm(signingKeyPath(dir));
    const { code, stdout } = await runCli(['--json', '--state', dir, 'evidence', 'rotate-key', '--lost']);
    expect(code).toBe(0);
    const rotation = JSON.parse(stdout) as { seq: number; type: string; current: { keyId: string } };
    expect(rotation).toMatchObject({ seq: 4, type: 'key-replaced' });
    expect(await verifyLedger(dir)).toMatchObject({
      ok: true,
      recoveries: [{ seq: 4, type: 'key-replaced' }],
    });
    const pinned = await verifyLedger(dir, { trustedKeys: [old.pem] });
    expect(pinned.firstBad).toMatchObject({ seq: 4, problem: 'unknown-key' });
    expect(pinned.firstBad!.detail).toMatch(/declares the previous signing key lost/);
    // Writers work again, signing with the new key.
    await ledgerWith(1, dir);
    expect(await verifyLedger(dir)).toMatchObject({ ok: true, records: 5 });
  });
});

describe('recover-head', () => {
  it('signs a new head over an intact chain and leaves a signed record of what it found', async () => {
    const dir = await ledgerWith(4);
    await writeFile(headPath(dir), 'not json');
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ problem: 'head-unreadable', head: true });
    const { code, stdout } = await runCli(['--state', dir, 'evidence', 'recover-head']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/recorded the recovery at record 5/);
    const result = await verifyLedger(dir);
    expect(result).toMatchObject({ ok: true, records: 5, recoveries: [{ seq: 5, type: 'head-recovered' }] });
    expect(result.recoveries[0]!.detail).toMatch(/head-unreadable/);
    const verify = await runCli(['--state', dir, 'evidence', 'verify']);
    expect(verify.stdout).toMatch(/recovery recorded at record 5 \(head-recovered/);
  });

  it('refuses when the head is sound, and when the chain itself is broken', async () => {
    const dir = await ledgerWith(3);
    expect((await runCli(['--state', dir, 'evidence', 'recover-head'])).stderr).toMatch(/nothing to recover/);
    const all = await lines(dir);
    all[1] = all[1]!.replace('"passed"', '"failed"');
    await writeFile(segment(dir), `${all.join('\n')}\n`);
    await rm(headPath(dir));
    const { code, stderr } = await runCli(['--state', dir, 'evidence', 'recover-head']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/chain itself is broken at record 2 .*edited/);
  });
});

describe('anchored heads', () => {
  it('a cut tail re-signed with the host key is caught by verify --anchor, and recover-head refuses to sign over it', async () => {
    const dir = await tempDir();
    const anchor = path.join(dir, 'worm');
    const config = await policyFor(dir, `evidence: { anchor: { dir: ./worm } }\n`);
    const state = path.join(dir, 'state');
    await ledgerWith(5, state, anchor);
    expect((await readdir(path.join(anchor, 'heads'))).some((name) => name.startsWith('000000000005-'))).toBe(
      true,
    );
    expect(
      (await runCli(['--config', config, '--state', state, 'evidence', 'verify', '--anchor'])).code,
    ).toBe(0);

    await cutTail(state, 3);
    await rm(headPath(state));
    const refused = await runCli(['--config', config, '--state', state, 'evidence', 'recover-head']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/holds a head .* at seq 5, but the local ledger ends at seq 3/);

    // The attacker drops the anchor from the policy and recovers; the auditor's check still sees it.
    expect((await runCli(['--state', state, 'evidence', 'recover-head'])).code).toBe(0);
    expect((await verifyLedger(state)).ok).toBe(true);
    const audit = await runCli(['--state', state, 'evidence', 'verify', '--anchor', anchor]);
    expect(audit.code).toBe(3);
    expect(audit.stdout).toMatch(
      /FAILED at record 4: anchor-mismatch — record 4 is not the one the head anchored/,
    );
  });
});

describe('an anchor that cannot be reached', () => {
  it('does not stop appends, and says so', async () => {
    const dir = await tempDir();
    const blocked = path.join(dir, 'not-a-directory');
    await writeFile(blocked, 'a file where the anchor directory should be');
    const problems: string[] = [];
    const ledger = await openLedger(dir, {
      anchor: directoryAnchor(blocked),
      onAnchorProblem: (message) => problems.push(message),
    });
    await ledger.append('scan-run', { n: 1 });
    await ledger.close();
    expect((await verifyLedger(dir)).ok).toBe(true);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/could not anchor the head at seq \d+ in .*not-a-directory/);
    expect(ledger.anchorProblems()).toEqual(expect.arrayContaining([problems.at(-1)]));
  });
});

describe('anchored heads in S3 (real s3rver, real SDK)', () => {
  it('each scan anchors its signed head; a truncation re-signed over is behind the anchor', async () => {
    const s3 = await startEmbeddedS3({ buckets: ['evidence'] });
    try {
      const dir = await tempDir();
      const anchor = `evidence: { anchor: { s3: { bucket: evidence, prefix: agent-1/, endpoint: '${s3.endpoint}', forcePathStyle: true, checksums: when-required } } }\n`;
      const config = await policyFor(dir, anchor);
      const state = path.join(dir, 'state');
      const env = {
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      };
      for (let run = 0; run < 2; run++)
        expect((await runCli(['--config', config, '--state', state, 'scan'], env)).code).toBe(0);
      const ok = await runCli(['--config', config, '--state', state, 'evidence', 'verify', '--anchor'], env);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(
        /anchor s3:\/\/evidence\/agent-1\/: \d+ heads, newest signed at seq (\d+); the ledger ends at seq \1 — not behind any anchored head/,
      );

      const records = (await lines(state)).length;
      await cutTail(state, records - 1);
      await rm(headPath(state));
      expect((await runCli(['--state', state, 'evidence', 'recover-head'])).code).toBe(0); // without the policy: no anchor to stop it
      const caught = await runCli(
        ['--config', config, '--state', state, 'evidence', 'verify', '--anchor'],
        env,
      );
      expect(caught.code).toBe(3);
      expect(caught.stdout).toMatch(new RegExp(`FAILED at record ${records}: anchor-mismatch`));
    } finally {
      await s3.stop();
    }
  });
});

describe('every line must be byte for byte its canonical form', () => {
  const edits: [string, (line: string) => string, RegExp][] = [
    ['whitespace', (line) => line.replace('"type":', '"type": '), /whitespace/],
    [
      'a \\u escape of a plain character',
      (line) => line.replace('"orders"', '"\\u006frders"'),
      /escape sequence/,
    ],
    ['a CRLF line ending', (line) => `${line}\r`, /carriage return/],
    [
      'a duplicate key',
      (line) => line.replace('"set":"orders"', '"set":"evil","set":"orders"'),
      /key "set" appears twice/,
    ],
  ];
  for (const [what, edit, reason] of edits) {
    it(`names ${what} at its line`, async () => {
      const dir = await ledgerWith(3);
      const all = await lines(dir);
      all[1] = edit(all[1]!);
      await writeFile(segment(dir), `${all.join('\n')}\n`);
      const { firstBad } = await verifyLedger(dir);
      expect(firstBad).toMatchObject({
        seq: 2,
        problem: 'non-canonical',
        line: 2,
        segment: '00000001.ndjson',
      });
      expect(firstBad!.detail).toMatch(reason);
    });
  }

  it('names a blank line and a line over the record limit by line number', async () => {
    const dir = await ledgerWith(3);
    const all = await lines(dir);
    await writeFile(segment(dir), `${all[0]}\n\n${all.slice(1).join('\n')}\n`);
    expect((await verifyLedger(dir)).firstBad).toMatchObject({
      seq: 2,
      problem: 'malformed',
      line: 2,
      detail: expect.stringMatching(/line 2 is blank/),
    });
    const junk = Buffer.alloc(65 * 2 ** 20, 0x41);
    await writeFile(
      segment(dir),
      Buffer.concat([Buffer.from(`${all[0]}\n`), junk, Buffer.from(`\n${all.slice(1).join('\n')}\n`)]),
    );
    const { firstBad } = await verifyLedger(dir);
    expect(firstBad).toMatchObject({ seq: 2, problem: 'malformed', line: 2 });
    expect(firstBad!.detail).toMatch(/line 2 is 68157440 bytes long, over the 67108864-byte limit/);
  });
});
