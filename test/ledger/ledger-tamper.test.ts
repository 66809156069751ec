import { generateKeyPairSync } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordHash, type LedgerRecord } from '../../agent/ledger/ledger-record.js';
import { signRecord } from '../../agent/ledger/record-signature.js';
import {
  currentPublicKey,
  describePublicKey,
  keysDir,
  type SigningKey,
} from '../../agent/ledger/signing-key.js';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { headPath, LedgerTruncatedError, openLedger } from '../../agent/ledger/ledger-store.js';

const tempState = () => mkdtemp(path.join(tmpdir(), 'vouch-evidence-'));

async function ledgerWith(records: number): Promise<string> {
  const dir = await tempState();
  const ledger = await openLedger(dir);
  for (let n = 1; n <= records; n++)
    await ledger.append('snapshot-scan', { set: 'orders', snapshot: `orders-${n}`, verdict: 'clean' });
  await ledger.close();
  return dir;
}

const segment = (dir: string) => path.join(dir, 'ledger', '00000001.ndjson');

async function lines(dir: string): Promise<string[]> {
  return (await readFile(segment(dir), 'utf8')).split('\n').filter(Boolean);
}

async function rewrite(dir: string, edit: (lines: string[]) => string[]): Promise<void> {
  await writeFile(segment(dir), `${edit(await lines(dir)).join('\n')}\n`);
}

function attackerKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { ...describePublicKey(privateKey), privateKey };
}

describe('signed ledger', () => {
  it('signs every record and the head with a key generated on first use (0600), and verifies', async () => {
    const dir = await ledgerWith(5);
    const records = (await lines(dir)).map((line) => JSON.parse(line) as LedgerRecord);
    const key = await currentPublicKey(dir);
    expect(records.every((record) => record.keyId === key!.keyId && typeof record.sig === 'string')).toBe(
      true,
    );
    expect((await stat(path.join(keysDir(dir), 'signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(keysDir(dir))).mode & 0o777).toBe(0o700);
    const result = await verifyLedger(dir);
    expect(result).toMatchObject({
      ok: true,
      records: 5,
      keyFingerprints: [key!.fingerprint],
      head: { seq: 5 },
    });
    expect(result.firstBad).toBeUndefined();
  });

  it('chains appends from two writers at once into one order', async () => {
    const dir = await tempState();
    const [a, b] = [await openLedger(dir), await openLedger(dir)];
    await Promise.all(Array.from({ length: 10 }, (_, n) => (n % 2 ? a : b).append('scan-run', { n })));
    await Promise.all([a.close(), b.close()]);
    const result = await verifyLedger(dir);
    expect(result).toMatchObject({ ok: true, records: 10 });
  });
});

describe('evidence verify names the first bad record', () => {
  it('edited: content changed, hash left alone', async () => {
    const dir = await ledgerWith(5);
    await rewrite(dir, (all) =>
      all.map((line, i) => (i === 2 ? line.replace('"verdict":"clean"', '"verdict":"compromised"') : line)),
    );
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 3, problem: 'edited', line: 3 });
  });

  it('edited and re-hashed: the signature no longer matches', async () => {
    const dir = await ledgerWith(5);
    await rewrite(dir, (all) =>
      all.map((line, i) => {
        if (i !== 2) return line;
        const record = JSON.parse(line) as LedgerRecord;
        const forged = { ...record, data: { set: 'orders', snapshot: 'orders-3', verdict: 'compromised' } };
        return JSON.stringify({ ...forged, hash: recordHash(forged) });
      }),
    );
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 3, problem: 'bad-signature' });
  });

  it('dropped: a record removed from the middle', async () => {
    const dir = await ledgerWith(5);
    await rewrite(dir, (all) => all.filter((_, i) => i !== 2));
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 3, problem: 'dropped' });
  });

  it('reordered: two records swapped', async () => {
    const dir = await ledgerWith(5);
    await rewrite(dir, (all) => [all[0]!, all[1]!, all[3]!, all[2]!, all[4]!]);
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 4, problem: 'reordered', line: 3 });
  });

  it('replayed: an old record appended again', async () => {
    const dir = await ledgerWith(5);
    await rewrite(dir, (all) => [...all, all[1]!]);
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 2, problem: 'replayed', line: 6 });
  });

  it('truncated: records cut off the end, caught by the signed head', async () => {
    const dir = await ledgerWith(5);
    await rewrite(dir, (all) => all.slice(0, 3));
    const result = await verifyLedger(dir);
    expect(result.firstBad).toMatchObject({ seq: 4, problem: 'truncated' });
    expect(result.firstBad!.detail).toMatch(/records 4–5 were cut off/);
    // And the agent refuses to append over the gap, which would hide it.
    const ledger = await openLedger(dir).catch((error: unknown) => error);
    expect(ledger).toBeInstanceOf(LedgerTruncatedError);
  });

  it('truncated with the head deleted too: the head is missing', async () => {
    const dir = await ledgerWith(5);
    await rewrite(dir, (all) => all.slice(0, 3));
    await writeFile(headPath(dir), '');
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ problem: 'head-unreadable' });
    const { rm } = await import('node:fs/promises');
    await rm(headPath(dir));
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 3, problem: 'head-missing' });
  });

  it('wrong key: a record re-signed by a key the state never had', async () => {
    const dir = await ledgerWith(5);
    const attacker = attackerKey();
    await rewrite(dir, (all) =>
      all.map((line, i) =>
        i === 3 ? JSON.stringify(signRecord(JSON.parse(line) as LedgerRecord, attacker)) : line,
      ),
    );
    const result = await verifyLedger(dir);
    expect(result.firstBad).toMatchObject({ seq: 4, problem: 'unknown-key' });
    expect(result.firstBad!.detail).toContain(attacker.keyId);
  });

  it('wrong key, planted: a wholly re-signed ledger passes the state view but fails against the pinned key', async () => {
    const dir = await ledgerWith(4);
    const exported = (await currentPublicKey(dir))!.pem;
    const attacker = attackerKey();
    await rewrite(dir, (all) =>
      all.map((line) => JSON.stringify(signRecord(JSON.parse(line) as LedgerRecord, attacker))),
    );
    await writeFile(path.join(keysDir(dir), 'public', `${attacker.keyId}.pem`), attacker.pem);
    const { signHead } = await import('../../agent/ledger/record-signature.js');
    const last = JSON.parse((await lines(dir)).at(-1)!) as LedgerRecord;
    await writeFile(headPath(dir), JSON.stringify(signHead(last, attacker)));
    expect((await verifyLedger(dir)).ok).toBe(true);
    const pinned = await verifyLedger(dir, { trustedKeys: [exported] });
    expect(pinned).toMatchObject({
      ok: false,
      trust: 'pinned',
      firstBad: { seq: 1, problem: 'unknown-key' },
    });
  });

  it('bad signature: a signature copied from another record', async () => {
    const dir = await ledgerWith(5);
    const records = (await lines(dir)).map((line) => JSON.parse(line) as LedgerRecord);
    await rewrite(dir, (all) =>
      all.map((line, i) => (i === 1 ? JSON.stringify({ ...records[1], sig: records[0]!.sig }) : line)),
    );
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 2, problem: 'bad-signature' });
  });

  it('unsigned: signatures stripped from a record after signed ones', async () => {
    const dir = await ledgerWith(3);
    await rewrite(dir, (all) =>
      all.map((line, i) => {
        if (i !== 2) return line;
        const { keyId: _k, sig: _s, ...rest } = JSON.parse(line) as LedgerRecord;
        return JSON.stringify(rest);
      }),
    );
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 3, problem: 'unsigned' });
  });

  it('a baseline manifest changed after the chain bound its digest', async () => {
    const dir = await tempState();
    const manifest = path.join(dir, 'manifests', 'orders', 'orders-1.ndjson.gz');
    await mkdir(path.dirname(manifest), { recursive: true });
    await writeFile(manifest, 'original');
    const { createHash } = await import('node:crypto');
    const ledger = await openLedger(dir);
    await ledger.append('baseline', {
      set: 'orders',
      snapshot: 'orders-1',
      manifest: 'manifests/orders/orders-1.ndjson.gz',
      sha256: createHash('sha256').update('original').digest('hex'),
    });
    await ledger.close();
    expect((await verifyLedger(dir)).ok).toBe(true);
    await writeFile(manifest, 'rewritten');
    expect(await verifyLedger(dir)).toMatchObject({
      ok: false,
      firstBad: { seq: 1, problem: 'manifest-changed' },
      manifests: { checked: 1 },
    });
  });
});

describe('ledgers from before signing', () => {
  it('keeps verifying: unsigned records are covered by the chain of the first signed one', async () => {
    const dir = await tempState();
    const { nextRecord } = await import('../../agent/ledger/ledger-record.js');
    const first = nextRecord(null, 'scan-run', { legacy: 1 });
    const second = nextRecord(first, 'snapshot-scan', { legacy: 2 });
    await mkdir(path.join(dir, 'ledger'), { recursive: true });
    await writeFile(segment(dir), `${JSON.stringify(first)}\n${JSON.stringify(second)}\n`);
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 1, problem: 'unsigned' });
    const ledger = await openLedger(dir);
    await ledger.append('scan-run', { signed: true });
    await ledger.close();
    expect(await verifyLedger(dir)).toMatchObject({ ok: true, records: 3, legacyUnsigned: 2 });
    await rewrite(dir, (all) => [all[0]!.replace('"legacy":1', '"legacy":9'), ...all.slice(1)]);
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 1, problem: 'edited' });
  });
});

describe('crashes and key rotation', () => {
  it('a crash mid-append leaves a ledger that verifies, opens and keeps chaining', async () => {
    const dir = await ledgerWith(3);
    await appendFile(segment(dir), '{"v":1,"seq":4,"time":"2025-');
    expect(await verifyLedger(dir)).toMatchObject({ ok: true, records: 3, tornTail: true });
    const ledger = await openLedger(dir);
    await ledger.append('scan-run', { after: 'crash' });
    await ledger.close();
    expect(await verifyLedger(dir)).toMatchObject({ ok: true, records: 4, tornTail: false });
  });

  it('head-mismatch: an older signed head put back (which would hide records cut off the end)', async () => {
    const dir = await ledgerWith(3);
    const older = await readFile(headPath(dir), 'utf8');
    const ledger = await openLedger(dir);
    await ledger.append('scan-run', { n: 4 });
    await ledger.append('scan-run', { n: 5 });
    await ledger.close();
    await writeFile(headPath(dir), older);
    expect((await verifyLedger(dir)).firstBad).toMatchObject({
      seq: 4,
      problem: 'head-mismatch',
      detail: expect.stringContaining('an older head was put back'),
    });
  });

  it('a crash between a record and its head: the next open brings the head up to date', async () => {
    const dir = await ledgerWith(3);
    const oldHead = await readFile(headPath(dir), 'utf8');
    const ledger = await openLedger(dir);
    await ledger.append('scan-run', { n: 4 });
    await ledger.close();
    await writeFile(headPath(dir), oldHead); // as if the process died before rewriting the head
    expect(await verifyLedger(dir)).toMatchObject({ ok: true, records: 4 });
    await (await openLedger(dir)).close();
    expect(JSON.parse(await readFile(headPath(dir), 'utf8')).seq).toBe(4);
  });

  it('rotation keeps old records verifiable, and the pinned old key vouches for the new one', async () => {
    const dir = await ledgerWith(2);
    const first = (await currentPublicKey(dir))!;
    const oldPrivate = await readFile(path.join(keysDir(dir), 'signing-key.pem'), 'utf8');
    const ledger = await openLedger(dir);
    const rotation = await ledger.rotateKey();
    await ledger.append('scan-run', { after: 'rotation' });
    await ledger.close();
    expect(rotation.previous.keyId).toBe(first.keyId);
    const second = (await currentPublicKey(dir))!;
    expect(second.keyId).toBe(rotation.current.keyId);
    expect((await readdir(path.join(keysDir(dir), 'public'))).sort()).toEqual(
      [`${first.keyId}.pem`, `${second.keyId}.pem`].sort(),
    );
    const result = await verifyLedger(dir, { trustedKeys: [first.pem] });
    expect(result).toMatchObject({
      ok: true,
      records: 4,
      keyFingerprints: [first.fingerprint, second.fingerprint],
    });

    // Someone still holding the retired key cannot add records that pass.
    const { createPrivateKey } = await import('node:crypto');
    const retired = { ...first, privateKey: createPrivateKey(oldPrivate) };
    const last = JSON.parse((await lines(dir)).at(-1)!) as LedgerRecord;
    const { nextRecord } = await import('../../agent/ledger/ledger-record.js');
    await appendFile(
      segment(dir),
      `${JSON.stringify(signRecord(nextRecord(last, 'scan-run', { forged: true }), retired))}\n`,
    );
    expect((await verifyLedger(dir)).firstBad).toMatchObject({ seq: 5, problem: 'unknown-key' });
    expect((await verifyLedger(dir)).firstBad!.detail).toMatch(/retired by the rotation at seq 3/);
  });
});
