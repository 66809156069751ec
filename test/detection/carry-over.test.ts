/**
 * Unchanged bytes keep the judgement this version already made of them (scan/carry-over.ts):
 * a steady-state re-scan and a next snapshot measure only what changed — and lose nothing: every
 * changed file is measured (small ones whole, large ones read again after their digest), a kept
 * ransom note is still reported, and `detection.remeasure: all` gives the same findings.
 * On real files of this machine, attacked with a real cipher (openssl) and the byte patterns of
 * real families (ransomware-modes.ts).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePolicy } from '../../agent/config/load-policy.js';
import type { Finding } from '../../agent/model/findings.js';
import { runScan, type ScanReport } from '../../agent/scan/scan-run.js';
import { manifestIdentity } from '../../agent/scan/carry-over.js';
import { createManifestWriter, openManifest } from '../../agent/state/manifest-store.js';
import type { ManifestEntry } from '../../agent/model/manifest.js';
import { detectionVersion } from '../../agent/version.js';
import { findByExtension } from '../helpers/machine-files.js';
import { applyRansomware } from '../helpers/ransomware-modes.js';

const NOTE =
  'YOUR FILES HAVE BEEN ENCRYPTED!\nAll your documents, databases and backups are encrypted.\nTo decrypt them send 2 BTC to bc1qxyz and email decrypt@evil.example with your ID.\nDo not try to recover files yourself or they will be lost forever.\n';

const scratch = mkdtempSync(path.join(tmpdir(), 'vouch-carry-over-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const backups = path.join(scratch, 'backups');

/** Real files: text, bytecode, gzip, PNG, a shared library larger than a worker reads whole. */
const texts = findByExtension(['.py', '.txt'], 4, { minSize: 4000, maxSize: 200_000 });
const others = [
  ...findByExtension(['.gz'], 2, { minSize: 4000, maxSize: 500_000 }),
  ...findByExtension(['.png'], 2, { minSize: 2000, maxSize: 500_000 }),
];
const [large] = findByExtension(['.so'], 1, { minSize: 1_500_000, maxSize: 16 * 2 ** 20 });

/** The snapshot's tree: every real file under files/, plus a ransom note (a pre-existing hit). */
function writeSnapshot(id: string): string {
  const dir = path.join(backups, id);
  mkdirSync(path.join(dir, 'files'), { recursive: true });
  [...texts, ...others, large!].forEach((file, i) =>
    cpSync(file.path, path.join(dir, 'files', `${i}-${path.basename(file.path)}`)),
  );
  writeFileSync(path.join(dir, 'HOW_TO_DECRYPT.txt'), NOTE);
  return dir;
}

function policy(remeasure: 'changed' | 'all' = 'changed') {
  return validatePolicy(
    {
      sets: {
        t: {
          source: { fs: { path: backups } },
          snapshots: { layout: 'directory' },
          integrity: { algorithm: 'sha256', rehash: 'always' },
          detection: { remeasure },
        },
      },
    },
    'test policy',
    scratch,
  );
}

async function scan(
  state: string,
  remeasure: 'changed' | 'all' = 'changed',
): Promise<ScanReport['sets'][number]> {
  const report = (await runScan(policy(remeasure), { stateDir: path.join(scratch, state) })).sets[0]!;
  expect(report.error).toBeUndefined();
  return report;
}

/** A snapshot's findings, as comparable lines. */
function findingLines(findings: Finding[]): string[] {
  return findings.map((finding) => `${finding.kind} ${finding.severity} ${finding.path}`).sort();
}

const names = () => [...texts, ...others, large!].map((file, i) => `files/${i}-${path.basename(file.path)}`);

beforeAll(() => {
  expect(texts.length).toBeGreaterThanOrEqual(3);
  expect(others.length).toBeGreaterThanOrEqual(2);
  expect(large, 'a shared library of 1.5–16 MB on this machine').toBeDefined();
  writeSnapshot('snap-20260101');
});

describe('a steady-state re-scan', () => {
  it('keeps every unchanged judgement, still reports the kept ransom note, and stamps the baseline', async () => {
    const first = await scan('state-a');
    const before = first.snapshots[0]!;
    expect(before.detection?.kept ?? 0).toBe(0);
    expect(findingLines(before.findings)).toContain('ransom-note critical HOW_TO_DECRYPT.txt');

    const baseline = (await openManifest(path.join(scratch, 'state-a'), 't', 'snap-20260101'))!;
    expect(baseline.header.detection).toEqual({ version: detectionVersion(), previous: null });
    await baseline.close();

    const again = (await scan('state-a')).snapshots[0]!;
    expect(again.detection?.files).toBe(before.detection?.files);
    expect(again.detection?.kept).toBe(names().length + 1);
    expect(findingLines(again.findings)).toEqual(findingLines(before.findings));
    expect(again.verdict).toBe(before.verdict);
  });

  it('measures every changed file — openssl in place, a header kept, a large file read again — as `all` does', async () => {
    await scan('state-b');
    const dir = path.join(backups, 'snap-20260101');
    const [text0, text1] = names();
    const largeName = names().at(-1)!;
    // openssl AES-256-CTR without salt: the same size, every byte encrypted.
    const whole = path.join(dir, text0!);
    execFileSync('openssl', [
      'enc',
      '-aes-256-ctr',
      '-nosalt',
      '-K',
      '11'.repeat(32),
      '-iv',
      '22'.repeat(16),
      '-in',
      whole,
      '-out',
      `${whole}.tmp`,
    ]);
    cpSync(`${whole}.tmp`, whole);
    rmSync(`${whole}.tmp`);
    const headerKept = path.join(dir, text1!);
    writeFileSync(headerKept, applyRansomware(readFileSync(headerKept), 'header-kept', 'a'));
    const big = path.join(dir, largeName);
    writeFileSync(big, applyRansomware(readFileSync(big), 'intermittent-64-192', 'b'));
    try {
      const changed = (await scan('state-b')).snapshots[0]!;
      const encrypted = changed.findings.filter((finding) => finding.kind === 'encrypted').map((f) => f.path);
      expect(encrypted.sort()).toEqual([text0!, text1!, largeName].sort());
      expect(changed.detection?.kept).toBe(names().length + 1 - 3);
      const all = (await scan('state-b', 'all')).snapshots[0]!;
      expect(all.detection?.kept ?? 0).toBe(0);
      expect(findingLines(all.findings)).toEqual(findingLines(changed.findings));
    } finally {
      rmSync(path.join(backups, 'snap-20260101'), { recursive: true, force: true });
      writeSnapshot('snap-20260101');
    }
  });
});

describe('the next snapshot', () => {
  it('keeps the previous snapshot’s judgements of unchanged files and measures the rest', async () => {
    const state = 'state-c';
    await scan(state);
    const next = writeSnapshot('snap-20260102');
    const victim = path.join(next, names()[2]!);
    writeFileSync(victim, applyRansomware(readFileSync(victim), 'whole', 'c'));
    try {
      const report = await scan(state);
      const snapshot = report.snapshots.find((s) => s.id === 'snap-20260102')!;
      expect(snapshot.findings.filter((f) => f.kind === 'encrypted').map((f) => f.path)).toEqual([
        names()[2],
      ]);
      expect(snapshot.detection?.kept).toBe(names().length + 1 - 1);
      expect(findingLines(snapshot.findings)).toContain('ransom-note critical HOW_TO_DECRYPT.txt');
      const history = (await openManifest(path.join(scratch, state), 't', 'snap-20260101'))!;
      const written = (await openManifest(path.join(scratch, state), 't', 'snap-20260102'))!;
      expect(written.header.detection).toEqual({
        version: detectionVersion(),
        previous: manifestIdentity(history.header),
      });
      const kept = written.get(names()[0]!);
      expect(kept?.content).toEqual(history.get(names()[0]!)?.content);
      await history.close();
      await written.close();
    } finally {
      rmSync(next, { recursive: true, force: true });
    }
  });
});

describe('a manifest edited in the state directory', () => {
  it('is not trusted: a judgement flipped to intact does not hide an encrypted file', async () => {
    const state = path.join(scratch, 'state-d');
    const dir = path.join(backups, 'snap-20260101');
    const victim = names()[texts.length]!; // the first .gz: header kept, body encrypted — invalid structure
    const original = readFileSync(path.join(dir, victim));
    writeFileSync(path.join(dir, victim), applyRansomware(original, 'header-kept', 'd'));
    try {
      const first = (await scan('state-d')).snapshots[0]!;
      expect(first.findings.filter((f) => f.kind === 'encrypted').map((f) => f.path)).toEqual([victim]);
      // Rewrite the baseline with the victim judged intact (as someone with access to the state could).
      const reader = (await openManifest(state, 't', 'snap-20260101'))!;
      const entries: ManifestEntry[] = [];
      for await (const entry of reader.entries()) entries.push(entry);
      await reader.close();
      const writer = await createManifestWriter(state, reader.header);
      for (const entry of entries)
        await writer.add(
          entry.path === victim
            ? { ...entry, content: { ...entry.content!, judgement: 'intact', strength: 'none' } }
            : entry,
        );
      await writer.commit();
      const again = (await scan('state-d')).snapshots[0]!;
      expect(again.findings.filter((f) => f.kind === 'encrypted').map((f) => f.path)).toEqual([victim]);
      expect(again.detection?.kept ?? 0).toBe(0);
    } finally {
      writeFileSync(path.join(dir, victim), original);
    }
  });
});
