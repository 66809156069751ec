/**
 * The judge lets a reader go on to the next member as soon as a body is read, while the analysis
 * pool still works on it (an archive's members were read and judged strictly one after another:
 * a `.tar.gz` scan took twice `tar -xzO | sha256sum`, issue 13) — and nothing is lost for it:
 * `settle()` waits for every judgement, digests are those of the bytes, and an analysis that
 * fails after its body was read is that entry's read-error.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AnalysisPool } from '../../agent/analysis/analysis-pool.js';
import type { ArchiveEntry } from '../../agent/archives/entry-reader.js';
import type { DigestAlgorithm, ManifestEntry } from '../../agent/model/manifest.js';
import { entryJudge } from '../../agent/scan/entry-judge.js';
import { EntrySpool } from '../../agent/scan/entry-spool.js';
import { FindingsCollector } from '../../agent/scan/findings-collector.js';
import { findByExtension } from '../helpers/machine-files.js';

let dir = '';
let files: { name: string; bytes: Buffer }[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vouch-judge-pipeline-'));
  files = findByExtension(['.py', '.gz', '.png', '.mo', '.so'], 300, { maxSize: 512 * 1024 }).map(
    (file, i) => ({ name: `m/${i}-${path.basename(file.path)}`, bytes: readFileSync(file.path) }),
  );
  expect(files.length).toBeGreaterThan(100);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function memberOf(file: { name: string; bytes: Buffer }): ArchiveEntry {
  return { rawName: file.name, path: file.name, type: 'file', size: file.bytes.length };
}

/** A body as an archive reader streams it: in small chunks. */
function body(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 16 * 1024) chunks.push(bytes.subarray(at, at + 16 * 1024));
  return Readable.from(chunks, { objectMode: false });
}

async function spooled(spool: EntrySpool): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  for await (const entry of spool.sorted()) out.push(entry);
  return out;
}

function judgeWith(spool: EntrySpool, collector: FindingsCollector, algorithm: DigestAlgorithm) {
  return entryJudge({
    layout: 'archive',
    algorithm,
    extraAlgorithms: [],
    detection: null,
    history: null,
    keepDigests: false,
    spool,
    collector,
  });
}

describe('the judge reads ahead of the analysis pool', () => {
  it('takes the next body before the last is judged, and settle() waits for every judgement', async () => {
    const spool = new EntrySpool(dir);
    const collector = new FindingsCollector();
    const judge = judgeWith(spool, collector, 'sha256');
    const judgedWhenReturned: number[] = [];
    for (const file of files) {
      await judge.visitor.entry(memberOf(file), body(file.bytes));
      judgedWhenReturned.push(spool.size);
    }
    // The first member's analysis had not come back from a worker when the visitor returned.
    expect(judgedWhenReturned[0]).toBe(0);
    expect(judgedWhenReturned.some((judged, i) => judged < i + 1)).toBe(true);
    await judge.settle();
    const entries = await spooled(spool);
    expect(entries.length).toBe(files.length);
    const digests = new Map(entries.map((entry) => [entry.path, entry.digest]));
    for (const file of files)
      expect(digests.get(file.name)).toBe(createHash('sha256').update(file.bytes).digest('hex'));
    expect(collector.total).toBe(0);
    await spool.dispose();
  });

  it('an analysis that fails after its body was read is a read-error of that entry (a pool stubbed to fail); the others are judged', async () => {
    const spool = new EntrySpool(dir);
    const collector = new FindingsCollector();
    // A worker that dies answers every entry it held with an error, after the body was read.
    const failing = vi
      .spyOn(AnalysisPool.prototype, 'analyzeWhole')
      .mockImplementation(() => Promise.reject(new Error('analysis worker failed: exited with code 1')));
    const judge = judgeWith(spool, collector, 'sha256');
    try {
      for (const file of files.slice(0, 20)) await judge.visitor.entry(memberOf(file), body(file.bytes));
      await judge.visitor.entry({ rawName: 'm/dir', path: 'm/dir', type: 'directory', size: 0 }, null);
      await judge.settle();
    } finally {
      failing.mockRestore();
    }
    expect(collector.counts['read-error']).toBe(20);
    expect(collector.kept[0]!.detail).toContain('analysis worker failed');
    expect(collector.kept.map((finding) => finding.path).sort()).toEqual(
      files
        .slice(0, 20)
        .map((file) => file.name)
        .sort(),
    );
    expect((await spooled(spool)).map((entry) => entry.path)).toEqual(['m/dir']);
    await spool.dispose();
  });
});
