/**
 * `vouch inspect PATH...`: look at files, directories or archives on disk without a policy — the
 * forensics helper. Lists every entry with its digest and any problem the safe readers found.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_LIMITS, type ArchiveProblem, type EntryType, type EntryVisitor } from '../archives/entry-reader.js';
import { readPlainEntries } from '../archives/plain-reader.js';
import { formatOf, readerFor } from '../archives/registry.js';
import { formatBytes } from '../config/byte-size.js';
import { describeError } from '../errors.js';
import { digestStream } from '../integrity/digest.js';
import { archiveInputFor } from '../sources/archive-input.js';
import { createFsSource } from '../sources/fs-source.js';
import { EXIT } from './exit-codes.js';
import { globalOptions } from './global-options.js';
import { printJson, printLines, table } from './output.js';

/** One inspected file or archive member. */
export interface InspectedFile {
  /** Path on disk; archive members as `archive.tar.gz!member`. */
  path: string;
  type: EntryType;
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
      const file: InspectedFile = { path: `${prefix}${entry.path}`, type: entry.type, size: entry.size };
      if (entry.linkTarget !== undefined) file.linkTarget = entry.linkTarget;
      if (body) {
        const { digest, bytes } = await digestStream(body, 'sha256');
        file.sha256 = digest;
        file.size = bytes;
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
    for await (const object of source.list()) if (object.key === key) yield { ...object, key: target };
  })();
  await readPlainEntries(objects, async () => (await source.open(key)).stream, collector(report, target, ''), DEFAULT_LIMITS);
}

/** Registers `inspect`. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('list the entries of files, directories or archives on disk with their SHA-256 digests and any problems')
    .argument('<paths...>', 'files, directories or archives (.tar, .tar.gz, .tgz, .tar.zst, .zip)')
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
      else {
        printLines(table(report.files.map((file) => [file.sha256 ?? `(${file.type}${file.linkTarget ? ` → ${file.linkTarget}` : ''})`, formatBytes(file.size), file.path])));
        for (const problem of report.problems) printLines([`${problem.kind}: ${problem.container}: ${problem.path ? `${problem.path}: ` : ''}${problem.detail}`]);
      }
      process.exitCode = report.problems.length ? EXIT.findings : EXIT.ok;
    });
}
