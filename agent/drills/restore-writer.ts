/**
 * Writes the entries an entry reader admits into a drill's fresh restore directory, hashing every
 * byte as it is written (one pass: see EntryAnalysis `copyTo`).
 *
 * Safety rests on the safe-path module (names are normalised, relative, free of `..`, never
 * reached through a link, never duplicated) plus rules of its own:
 * - files and directories only: symlinks are recorded, never created; a hardlink becomes a copy
 *   of the file it names, once that file was restored here; devices and FIFOs never get this far;
 * - every file is created exclusively (O_EXCL) and opened without following links;
 * - modes are 0755 or 0644 (0755 only when the archive marked the file executable); the archive's
 *   owners are ignored (everything belongs to vouch, or to the sandbox user when vouch is root);
 * - each path is checked to lie under the restore root before it is touched.
 * Sampling: entries the drill does not select are read past (or not read at all, where the format
 * allows) and only counted.
 */
import {
  chownSync,
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  mkdirSync,
  openSync,
} from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ArchiveEntry, ArchiveProblem, EntryVisitor } from '../archives/entry-reader.js';
import { entryLabel, normaliseEntryName } from '../archives/safe-path.js';
import type { DigestAlgorithm } from '../model/manifest.js';
import { analyzeStream } from '../analysis/analyze-stream.js';

/** One entry as the restore left it. */
export interface RestoredEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  size: number;
  /** Digest of the bytes written (files, and hardlinks materialised as copies). */
  digest?: string;
  linkTarget?: string;
  /** Hardlinks: true when written as a copy of their target. */
  materialised?: boolean;
}

/** Options of a RestoreWriter. */
export interface RestoreWriterOptions {
  /** The restore directory: exists, is empty, belongs to this drill. */
  root: string;
  algorithm: DigestAlgorithm;
  /** Whether an entry is part of this drill's sample. */
  select: (path: string) => boolean;
  /** Called with content bytes as they are restored. */
  progress?: (bytes: number) => void;
  /** Stops writing (each later entry fails at once). */
  signal?: AbortSignal;
  /** Give every file and directory to this user (the sandbox user, when vouch runs as root). */
  owner?: { uid: number; gid: number };
}

/** Problems kept in full; the rest are counted. */
const MAX_KEPT_PROBLEMS = 200;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** An EntryVisitor that restores into `options.root`. */
export class RestoreWriter implements EntryVisitor {
  /** Restored (and recorded) entries by path. */
  readonly entries = new Map<string, RestoredEntry>();
  /** Every admitted entry, restored or not: what a full restore would have written. */
  readonly seen = { entries: 0, bytes: 0 };
  /** What this drill restored. */
  readonly restored = { entries: 0, bytes: 0 };
  readonly problems: ArchiveProblem[] = [];
  problemCount = 0;
  private readonly root: string;
  private readonly directories = new Set<string>();

  constructor(private readonly options: RestoreWriterOptions) {
    this.root = path.resolve(options.root);
  }

  problem(problem: ArchiveProblem): void {
    this.problemCount++;
    if (this.problems.length < MAX_KEPT_PROBLEMS) this.problems.push(problem);
  }

  async entry(entry: ArchiveEntry, body: Readable | null): Promise<void> {
    this.seen.entries++;
    this.seen.bytes += entry.size;
    const selected = this.options.select(entry.path);
    if (!selected || this.options.signal?.aborted) {
      body?.destroy();
      if (this.options.signal?.aborted) throw new Error('drill aborted');
      return;
    }
    const target = this.targetOf(entry.path);
    switch (entry.type) {
      case 'directory':
        this.makeDirectory(target);
        this.record({ path: entry.path, type: 'directory', size: 0 });
        return;
      case 'symlink':
        this.record({
          path: entry.path,
          type: 'symlink',
          size: 0,
          ...(entry.linkTarget !== undefined ? { linkTarget: entry.linkTarget } : {}),
        });
        return;
      case 'hardlink':
        this.restoreHardlink(entry, target);
        return;
      case 'file':
        await this.restoreFile(entry, target, body);
        return;
      default:
        // The safe-path module never admits other types; refuse anyway rather than guess.
        body?.destroy();
        throw new Error(`${entry.type} entries are never restored`);
    }
  }

  private record(restored: RestoredEntry): void {
    this.entries.set(restored.path, restored);
    this.restored.entries++;
    this.restored.bytes += restored.size;
  }

  /** The host path of a normalised entry path, checked to lie under the root. */
  private targetOf(entryPath: string): string {
    const target = path.resolve(this.root, entryPath);
    if (!target.startsWith(`${this.root}${path.sep}`))
      throw new Error(`${entryLabel(entryPath)} resolves outside the restore directory`);
    return target;
  }

  /** Creates `dir` and any missing parents (0755). Parents are directories this writer made: no links exist here. */
  private makeDirectory(dir: string): void {
    if (dir === this.root || this.directories.has(dir)) return;
    this.makeDirectory(path.dirname(dir));
    try {
      mkdirSync(dir, { mode: 0o755 });
      if (this.options.owner) chownSync(dir, this.options.owner.uid, this.options.owner.gid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    this.directories.add(dir);
  }

  /** Creates an empty file exclusively with its masked mode. */
  private createFile(target: string, executable: boolean): void {
    this.makeDirectory(path.dirname(target));
    const mode = executable ? 0o755 : 0o644;
    const fd = openSync(target, CREATE_FLAGS, mode);
    try {
      fchmodSync(fd, mode); // exact, whatever the umask
      if (this.options.owner) fchownSync(fd, this.options.owner.uid, this.options.owner.gid);
    } finally {
      closeSync(fd);
    }
  }

  private async restoreFile(entry: ArchiveEntry, target: string, body: Readable | null): Promise<void> {
    this.createFile(target, ((entry.mode ?? 0) & 0o111) !== 0);
    if (!body) {
      this.record({ path: entry.path, type: 'file', size: 0 });
      return;
    }
    const sinks = this.options.progress
      ? [{ update: (chunk: Uint8Array) => this.options.progress!(chunk.length) }]
      : [];
    const result = await analyzeStream(
      body,
      {
        algorithm: this.options.algorithm,
        extraAlgorithms: [],
        copyTo: { path: target, ...(entry.mtime ? { mtimeMs: entry.mtime.getTime() } : {}) },
      },
      { sizeHint: entry.size, sinks },
    );
    this.record({ path: entry.path, type: 'file', size: result.bytes, digest: result.digest });
  }

  private restoreHardlink(entry: ArchiveEntry, target: string): void {
    const linkTarget = entry.linkTarget ?? '';
    const named = normaliseEntryName(linkTarget, {
      maxPathLength: Number.MAX_SAFE_INTEGER,
      maxDepth: Number.MAX_SAFE_INTEGER,
    });
    const source = named.ok ? this.entries.get(named.path) : undefined;
    if (!source || source.type !== 'file' || source.digest === undefined) {
      // Its target is not part of this sample: recorded, as a link would be.
      this.record({ path: entry.path, type: 'hardlink', size: 0, linkTarget, materialised: false });
      return;
    }
    this.makeDirectory(path.dirname(target));
    copyFileSync(this.targetOf(source.path), target, constants.COPYFILE_EXCL);
    if (this.options.owner) chownSync(target, this.options.owner.uid, this.options.owner.gid);
    this.record({
      path: entry.path,
      type: 'hardlink',
      size: source.size,
      digest: source.digest,
      linkTarget,
      materialised: true,
    });
  }
}
