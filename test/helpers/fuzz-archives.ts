/**
 * fast-check arbitraries for fuzzing archive handling: small archives (tar, tar.gz, zip; tar.xz,
 * tar.bz2 and 7z made by the host's tools) whose
 * members carry ordinary and hostile names (traversal, absolute, links, devices, twins), and
 * byte-level mutations of them (bit flips, overwritten runs, truncation, insertions, repeated
 * slices) — the damage a broken disk, a bad transfer or an attacker does.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { buildZip } from './build-archive.js';
import { tarArchive, tarEntry } from './hostile-archives.js';

/** Archive formats the fuzzers build (the last three with the host's xz, bzip2 and 7-Zip). */
export type FuzzFormat = 'tar' | 'tar.gz' | 'zip' | 'tar.xz' | 'tar.bz2' | '7z';

/** One member of a generated archive. */
export interface FuzzMember {
  name: string;
  type: '0' | '2' | '1' | '3' | '5' | '6';
  data: Buffer;
  linkname?: string;
}

/** Names an archive may carry: ordinary ones and the hostile ones safe readers must refuse. */
export const memberName = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z]{1,8}(\/[a-z]{1,8}){0,2}\.(txt|sql|csv|bin)$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '../../escape.txt',
      '../../../canary/pwned',
      '/etc/vouch-fuzz-absolute',
      'a/../../b',
      './././c.txt',
      'dir/',
      'link',
      'link/through.txt',
      'C:\\windows\\x',
      'ce\u0301.txt',
      'c\u00e9.txt',
      'nul\u0000byte',
      'a'.repeat(99),
      'deep/'.repeat(19) + 'x',
    ),
  },
);

/** A member: mostly files, sometimes links, directories, devices. */
export const member: fc.Arbitrary<FuzzMember> = fc.record({
  name: memberName,
  type: fc.constantFrom('0', '0', '0', '0', '2', '1', '3', '5', '6'),
  data: fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
  linkname: fc.constantFrom('../../../etc/passwd', '/etc/shadow', 'b.txt', 'link'),
});

/** Builds an archive of `members` (zip ignores non-file types and writes what yazl accepts). */
export async function buildArchive(format: FuzzFormat, members: readonly FuzzMember[]): Promise<Buffer> {
  if (format === '7z') return build7z(members);
  if (format === 'zip') {
    const files = members.filter(
      (m) =>
        m.type === '0' &&
        !m.name.includes('\0') &&
        !m.name.startsWith('/') &&
        !m.name.includes('..') &&
        !m.name.endsWith('/') &&
        !m.name.includes('\\'),
    );
    return buildZip(files.map((m) => ({ path: m.name, data: m.data })));
  }
  const tar = tarArchive(
    ...members.map((m) => {
      const name = Buffer.from(m.name, 'utf8').subarray(0, 100);
      const carriesData = m.type === '0';
      return tarEntry(
        {
          name,
          type: m.type,
          size: carriesData ? m.data.length : 0,
          ...(m.type === '1' || m.type === '2' ? { linkname: m.linkname ?? 'x' } : {}),
        },
        carriesData ? m.data : Buffer.alloc(0),
      );
    }),
  );
  if (format === 'tar.xz') return execFileSync('xz', ['-c', '-0'], { input: tar });
  if (format === 'tar.bz2') return execFileSync('bzip2', ['-c'], { input: tar });
  return format === 'tar.gz' ? gzipSync(tar) : tar;
}

/** A 7z of the members 7-Zip can take from disk (plain files with ordinary names), written by 7-Zip. */
function build7z(members: readonly FuzzMember[]): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'vouch-fuzz-7z-'));
  try {
    const files = members.filter(
      (m) =>
        m.type === '0' &&
        /^[\w.-]+(\/[\w.-]+)*$/.test(m.name) &&
        !m.name.split('/').some((part) => part === '.' || part === '..'),
    );
    for (const [index, member] of (files.length
      ? files
      : [{ name: 'empty', data: Buffer.alloc(0) }]
    ).entries()) {
      const target = path.join(dir, 'in', member.name);
      try {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, member.data);
      } catch {
        writeFileSync(path.join(dir, 'in', `f${index}`), member.data); // a name that is a file and a folder at once
      }
    }
    execFileSync('7zz', ['a', '-bd', '-mhc=off', path.join(dir, 'a.7z'), '.'], {
      cwd: path.join(dir, 'in'),
      stdio: 'ignore',
    });
    return readFileSync(path.join(dir, 'a.7z'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One byte-level mutation. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'repeat'; at: number; length: number };

/** Mutations at positions given as fractions of the length, so they fit any archive. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant('overwrite' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant('truncate' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }),
  }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
    length: fc.integer({ min: 1, max: 2048 }),
  }),
);

/** Applies `mutations` in order to a copy of `bytes`. */
export function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = Math.min(out.length - 1, Math.floor(m.at * out.length));
    if (m.kind === 'flip') out[at]! ^= 1 << m.bit;
    else if (m.kind === 'overwrite') Buffer.from(m.bytes).copy(out, at);
    else if (m.kind === 'truncate') out = out.subarray(0, at);
    else if (m.kind === 'insert')
      out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
    else
      out = Buffer.concat([
        out.subarray(0, at + m.length),
        out.subarray(at, at + m.length),
        out.subarray(at + m.length),
      ]);
  }
  return out;
}

/** A damaged archive: a format, its members, and 1–4 mutations. */
export const damagedArchive = fc.record({
  format: fc.constantFrom<FuzzFormat>('tar', 'tar.gz', 'zip'),
  members: fc.array(member, { minLength: 1, maxLength: 8 }),
  mutations: fc.array(mutation, { minLength: 0, maxLength: 4 }),
});

/** A damaged archive of a format read through a host tool (xz, bzip2, 7-Zip): slower to build, fewer runs. */
export const damagedToolArchive = fc.record({
  format: fc.constantFrom<FuzzFormat>('tar.xz', 'tar.bz2', '7z'),
  members: fc.array(member, { minLength: 1, maxLength: 8 }),
  mutations: fc.array(mutation, { minLength: 0, maxLength: 4 }),
});

/** Rejects with a clear message if `promise` takes longer than `ms` (a hang is a failure, not a stuck test). */
export async function withinTime<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hang)`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
