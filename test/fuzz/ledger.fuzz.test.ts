/**
 * Fuzzing evidence verification: a real signed ledger (records, a baseline manifest, the signed
 * head) is damaged in every way a disk or an attacker could — bit flips anywhere, lines dropped,
 * repeated or swapped, the file cut short, a field edited with valid JSON, a byte of the manifest
 * flipped, the head replaced by an older one — and verification must catch every change.
 */
import fc from 'fast-check';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../agent/ledger/verify-ledger.js';
import { headPath, openLedger } from '../../agent/ledger/ledger-store.js';
import { createManifestWriter } from '../../agent/state/manifest-store.js';
import { fuzzParameters } from '../helpers/fuzz.js';

let pristine: string;
let work: string;
let olderHead: string;
let manifestFile: string;
const segment = (dir: string) => path.join(dir, 'ledger', '00000001.ndjson');

beforeAll(async () => {
  pristine = await mkdtemp(path.join(tmpdir(), 'vouch-fuzz-ledger-'));
  work = await mkdtemp(path.join(tmpdir(), 'vouch-fuzz-ledger-work-'));
  const ledger = await openLedger(pristine);
  const writer = await createManifestWriter(pristine, {
    format: 'vouch-manifest',
    set: 'orders',
    snapshot: 'orders-1',
    snapshotTime: '2025-10-19T00:00:00.000Z',
    layout: 'archive',
    algorithm: 'sha256',
    createdAt: '2025-10-19T00:00:00.000Z',
  });
  for (let i = 0; i < 200; i++)
    await writer.add({
      path: `db/f${String(i).padStart(4, '0')}.sql`,
      type: 'file',
      size: i,
      digest: 'ab'.repeat(32),
    });
  const written = await writer.commit();
  manifestFile = written.file;
  await ledger.append('baseline', {
    set: 'orders',
    snapshot: 'orders-1',
    manifest: path.relative(pristine, written.file),
    sha256: written.sha256,
    entries: written.entries,
  });
  for (let n = 1; n <= 12; n++) {
    await ledger.append('snapshot-scan', {
      set: 'orders',
      snapshot: `orders-${n}`,
      verdict: n % 5 ? 'clean' : 'suspicious',
      findings: [{ kind: 'encrypted', path: `x/${n}.pdf`, detail: 'ünïcödé ✓' }],
    });
    if (n === 9) olderHead = await readFile(headPath(pristine), 'utf8');
  }
  await ledger.close();
  expect((await verifyLedger(pristine)).ok).toBe(true);
});

afterAll(async () => {
  await rm(pristine, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

type Damage =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'drop' | 'repeat'; line: number }
  | { kind: 'swap'; line: number; other: number }
  | { kind: 'cut'; at: number }
  | { kind: 'edit'; line: number; field: 'time' | 'type' | 'verdict' | 'seq' | 'prev' }
  | { kind: 'manifest-flip'; at: number; bit: number }
  | { kind: 'old-head' };

const where = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: where, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constantFrom('drop' as const, 'repeat' as const), line: where }),
  fc.record({ kind: fc.constant('swap' as const), line: where, other: where }),
  fc.record({ kind: fc.constant('cut' as const), at: where }),
  fc.record({
    kind: fc.constant('edit' as const),
    line: where,
    field: fc.constantFrom(
      'time' as const,
      'type' as const,
      'verdict' as const,
      'seq' as const,
      'prev' as const,
    ),
  }),
  fc.record({ kind: fc.constant('manifest-flip' as const), at: where, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.constant({ kind: 'old-head' as const }),
);

/** Applies the damage to the copy in `dir`; false when it happened to change nothing. */
async function apply(dir: string, d: Damage): Promise<boolean> {
  if (d.kind === 'old-head') {
    await writeFile(headPath(dir), olderHead);
    return true;
  }
  if (d.kind === 'manifest-flip') {
    const file = path.join(dir, path.relative(pristine, manifestFile));
    const bytes = await readFile(file);
    bytes[Math.floor(d.at * bytes.length)]! ^= 1 << d.bit;
    await writeFile(file, bytes);
    return true;
  }
  const original = await readFile(segment(dir));
  let bytes = Buffer.from(original);
  const lines = original.toString('utf8').split('\n').filter(Boolean);
  const index = (at: number) => Math.floor(at * lines.length);
  if (d.kind === 'flip') bytes[Math.floor(d.at * bytes.length)]! ^= 1 << d.bit;
  else if (d.kind === 'cut') bytes = bytes.subarray(0, Math.floor(d.at * bytes.length));
  else {
    if (d.kind === 'drop') lines.splice(index(d.line), 1);
    else if (d.kind === 'repeat') lines.splice(index(d.line), 0, lines[index(d.line)]!);
    else if (d.kind === 'swap')
      [lines[index(d.line)], lines[index(d.other)]] = [lines[index(d.other)]!, lines[index(d.line)]!];
    else if (d.kind === 'edit') {
      let record: Record<string, unknown> & { data: Record<string, unknown> };
      try {
        record = JSON.parse(lines[index(d.line)]!) as typeof record;
      } catch {
        return false; // an earlier flip already broke this line
      }
      if (d.field === 'verdict')
        record.data = { ...record.data, verdict: record.data.verdict === 'clean' ? 'compromised' : 'clean' };
      else if (d.field === 'seq') record.seq = (record.seq as number) + 1;
      else if (d.field === 'time') record.time = '2020-01-01T00:00:00.000Z';
      else if (d.field === 'type')
        record.type = record.type === 'snapshot-scan' ? 'scan-run' : 'snapshot-scan';
      else record.prev = '0'.repeat(64);
      lines[index(d.line)] = JSON.stringify(record);
    }
    bytes = Buffer.from(`${lines.join('\n')}\n`);
  }
  await writeFile(segment(dir), bytes);
  return !bytes.equals(original);
}

describe('evidence verification on damaged ledgers (fuzz)', () => {
  it('catches every change to the records, the head or a baseline manifest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(damage, { minLength: 1, maxLength: 3 }), async (damages) => {
        await rm(work, { recursive: true, force: true });
        await cp(pristine, work, { recursive: true });
        for (const d of damages) await apply(work, d);
        // Damage that undid itself (a line repeated, then dropped) is no damage.
        const same = async (file: string) =>
          (await readFile(path.join(work, file))).equals(await readFile(path.join(pristine, file)));
        const manifest = path.relative(pristine, manifestFile);
        fc.pre(
          !(
            (await same('ledger/00000001.ndjson')) &&
            (await same('ledger/head.json')) &&
            (await same(manifest))
          ),
        );
        const result = await verifyLedger(work);
        expect(result.ok, `damage ${JSON.stringify(damages)} went unnoticed`).toBe(false);
        expect(result.firstBad ?? result.manifests.problems[0]).toBeDefined();
      }),
      fuzzParameters(200),
    );
  });
});
