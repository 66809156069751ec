/**
 * `vouch inspect PATH...`: look at files, directories or archives on disk without a policy — the
 * forensics helper an incident responder runs on a suspicious folder. Classifies every file (or
 * archive member) as encrypted or intact with its reasons, with its digest and any problem the
 * safe readers found. There is no history here, so judgements rest on structure, type and
 * statistics alone.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_LIMITS, type ArchiveProblem, type EntryType, type EntryVisitor } from '../archives/entry-reader.js';
import { readPlainEntries } from '../archives/plain-reader.js';
import { ARCHIVE_EXTENSIONS, formatOf, readerFor } from '../archives/registry.js';
import { formatBytes } from '../config/byte-size.js';
import { describeError } from '../errors.js';
import { claimedType, classify, type Judgement } from '../detection/classify.js';
import { isRansomNote } from '../detection/ransom-note.js';
import { analyzeStream } from '../scan/analyze-stream.js';
import { archiveInputFor } from '../sources/archive-input.js';
import { createFsSource } from '../sources/fs-source.js';
import { EXIT } from './exit-codes.js';
import { globalOptions } from './global-options.js';
import { printJson, printLines, table } from './output.js';

/** One inspected file or archive member. */
export interface InspectedFile {
  /** Path on disk; archive members as `archive.tar.gz!member`. */
  path: string;
  /** Ransomware-like encryption (or damage that looks like it). Legitimately encrypted formats are false. */
  encrypted: boolean;
  /** 0…1: how sure the judgement is. */
  score: number;
  /** Content type for files (`pdf`, `gzip`, `openpgp`, `unknown`…), the entry kind otherwise. */
  type: string;
  /** Why, strongest first (`structure-invalid`, `magic-mismatch`, `random-block-0`…). */
  reasons: string[];
  /** One sentence. */
  detail: string;
  judgement?: Judgement;
  /** A ransom note. */
  ransomNote?: boolean;
  entryType: EntryType;
  size: number;
  sha256?: string;
  linkTarget?: string;
}

/** The `vouch inspect --json` document. */
export interface InspectReport {
  files: InspectedFile[];
  problems: (ArchiveProblem & { container: string })[];
}

function collector(report: InspectReport, container: string, prefix: string): EntryVisitor {
  return {
    async entry(entry, body) {
      const path = `${prefix}${entry.path}`;
      const file: InspectedFile = { path, encrypted: false, score: 0, type: entry.type, reasons: [], detail: entry.type, entryType: entry.type, size: entry.size };
      if (entry.linkTarget !== undefined) file.linkTarget = entry.linkTarget;
      if (body) {
        const detect = entry.encrypted ? undefined : { size: entry.size, claim: claimedType(entry.path) };
        const result = await analyzeStream(body, { algorithm: 'sha256', extraAlgorithms: [], ...(detect ? { detect } : {}) }, { sizeHint: entry.size });
        file.sha256 = result.digest;
        file.size = result.bytes;
        if (result.content) {
          const judged = classify({ path: entry.path, features: result.content });
          Object.assign(file, { encrypted: judged.encrypted, score: judged.score, type: judged.type, reasons: judged.reasons, detail: judged.detail, judgement: judged.judgement });
          if (isRansomNote(entry.path, result.content.ransomMarkers)) {
            Object.assign(file, { ransomNote: true, reasons: ['ransom-note', ...file.reasons], detail: `ransom note (${result.content.ransomMarkers.join(', ')})` });
          }
        } else {
          Object.assign(file, { type: 'zip-encrypted-member', reasons: ['zip-encryption'], detail: 'stored encrypted by zip itself', judgement: 'legit-encrypted' });
        }
      }
      report.files.push(file);
    },
    problem(problem) {
      report.problems.push({ ...problem, container });
    },
  };
}

/** Inspects one path on disk into `report`. */
export async function inspectPath(target: string, report: InspectReport): Promise<void> {
  const absolute = path.resolve(target);
  const stats = await lstat(absolute);
  if (stats.isDirectory()) {
    const source = createFsSource(absolute);
    await readPlainEntries(source.list(), async (key) => (await source.open(key)).stream, collector(report, target, `${target.replace(/\/$/, '')}/`), DEFAULT_LIMITS);
    return;
  }
  const source = createFsSource(path.dirname(absolute));
  const key = path.basename(absolute);
  const format = formatOf(key);
  if (format && stats.isFile()) {
    const object = { key, size: stats.size, mtime: stats.mtime, kind: 'file' as const };
    await readerFor(format).read(archiveInputFor(source, object), collector(report, target, `${target}!`), DEFAULT_LIMITS);
    return;
  }
  const objects = (async function* () {
    for await (const object of source.list()) if (object.key === key) yield object;
  })();
  // The entry is named by its file name (the safe-path rules refuse absolute names); the report
  // shows it where the user pointed.
  const folder = target.slice(0, target.length - key.length);
  await readPlainEntries(objects, async () => (await source.open(key)).stream, collector(report, target, folder), DEFAULT_LIMITS);
}

/** The report as text: flagged files first, then the rest. */
export function inspectText(report: InspectReport): string[] {
  const flagged = (file: InspectedFile) => file.encrypted || file.ransomNote === true || file.judgement === 'damaged';
  const verdict = (file: InspectedFile) =>
    file.ransomNote ? 'RANSOM NOTE' : file.encrypted ? `ENCRYPTED ${file.score.toFixed(2)}` : file.judgement === 'damaged' ? 'DAMAGED' : file.judgement === 'legit-encrypted' ? 'encrypted by design' : file.entryType === 'file' ? 'intact' : file.entryType;
  const ordered = [...report.files.filter(flagged), ...report.files.filter((file) => !flagged(file))];
  const lines = table(ordered.map((file) => [verdict(file), file.type, formatBytes(file.size), file.path, flagged(file) || file.judgement === 'legit-encrypted' ? file.detail : '']));
  for (const problem of report.problems) lines.push(`${problem.kind}: ${problem.container}: ${problem.path ? `${problem.path}: ` : ''}${problem.detail}`);
  const count = report.files.filter(flagged).length;
  lines.push('', `${report.files.length} entr${report.files.length === 1 ? 'y' : 'ies'}, ${count} flagged`);
  return lines;
}

/** Registers `inspect`. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('classify files, directories or archives on disk: ransomware-encrypted, damaged or intact, with reasons and SHA-256 digests')
    .argument('<paths...>', `files, directories or archives (${ARCHIVE_EXTENSIONS})`)
    .action(async (paths: string[], _options, command: Command) => {
      const report: InspectReport = { files: [], problems: [] };
      for (const target of paths) {
        try {
          await inspectPath(target, report);
        } catch (error) {
          report.problems.push({ container: target, kind: 'read-error', path: target, detail: describeError(error) });
        }
      }
      if (globalOptions(command).json) printJson(report);
      else printLines(inspectText(report));
      const flagged = report.files.some((file) => file.encrypted || file.ransomNote || file.judgement === 'damaged');
      process.exitCode = report.problems.length || flagged ? EXIT.findings : EXIT.ok;
    });
}
