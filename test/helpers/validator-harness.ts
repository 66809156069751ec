/**
 * Drives structure validators over whole buffers for tests: in chunks of a chosen size (down to
 * 1 byte, or varied sizes from a seeded sequence so chunk boundaries land anywhere), and over
 * real files damaged by the ransomware modes that keep a format's magic in place, or cut short.
 * The checks every validator test makes return what failed (empty when nothing did), so a test
 * asserts `toEqual([])` and a failure names the files.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { applyRansomware, type RansomwareMode } from './ransomware-modes.js';
import type { MachineFile } from './machine-files.js';
import {
  DEFAULT_VALIDATOR_LIMITS,
  type StructureVerdict,
  type ValidatorDefinition,
  type ValidatorLimits,
} from '../../agent/detection/validator.js';

/** How to cut the input: a fixed chunk size, or `varied` sizes from 1 byte to 256 KiB. */
export type Chunking = number | 'varied';

/** The first 64 KiB, as the classifier hands `matches`. */
export function headOf(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, 64 * 1024);
}

/** Feeds `bytes` to a new validator in chunks; the verdict. Chunks are fresh copies, so a validator that keeps references to them is caught by the ring-buffer reuse below. */
export function validate(
  definition: ValidatorDefinition,
  bytes: Uint8Array,
  chunking: Chunking = 64 * 1024,
  limits: ValidatorLimits = DEFAULT_VALIDATOR_LIMITS,
): StructureVerdict {
  const validator = definition.create(bytes.length, limits);
  // One reused buffer, overwritten after every update: the scan's shared-memory ring does the same.
  const ring = new Uint8Array(
    typeof chunking === 'number' ? Math.min(chunking, Math.max(1, bytes.length)) : 256 * 1024,
  );
  let seed = bytes.length % 9973;
  for (let at = 0; at < bytes.length;) {
    let size: number;
    if (typeof chunking === 'number') size = chunking;
    else {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      // Mostly small pieces, now and then a large one: boundaries fall inside every kind of field.
      size = seed % 7 === 0 ? 1 + (seed % (256 * 1024)) : 1 + (seed % 97);
    }
    const piece = bytes.subarray(at, at + size);
    ring.set(piece);
    validator.update(ring.subarray(0, piece.length));
    ring.fill(0xa5, 0, piece.length);
    at += piece.length;
  }
  return validator.finish();
}

/** A real file and its bytes. */
export interface LoadedFile {
  path: string;
  bytes: Buffer;
}

/** Reads found files. */
export function loadFiles(found: MachineFile[]): LoadedFile[] {
  return found.map((file) => ({ path: file.path, bytes: readFileSync(file.path) }));
}

/** A file's verdict. */
export interface FileVerdict {
  path: string;
  size: number;
  verdict: StructureVerdict;
}

/** Each file's verdict, fed in `chunking`. */
export function verdictsOf(
  definition: ValidatorDefinition,
  files: LoadedFile[],
  chunking: Chunking = 64 * 1024,
): FileVerdict[] {
  return files.map((file) => ({
    path: file.path,
    size: file.bytes.length,
    verdict: validate(definition, file.bytes, chunking),
  }));
}

/** Judged `valid` with every byte checked. */
export function fullyValid(result: FileVerdict): boolean {
  return result.verdict.status === 'valid' && result.verdict.checkedBytes === result.size;
}

/** Files whose verdict is not `valid`, with the verdict (empty when all are valid). */
export function falsePositives(
  definition: ValidatorDefinition,
  files: LoadedFile[],
  chunking: Chunking = 64 * 1024,
): { path: string; verdict: StructureVerdict }[] {
  return verdictsOf(definition, files, chunking)
    .filter((result) => result.verdict.status !== 'valid')
    .map(({ path, verdict }) => ({ path, verdict }));
}

/** Files whose head `definition.matches` does not claim (empty when it claims them all). */
export function unclaimed(definition: ValidatorDefinition, files: LoadedFile[]): string[] {
  return files.filter((file) => !definition.matches(headOf(file.bytes))).map((file) => file.path);
}

/** Something wrong with an intact file. */
export interface IntactProblem {
  path: string;
  problem: 'not valid in varied chunks' | 'not checked to the end' | 'no parts counted' | 'head not claimed';
  verdict?: StructureVerdict;
}

/**
 * What is wrong with intact files (empty when nothing is): each must be `valid` fed in varied
 * chunks and, in 64 KiB chunks, `valid` with every byte checked (and, with `countsParts`, some
 * parts counted), and its head must be claimed by `matches`.
 */
export function intactProblems(
  definition: ValidatorDefinition,
  files: LoadedFile[],
  options: { countsParts?: boolean } = {},
): IntactProblem[] {
  const problems: IntactProblem[] = falsePositives(definition, files, 'varied').map(({ path, verdict }) => ({
    path,
    problem: 'not valid in varied chunks',
    verdict,
  }));
  for (const result of verdictsOf(definition, files)) {
    if (!fullyValid(result))
      problems.push({ path: result.path, problem: 'not checked to the end', verdict: result.verdict });
    else if (options.countsParts && !result.verdict.parts)
      problems.push({ path: result.path, problem: 'no parts counted', verdict: result.verdict });
  }
  for (const path of unclaimed(definition, files)) problems.push({ path, problem: 'head not claimed' });
  return problems;
}

/** A verdict that changed with the chunking. */
export interface ChunkingDisagreement {
  path: string;
  chunking: Chunking;
  verdict: StructureVerdict;
  /** The verdict with the whole file in one chunk. */
  whole: StructureVerdict;
}

/**
 * Verdicts that differ from the whole-file verdict when the same bytes are fed in each of
 * `chunkings` (empty when where chunks break makes no difference, as it must not).
 */
export function chunkingDisagreements(
  definition: ValidatorDefinition,
  files: LoadedFile[],
  chunkings: Chunking[] = [1, 'varied'],
): ChunkingDisagreement[] {
  const found: ChunkingDisagreement[] = [];
  for (const file of files) {
    const whole = validate(definition, file.bytes, Math.max(1, file.bytes.length));
    for (const chunking of chunkings) {
      const verdict = validate(definition, file.bytes, chunking);
      if (!isDeepStrictEqual(verdict, whole)) found.push({ path: file.path, chunking, verdict, whole });
    }
  }
  return found;
}

/** A cut the validator did not judge `invalid`. */
export interface MissedTruncation {
  path: string;
  size: number;
  cut: number;
  verdict: StructureVerdict;
}

/** Files cut at each of `cuts(bytes)` that are not judged `invalid` (empty when every cut is found). */
export function missedTruncations(
  definition: ValidatorDefinition,
  files: LoadedFile[],
  cuts: (bytes: Buffer) => number[] = (bytes) => truncationPoints(bytes.length),
): MissedTruncation[] {
  const missed: MissedTruncation[] = [];
  for (const file of files) {
    for (const cut of cuts(file.bytes)) {
      const verdict = validate(definition, file.bytes.subarray(0, cut));
      if (verdict.status !== 'invalid')
        missed.push({ path: file.path, size: file.bytes.length, cut, verdict });
    }
  }
  return missed;
}

/** `file` with `length` bytes in its middle overwritten by `value`: one small stretch of damage. */
export function overwritten(file: LoadedFile, length: number, value: number): LoadedFile {
  const bytes = Buffer.from(file.bytes);
  const at = bytes.length >> 1;
  bytes.fill(value, at, at + length);
  return { path: `${file.path} (${length} bytes overwritten at ${at})`, bytes };
}

/**
 * `file` as `mode` damages it, with its first `keepHead` bytes put back (see `damageResults`).
 * Keyed by name and size, not by the full path: files made in a fresh temp directory get the same
 * damage in every run.
 */
export function damagedCopy(file: LoadedFile, mode: RansomwareMode, keepHead = 0): LoadedFile {
  const bytes = applyRansomware(file.bytes, mode, `${path.basename(file.path)}:${file.bytes.length}`);
  file.bytes.copy(bytes, 0, 0, Math.min(keepHead, file.bytes.length));
  return { path: `${file.path} (${mode}${keepHead > 0 ? `, first ${keepHead} bytes kept` : ''})`, bytes };
}

/** How one ransomware mode fared against a validator. */
export interface ModeResult {
  mode: RansomwareMode;
  /** Bytes at the start left intact. */
  keepHead: number;
  files: number;
  /** Damaged files judged `invalid` by the validator. */
  invalid: number;
  /** Damaged files whose head no longer matches the format (the classifier would not pick this validator). */
  magicLost: number;
  /** Files the mode left unchanged (shorter than the kept head plus the first gap); not counted in `files`. */
  unchanged: number;
  /** Damaged files still judged `valid`. */
  missed: string[];
  /** Damaged files judged `unsupported`. */
  unsupported: string[];
}

/**
 * Applies `mode` to every file and validates the result. With `keepHead`, the first bytes are put
 * back afterwards: the intermittent and chunk modes start at byte 0 and so destroy the magic,
 * which hides them from a validator (statistics catch those); a family that skips the header
 * leaves only the structure checks to find it.
 */
export function damageResults(
  definition: ValidatorDefinition,
  files: LoadedFile[],
  mode: RansomwareMode,
  keepHead = 0,
): ModeResult {
  const result: ModeResult = {
    mode,
    keepHead,
    files: files.length,
    unchanged: 0,
    invalid: 0,
    magicLost: 0,
    missed: [],
    unsupported: [],
  };
  for (const file of files) {
    const { bytes } = damagedCopy(file, mode, keepHead);
    if (bytes.equals(file.bytes)) {
      // Too short to reach a damaged byte past the kept head: nothing to detect.
      result.files--;
      result.unchanged++;
      continue;
    }
    if (!definition.matches(headOf(bytes))) result.magicLost++;
    const verdict = validate(definition, bytes);
    if (verdict.status === 'invalid') result.invalid++;
    else if (verdict.status === 'valid') result.missed.push(file.path);
    else result.unsupported.push(file.path);
  }
  return result;
}

/** One line for the test output: `gzip header-kept: 40/40 invalid (100.0 %), magic lost in 0, …`. */
export function describeResult(type: string, result: ModeResult): string {
  const rate = ((100 * result.invalid) / Math.max(1, result.files)).toFixed(1);
  const variant = result.keepHead > 0 ? ` (first ${result.keepHead} bytes kept)` : '';
  return `${type} ${result.mode}${variant}: ${result.invalid}/${result.files} invalid (${rate} %), magic lost in ${result.magicLost}, missed ${result.missed.length}, unsupported ${result.unsupported.length}${result.unchanged ? `, ${result.unchanged} too short to damage` : ''}`;
}

/** Cut points for truncation tests: after the magic, a third, half, and all but the last byte. */
export function truncationPoints(length: number): number[] {
  return [
    ...new Set([Math.min(8, length - 1), Math.floor(length / 3), Math.floor(length / 2), length - 1]),
  ].filter((at) => at > 0 && at < length);
}

/**
 * The damage every validator test runs: each mode that can leave the magic in place as
 * `applyRansomware` applies it, and each intermittent/chunk mode again with the first 64 bytes
 * kept (as `header-kept` does), so the structure checks past the header are what must catch it.
 */
export const DAMAGE_CASES: [RansomwareMode, number][] = [
  ['header-kept', 0],
  ['intermittent-16-16', 0],
  ['intermittent-64-192', 0],
  ['chunks-3x10', 0],
  ['intermittent-16-16', 64],
  ['intermittent-64-192', 64],
  ['chunks-3x10', 64],
];
