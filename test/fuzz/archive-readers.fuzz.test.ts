/**
 * Fuzzing the entry readers: damaged and hostile tar, tar.gz and zip archives never crash a
 * reader, never hang it, and never get an unsafe path past the safe-path module. Fixed seed and
 * bounded runs here; `npm run fuzz` runs the same properties far longer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../agent/archives/entry-reader.js';
import { readerFor } from '../../agent/archives/registry.js';
import { bufferInput, recordingVisitor } from '../helpers/buffer-input.js';
import {
  buildArchive,
  damagedArchive,
  damagedToolArchive,
  withinTime,
  type FuzzFormat,
  type FuzzMember,
  type Mutation,
} from '../helpers/fuzz-archives.js';
import { fuzzParameters } from '../helpers/fuzz.js';
import { mutate } from '../helpers/fuzz-archives.js';

const limits = {
  ...DEFAULT_LIMITS,
  maxEntries: 10_000,
  maxTotalBytes: 64 * 2 ** 20,
  maxEntryBytes: 16 * 2 ** 20,
};

async function checkRead({
  format,
  members,
  mutations,
}: {
  format: FuzzFormat;
  members: FuzzMember[];
  mutations: Mutation[];
}): Promise<void> {
  const bytes = mutate(await buildArchive(format, members), mutations);
  const visitor = recordingVisitor();
  const summary = await withinTime(
    readerFor(format).read(bufferInput(`fuzz.${format}`, bytes), visitor, limits),
    10_000,
    `reading a damaged ${format}`,
  );
  // Entries whose body failed mid-read were visited (counted) but not recorded by this visitor.
  expect(summary.entries).toBeGreaterThanOrEqual(visitor.entries.length);
  for (const entry of visitor.entries) {
    expect(entry.path).not.toMatch(/^\/|^[A-Za-z]:|(^|\/)\.\.(\/|$)|\0/);
    expect(entry.path.split('/').every((part) => part !== '' && part !== '.')).toBe(true);
    if (entry.type === 'file') expect(entry.bodyBytes).toBeLessThanOrEqual(limits.maxEntryBytes);
  }
  for (const problem of visitor.problems) expect(['unsafe-entry', 'read-error']).toContain(problem.kind);
  // A read cut short by damage says so: never complete with a read-error about the archive itself.
  if (visitor.problems.some((problem) => problem.kind === 'read-error' && problem.path === ''))
    expect(summary.complete).toBe(false);
}

/** Each case runs a compressor (or 7-Zip) to build and a tool to read: fewer runs, more time each. */
const TOOL_RUNS = fuzzParameters(40);

describe('entry readers on damaged and hostile archives (fuzz)', () => {
  it(
    'read through the host tools (tar.xz, tar.bz2, 7z): always finish, never throw, only admit safe relative paths',
    async () => {
      await fc.assert(fc.asyncProperty(damagedToolArchive, checkRead), TOOL_RUNS);
    },
    60_000 + TOOL_RUNS.numRuns * 2_000,
  );

  it('always finish, never throw, and only ever admit safe relative paths', async () => {
    await fc.assert(
      fc.asyncProperty(damagedArchive, async ({ format, members, mutations }) => {
        const bytes = mutate(await buildArchive(format, members), mutations);
        const visitor = recordingVisitor();
        const summary = await withinTime(
          readerFor(format).read(bufferInput(`fuzz.${format}`, bytes), visitor, limits),
          10_000,
          `reading a damaged ${format}`,
        );
        // Entries whose body failed mid-read were visited (counted) but not recorded by this visitor.
        expect(summary.entries).toBeGreaterThanOrEqual(visitor.entries.length);
        for (const entry of visitor.entries) {
          expect(entry.path).not.toMatch(/^\/|^[A-Za-z]:|(^|\/)\.\.(\/|$)|\0/);
          expect(entry.path.split('/').every((part) => part !== '' && part !== '.')).toBe(true);
          if (entry.type === 'file') expect(entry.bodyBytes).toBeLessThanOrEqual(limits.maxEntryBytes);
        }
        for (const problem of visitor.problems)
          expect(['unsafe-entry', 'read-error']).toContain(problem.kind);
        // A read cut short by damage says so: never complete with a read-error about the archive itself.
        if (visitor.problems.some((problem) => problem.kind === 'read-error' && problem.path === ''))
          expect(summary.complete).toBe(false);
      }),
      fuzzParameters(150),
    );
  });
});
