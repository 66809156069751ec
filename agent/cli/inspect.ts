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
import { DEFAULT_LIMITS, type ArchiveProblem, type EntryVisitor } from '../archives/entry-reader.js';
import { type EntryType } from '../model/manifest.js';
import { readPlainEntries } from '../archives/plain-reader.js';
import { ARCHIVE_EXTENSIONS, formatOf, readerFor } from '../archives/registry.js';
import { formatBytes } from '../config/byte-size.js';
import { ConfigError, describeError } from '../errors.js';
import { claimedType, classify } from '../detection/classify.js';
import { type Judgement } from '../model/content.js';
import { isRansomNote } from '../detection/ransom-note.js';
import { analyzeStream } from '../analysis/analyze-stream.js';
import { archiveInputFor } from '../sources/archive-input.js';
import { createFsSource } from '../sources/fs-source.js';
import { EXIT } from './exit-codes.js';
import { globalOptions } from './global-options.js';
import { createStreamWriter, isQuiet, terminalSafe } from './output.js';

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
  /** The encryption container the content is in (`openpgp`, `zip-encrypted`, `base64`…), when it is in one. */
  container?: string;
  ransomNote?: boolean;
  entryType: EntryType;
  size: number;
  sha256?: string;
  linkTarget?: string;
  /** Set when the entry could not be judged: it is unsafe (refused by the safe-path rules) or unreadable. */
  problem?: ArchiveProblem['kind'];
}

/**
 * The `vouch inspect --json` document (streamed: files as they are read); the contract of that
 * output, kept for its readers.
 * @public
 */
export interface InspectReport {
  files: InspectedFile[];
  /** Every problem, archive-wide ones included (the first MAX_PROBLEMS; entry problems are also in `files`). */
  problems: (ArchiveProblem & { container: string })[];
  /** Problems past MAX_PROBLEMS, counted. */
  problemsOmitted?: number;
}

/** Where inspected results go as they are found: the CLI prints them at once, tests collect them. */
export interface InspectSink {
  file(file: InspectedFile): void | Promise<void>;
  problem(problem: ArchiveProblem & { container: string }): void | Promise<void>;
}

/** Problems kept for the closing list; the rest are counted. */
export const MAX_PROBLEMS = 1000;

/** Whether a result needs the responder's attention. */
export function isFlagged(file: InspectedFile): boolean {
  return (
    file.encrypted || file.ransomNote === true || file.judgement === 'damaged' || file.problem !== undefined
  );
}

/** A problem with one entry as that entry's result, so every path has a result. */
function problemResult(container: string, prefix: string, found: ArchiveProblem): InspectedFile {
  return {
    path: found.path ? `${prefix}${found.path}` : container,
    encrypted: false,
    score: 0,
    type: found.kind,
    reasons: [found.kind],
    detail: found.detail,
    problem: found.kind,
    entryType: 'other',
    size: 0,
  };
}

function collector(sink: InspectSink, container: string, prefix: string): EntryVisitor {
  const pending: Promise<void>[] = [];
  return {
    async entry(entry, body) {
      const path = `${prefix}${entry.path}`;
      const file: InspectedFile = {
        path,
        encrypted: false,
        score: 0,
        type: entry.type,
        reasons: [],
        detail: entry.type,
        entryType: entry.type,
        size: entry.size,
      };
      if (entry.linkTarget !== undefined) file.linkTarget = entry.linkTarget;
      if (body) {
        const detect = entry.encrypted ? undefined : { size: entry.size, claim: claimedType(entry.path) };
        const result = await analyzeStream(
          body,
          { algorithm: 'sha256', extraAlgorithms: [], ...(detect ? { detect } : {}) },
          { sizeHint: entry.size },
        );
        file.sha256 = result.digest;
        file.size = result.bytes;
        if (result.content) {
          const judged = classify({ path: entry.path, features: result.content });
          Object.assign(file, {
            encrypted: judged.encrypted,
            score: judged.score,
            type: judged.type,
            reasons: judged.reasons,
            detail: judged.detail,
            judgement: judged.judgement,
          });
          if (judged.summary.container) file.container = judged.summary.container;
          if (isRansomNote(entry.path, result.content.ransomMarkers)) {
            Object.assign(file, {
              ransomNote: true,
              reasons: ['ransom-note', ...file.reasons],
              detail: `ransom note (${result.content.ransomMarkers.join(', ')})`,
            });
          }
        } else {
          // No history here: a scan judges the member against the previous snapshot (became encrypted when it was plain).
          Object.assign(file, {
            type: 'zip-encrypted-member',
            reasons: ['zip-encryption'],
            detail:
              'password-protected by zip itself: unreadable without the password; a scan compares it with the previous snapshot',
            judgement: 'legit-encrypted',
          });
        }
      }
      await Promise.all(pending.splice(0));
      await sink.file(file);
    },
    problem(found) {
      // Problems arrive synchronously from the reader; their output is awaited with the next entry.
      pending.push(
        (async () => {
          await sink.problem({ ...found, container });
          if (found.path) await sink.file(problemResult(container, prefix, found));
        })(),
      );
    },
    async settled() {
      await Promise.all(pending.splice(0));
    },
  } as EntryVisitor & { settled(): Promise<void> };
}

async function readWith(
  sink: InspectSink,
  container: string,
  prefix: string,
  read: (visitor: EntryVisitor) => Promise<unknown>,
): Promise<void> {
  const visitor = collector(sink, container, prefix) as EntryVisitor & { settled(): Promise<void> };
  try {
    await read(visitor);
  } finally {
    await visitor.settled();
  }
}

/** Inspects one path on disk, handing every result to `sink` as it is found. */
export async function inspectPath(target: string, sink: InspectSink): Promise<void> {
  const absolute = path.resolve(target);
  const stats = await lstat(absolute);
  if (stats.isDirectory()) {
    const source = createFsSource(absolute);
    await readWith(sink, target, `${target.replace(/\/$/, '')}/`, (visitor) =>
      readPlainEntries(
        source.list(),
        async (key) => (await source.open(key)).stream,
        visitor,
        DEFAULT_LIMITS,
      ),
    );
    return;
  }
  const source = createFsSource(path.dirname(absolute));
  const key = path.basename(absolute);
  const format = formatOf(key);
  if (format && stats.isFile()) {
    const object = { key, size: stats.size, mtime: stats.mtime, kind: 'file' as const };
    await readWith(sink, target, `${target}!`, (visitor) =>
      readerFor(format).read(archiveInputFor(source, object), visitor, DEFAULT_LIMITS),
    );
    return;
  }
  const objects = (async function* () {
    for await (const object of source.list()) if (object.key === key) yield object;
  })();
  // The entry is named by its file name (the safe-path rules refuse absolute names); the report
  // shows it where the user pointed.
  const folder = target.slice(0, target.length - key.length);
  await readWith(sink, target, folder, (visitor) =>
    readPlainEntries(objects, async () => (await source.open(key)).stream, visitor, DEFAULT_LIMITS),
  );
}

/** Inspects every target; a path that cannot be read at all is a result (and a problem) of its own. */
export async function inspectTargets(targets: readonly string[], sink: InspectSink): Promise<void> {
  for (const target of targets) {
    try {
      await inspectPath(target, sink);
    } catch (error) {
      const found = {
        container: target,
        kind: 'read-error' as const,
        path: '',
        detail: describeError(error),
      };
      await sink.problem(found);
      await sink.file(problemResult(target, '', found));
    }
  }
}

function verdictOf(file: InspectedFile): string {
  if (file.problem) return file.problem === 'unsafe-entry' ? 'UNSAFE' : 'UNREADABLE';
  if (file.ransomNote) return 'RANSOM NOTE';
  if (file.encrypted) return `ENCRYPTED ${file.score.toFixed(2)}`;
  if (file.judgement === 'damaged') return 'CORRUPTED';
  if (file.judgement === 'legit-encrypted') return 'encrypted by design';
  return file.entryType === 'file' ? 'intact' : file.entryType;
}

/** One result as a line of text (fixed columns, so lines can be printed as results arrive). */
export function inspectLine(file: InspectedFile): string {
  const detail = isFlagged(file) || file.judgement === 'legit-encrypted' ? `  ${file.detail}` : '';
  return `${verdictOf(file).padEnd(19)} ${file.type.padEnd(20)} ${formatBytes(file.size).padStart(10)}  ${file.path}${detail}`.trimEnd();
}

/** Lines printed after the results: the flagged ones again (the first 200), the archive-wide problems, the counts. */
export function inspectSummary(counts: {
  files: number;
  flagged: InspectedFile[];
  flaggedTotal: number;
  archiveProblems: (ArchiveProblem & { container: string })[];
}): string[] {
  const lines: string[] = [];
  if (counts.flaggedTotal) {
    lines.push('', `flagged (${counts.flaggedTotal}):`);
    for (const file of counts.flagged) lines.push(`  ${inspectLine(file)}`);
    if (counts.flaggedTotal > counts.flagged.length)
      lines.push(`  … and ${counts.flaggedTotal - counts.flagged.length} more above`);
  }
  for (const found of counts.archiveProblems)
    lines.push(`${found.kind}: ${found.container}: ${found.detail}`);
  lines.push('', `${counts.files} entr${counts.files === 1 ? 'y' : 'ies'}, ${counts.flaggedTotal} flagged`);
  return lines;
}

const FLAGGED_RECAP = 200;

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description(
      'classify files, directories or archives on disk: ransomware-encrypted, damaged or intact, with reasons and SHA-256 digests',
    )
    .argument('<paths...>', `files, directories or archives (${ARCHIVE_EXTENSIONS})`)
    .action(async (paths: string[], _options, command: Command) => {
      const json = globalOptions(command).json;
      // A path that is not there is a mistake in the command (exit 2), not a finding about a file.
      for (const target of paths) {
        try {
          await lstat(target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT')
            throw new ConfigError(`inspect: ${target}: no such file or directory`, [], { cause: error });
        }
      }
      const out = createStreamWriter(process.stdout);
      let files = 0;
      let flaggedTotal = 0;
      const flagged: InspectedFile[] = [];
      const problems: (ArchiveProblem & { container: string })[] = [];
      let problemsTotal = 0;
      if (json) await out.write('{"files":[');
      await inspectTargets(paths, {
        async file(file) {
          if (isFlagged(file)) {
            flaggedTotal++;
            if (flagged.length < FLAGGED_RECAP) flagged.push(file);
          }
          if (json) await out.write(`${files ? ',' : ''}\n${JSON.stringify(file)}`);
          else if (!isQuiet()) await out.write(`${terminalSafe(inspectLine(file))}\n`);
          files++;
        },
        problem(found) {
          problemsTotal++;
          if (problems.length < MAX_PROBLEMS) problems.push(found);
        },
      });
      if (json) {
        await out.write(
          `\n],"problems":${JSON.stringify(problems)}${problemsTotal > problems.length ? `,"problemsOmitted":${problemsTotal - problems.length}` : ''}}\n`,
        );
      } else if (!isQuiet()) {
        const archiveProblems = problems.filter((found) => found.path === '');
        for (const line of inspectSummary({ files, flagged, flaggedTotal, archiveProblems }))
          await out.write(`${terminalSafe(line)}\n`);
      }
      process.exitCode = problemsTotal || flaggedTotal ? EXIT.findings : EXIT.ok;
    });
}
