/**
 * Detection across one snapshot: judges each entry against the same path in the previous
 * snapshot as the scan streams it, then — once every entry is seen — looks at the snapshot as a
 * whole: files renamed with a new extension (paired with the files that disappeared, so a
 * renamed file is judged against what it was), mass renames to one extension, ransom notes, and
 * a change rate far above the set's own history.
 *
 * Memory: the previous snapshot's entries (a map the caller loaded) plus a compact record of the
 * entries that are new at their path; decisions are the pure functions in classify.ts and below.
 * A scan of a very large snapshot streams the previous snapshot instead of handing over a map
 * (`previous: 'streamed'`): it passes each entry's previous version to `judge` and the files that
 * disappeared to `finish`, and detection keeps no per-path state beyond the pending renames.
 */
import picomatch from 'picomatch';
import type { DetectionPolicy } from '../config/resolve-policy.js';
import type { ContentSummary } from '../model/content.js';
import type { ManifestEntry } from '../model/manifest.js';
import type { Finding } from '../model/findings.js';
import { classify, classifyArchiveEncrypted, type Classification, type PreviousContent } from './classify.js';
import type { ContentFeatures } from './content-probe.js';
import { extensionOf, typeClaimedBy, type ContentType } from './content-type.js';
import { isRansomNote } from './ransom-note.js';
import type { DetectionSummary } from '../model/detection.js';

/** One file entry as detection sees it. */
export interface DetectedEntry {
  path: string;
  size: number;
  digest?: string;
  features: ContentFeatures;
}

/** The previous snapshot's files that are not in this one, as a streaming caller found them. */
export interface GoneFiles {
  /** The files (or the first of them, when there are very many), in any order. */
  files: Iterable<ManifestEntry>;
  /** How many there are in all. */
  count: number;
  /** Entries the previous snapshot had in all (any type). */
  previousEntries: number;
}

/** Options of SnapshotDetection. */
export interface SnapshotDetectionOptions {
  /** New-at-path entries kept for rename pairing (each holds its content features, ~1 KB). */
  maxPending?: number;
}

/** A new entry kept for rename pairing (everything classify needs, nothing more). */
interface Pending {
  entry: DetectedEntry;
  classification: Classification;
}

/** Renames are paired when the new size is within this of the old (footers, padding). */
const RENAME_SIZE_SLACK = 1024 * 1024;
/** A container paired by rename may hold its predecessor compressed to this share of its size… */
const CONTAINER_MIN_SHARE = 0.02;
/** …or add up to this much (a LUKS2 header is 16 MiB). */
const CONTAINER_SIZE_SLACK = 32 * 1024 * 1024;
/** New entries kept for pairing; past it renames are not looked for (bounded memory). */
const MAX_PENDING = 200_000;
/** Mass rename: at least this many files renamed to one extension… */
const MASS_RENAME_FILES = 10;

/** Findings for one classified entry. */
export function entryFindings(path: string, classification: Classification, size = 0): Finding[] {
  const reasons = classification.reasons.length ? ` [${classification.reasons.join(', ')}]` : '';
  if (classification.judgement === 'encrypted') {
    return [
      {
        kind: 'encrypted',
        path,
        severity: classification.strength === 'strong' ? 'critical' : 'warning',
        detail: `${classification.detail}${reasons}`,
      },
    ];
  }
  if (classification.judgement === 'damaged') {
    // Damage is not encryption: its own kind, critical when most of the file is unreadable.
    const severity = size > 0 && (classification.unreadableBytes ?? 0) >= size / 2 ? 'critical' : 'warning';
    return [{ kind: 'corrupted', path, severity, detail: `${classification.detail}${reasons}` }];
  }
  return [];
}

/** The path without its last extension: what a replaced-extension rename keeps. */
function stemOf(path: string): string | null {
  const ext = extensionOf(path);
  return ext ? path.slice(0, -(ext.length + 1)) : null;
}

/** Missing entries by stem, for `renameSource` over many missing files (instead of a scan of all of them). */
export function stemIndex(missing: ReadonlyMap<string, ManifestEntry>): Map<string, ManifestEntry[]> {
  const stems = new Map<string, ManifestEntry[]>();
  for (const [path, entry] of missing) {
    const stem = stemOf(path);
    if (stem === null) continue;
    const list = stems.get(stem);
    if (list) list.push(entry);
    else stems.set(stem, [entry]);
  }
  return stems;
}

/**
 * The missing entry a new entry was renamed from, if any: `x.pdf` → `x.pdf.locked` or `x.locked`.
 * `stems` (from `stemIndex(missing)`, kept in step with deletions from `missing` or not) makes the
 * replaced-extension search a lookup instead of a scan.
 */
export function renameSource(
  path: string,
  size: number,
  missing: ReadonlyMap<string, ManifestEntry>,
  stems?: ReadonlyMap<string, readonly ManifestEntry[]>,
  container = false,
): ManifestEntry | null {
  // Containers compress what they hold (7-Zip, zip) or add a volume header (LUKS2: 16 MiB).
  const fits = container
    ? (before: ManifestEntry) =>
        before.type === 'file' &&
        size >= before.size * CONTAINER_MIN_SHARE &&
        size <= before.size + CONTAINER_SIZE_SLACK
    : (before: ManifestEntry) =>
        before.type === 'file' && size >= before.size * 0.9 && size <= before.size + RENAME_SIZE_SLACK;
  // Appended extension(s): strip one at a time.
  for (
    let candidate = path, dot = candidate.lastIndexOf('.');
    dot > candidate.lastIndexOf('/');
    dot = candidate.lastIndexOf('.')
  ) {
    candidate = candidate.slice(0, dot);
    const before = missing.get(candidate);
    if (before && fits(before)) return before;
  }
  // Replaced extension: same directory and stem.
  const ext = extensionOf(path);
  if (ext && stems) {
    for (const before of stems.get(path.slice(0, -(ext.length + 1))) ?? []) {
      if (missing.has(before.path) && extensionOf(before.path) !== ext && fits(before)) return before;
    }
  } else if (ext) {
    const stem = path.slice(0, -(ext.length + 1));
    for (const [oldPath, before] of missing) {
      const oldExt = extensionOf(oldPath);
      if (oldExt && oldExt !== ext && oldPath.slice(0, -(oldExt.length + 1)) === stem && fits(before))
        return before;
    }
  }
  return null;
}

/** The mass-change finding for a snapshot, or null. Pure. */
export function massChangeFinding(
  summary: Pick<DetectionSummary, 'changed' | 'changeRate'>,
  history: readonly number[],
  policy: DetectionPolicy['massChange'],
): Finding | null {
  const { changed, changeRate } = summary;
  if (changeRate === null || changed < policy.minFiles || changeRate < policy.floor) return null;
  const sorted = [...history].sort((a, b) => a - b);
  const median = sorted.length >= 3 ? sorted[Math.floor(sorted.length / 2)]! : null;
  // With too little history to know the set's normal rate, only a majority change counts.
  if (median === null ? changeRate < 0.5 : changeRate < policy.factor * median) return null;
  const baseline = median === null ? 'no history yet' : `the set's median is ${(median * 100).toFixed(1)} %`;
  return {
    kind: 'mass-change',
    path: '',
    severity: 'warning',
    detail: `${changed} files changed, appeared or disappeared since the previous snapshot (${(changeRate * 100).toFixed(1)} %; ${baseline})`,
  };
}

/** Detection state for one snapshot scan. */
export class SnapshotDetection {
  private readonly allowed: (path: string) => boolean;
  private readonly seen = new Set<string>();
  private readonly pending = new Map<string, Pending>();
  /** The previous snapshot as a map (looked up here), or null when streamed or absent. */
  private readonly previousMap: ReadonlyMap<string, ManifestEntry> | null;
  /** Whether there is a previous snapshot (as a map or streamed by the caller). */
  private readonly hasPrevious: boolean;
  private readonly maxPending: number;
  private readonly summary: DetectionSummary = {
    files: 0,
    encryptedStrong: 0,
    encryptedWeak: 0,
    ransomNotes: 0,
    renamed: 0,
    changed: 0,
    changeRate: null,
  };

  /**
   * `previous` holds the previous snapshot's entries by path, or `'streamed'` when the caller
   * streams it (null when there is none); `history` the set's change rates of earlier snapshots.
   */
  constructor(
    private readonly policy: DetectionPolicy,
    previous: ReadonlyMap<string, ManifestEntry> | 'streamed' | null,
    private readonly history: readonly number[] = [],
    options: SnapshotDetectionOptions = {},
  ) {
    const matchers = policy.allow.map((glob) => picomatch(glob, { dot: true }));
    this.allowed = (path) => matchers.some((matches) => matches(path));
    this.previousMap = previous === 'streamed' ? null : previous;
    this.hasPrevious = previous !== null;
    this.maxPending = options.maxPending ?? MAX_PENDING;
  }

  /**
   * Judges one file as it is read: returns its classification (stored in the manifest) and its
   * findings. A new path's judgement may still change when a rename is found (see `finish`).
   * A streaming caller passes the previous snapshot's entry at this path (null: none).
   */
  judge(
    entry: DetectedEntry,
    previousEntry?: ManifestEntry | null,
  ): { classification: Classification; findings: Finding[] } {
    if (this.previousMap) this.seen.add(entry.path);
    this.summary.files++;
    const before = this.previousMap ? this.previousMap.get(entry.path) : (previousEntry ?? undefined);
    const hasPrevious = this.hasPrevious;
    const classification = classify({
      path: entry.path,
      features: entry.features,
      ...(entry.digest !== undefined ? { digest: entry.digest } : {}),
      previous: before ? previousContent(before) : null,
      allowed: this.allowed(entry.path),
    });
    if (hasPrevious) {
      if (!before) {
        this.summary.changed++;
        if (this.pending.size < this.maxPending) this.pending.set(entry.path, { entry, classification });
      } else if (before.digest !== entry.digest || before.size !== entry.size) {
        this.summary.changed++;
      }
    }
    const findings = this.ransomNote(entry.path, entry.features.ransomMarkers);
    // New paths are reported in finish(), once it is known whether they are renames.
    if (!hasPrevious || before || !this.pending.has(entry.path)) {
      this.count(classification);
      findings.push(...entryFindings(entry.path, classification, entry.size));
    }
    return { classification, findings };
  }

  /**
   * Judges a file whose bytes are the same as an entry already judged `intact` by this detection
   * (scan/carry-over.ts decides when): it keeps that judgement, `kept`, without its features being
   * measured again. Counted like `judge`; a kept ransom note is still reported. The caller never
   * passes an entry new at its path while a previous snapshot exists (it may be a rename).
   */
  judgeUnchanged(
    entry: { path: string; size: number; digest: string },
    kept: ContentSummary,
    previousEntry?: ManifestEntry | null,
  ): { classification: Classification; findings: Finding[] } {
    if (this.previousMap) this.seen.add(entry.path);
    this.summary.files++;
    this.summary.kept = (this.summary.kept ?? 0) + 1;
    const before = this.previousMap ? this.previousMap.get(entry.path) : (previousEntry ?? undefined);
    if (this.hasPrevious && (!before || before.digest !== entry.digest || before.size !== entry.size))
      this.summary.changed++;
    const classification: Classification = {
      encrypted: false,
      strength: kept.strength,
      score: 0,
      type: kept.type as ContentType,
      judgement: 'intact',
      reasons: ['unchanged-since-judged'],
      detail: 'the same bytes as an entry already judged intact',
      summary: kept,
    };
    return { classification, findings: this.ransomNote(entry.path, kept.markers ?? []) };
  }

  /**
   * The ransom-note finding for a file with these markers, if it is one. A note that persists from
   * the previous snapshot still marks an unrecovered hit; a document that only looks like one is
   * silenced with `detection.allow`.
   */
  private ransomNote(path: string, markers: readonly string[]): Finding[] {
    if (this.allowed(path) || !isRansomNote(path, markers)) return [];
    this.summary.ransomNotes++;
    return [
      { kind: 'ransom-note', path, severity: 'critical', detail: `ransom note (${markers.join(', ')})` },
    ];
  }

  /**
   * Judges a file its archive stores encrypted (a password-protected zip member), whose bytes
   * vouch cannot read: by its history alone (see classifyArchiveEncrypted). Such a file is never
   * paired as a rename. A streaming caller passes the previous snapshot's entry at this path.
   */
  judgeArchiveEncrypted(
    entry: { path: string; size: number; digest?: string },
    previousEntry?: ManifestEntry | null,
  ): { classification: Classification; findings: Finding[] } {
    if (this.previousMap) this.seen.add(entry.path);
    this.summary.files++;
    this.summary.archiveEncrypted = (this.summary.archiveEncrypted ?? 0) + 1;
    const before = this.previousMap ? this.previousMap.get(entry.path) : (previousEntry ?? undefined);
    if (this.hasPrevious && (!before || before.digest !== entry.digest || before.size !== entry.size))
      this.summary.changed++;
    const classification = classifyArchiveEncrypted(
      entry.path,
      before ? previousContent(before) : null,
      this.allowed(entry.path),
    );
    this.count(classification);
    return { classification, findings: entryFindings(entry.path, classification, entry.size) };
  }

  /** True when the policy allows encrypted content at `path` (`detection.allow`). */
  allows(path: string): boolean {
    return this.allowed(path);
  }

  /** True when `path` was new at its path and its findings wait for `finish()` (renames). */
  isPending(path: string): boolean {
    return this.pending.has(path);
  }

  /**
   * Snapshot-level findings once every entry was judged, and the counts for the verdict. A
   * streaming caller passes the previous snapshot's files that are gone (`gone`).
   */
  finish(
    complete: boolean,
    gone?: GoneFiles,
  ): { findings: Finding[]; summary: DetectionSummary; reclassified: Map<string, Classification> } {
    const findings: Finding[] = [];
    const reclassified = new Map<string, Classification>();
    if (this.hasPrevious) {
      const missing = new Map<string, ManifestEntry>();
      if (this.previousMap) {
        for (const [path, entry] of this.previousMap)
          if (!this.seen.has(path) && entry.type === 'file') missing.set(path, entry);
      } else {
        for (const entry of gone?.files ?? []) if (entry.type === 'file') missing.set(entry.path, entry);
      }
      // Gone files beyond those handed over are counted, never paired.
      const unheld = this.previousMap ? 0 : Math.max(0, (gone?.count ?? 0) - missing.size);
      const stems = stemIndex(missing);
      const renamedTo = new Map<string, number>();
      for (const [path, { entry, classification }] of this.pending) {
        const source = renameSource(
          path,
          entry.size,
          missing,
          stems,
          classification.summary.container !== undefined,
        );
        let final = classification;
        if (source) {
          missing.delete(source.path);
          this.summary.renamed++;
          final = classify({
            path,
            features: entry.features,
            ...(entry.digest !== undefined ? { digest: entry.digest } : {}),
            previous: previousContent(source),
            allowed: this.allowed(path),
          });
          reclassified.set(path, final);
          // `app.log.1` → `app.log.1.gz` whose bytes are a valid gzip (logrotate, `xz file`) is
          // explained by its new name; a rename to a name that promises nothing the bytes prove
          // (`.akira`, `.locked`, or `.gpg`) is what ransomware does, and is reported.
          // A path the policy allows to hold encryption was encrypted on purpose: renamed to say so.
          if (!renameExplained(path, final) && !this.allowed(path)) {
            const ext = extensionOf(path) || '(none)';
            renamedTo.set(ext, (renamedTo.get(ext) ?? 0) + 1);
            findings.push({
              kind: 'extension-change',
              path,
              severity: 'warning',
              detail: `renamed from ${source.path}`,
            });
          }
        }
        this.count(final);
        findings.push(...entryFindings(path, final, entry.size));
      }
      // Only a complete read knows which files are really gone.
      if (complete) this.summary.changed += missing.size + unheld;
      const total = Math.max(
        this.previousMap ? this.previousMap.size : (gone?.previousEntries ?? 0),
        this.summary.files,
      );
      this.summary.changeRate = complete && total > 0 ? Math.min(1, this.summary.changed / total) : null;
      const renames = [...renamedTo].sort((a, b) => b[1] - a[1])[0];
      if (renames && renames[1] >= MASS_RENAME_FILES && renames[1] >= this.summary.renamed / 2) {
        findings.push({
          kind: 'mass-change',
          path: '',
          severity: 'warning',
          detail: `${renames[1]} files renamed to *.${renames[0]}`,
        });
      }
      const mass = massChangeFinding(this.summary, this.history, this.policy.massChange);
      if (mass) findings.push(mass);
    }
    const sealed = this.sealedArchiveFinding();
    if (sealed) findings.push(sealed);
    return { findings, summary: { ...this.summary }, reclassified };
  }

  /**
   * With no earlier snapshot to compare with, an archive whose every file is password-protected
   * hides its whole content: what ransomware re-packing a backup with `zip -P` leaves, and what a
   * set encrypted on purpose looks like too. Suspicious (one weak finding), unless the policy says
   * the set's archives are encrypted on purpose (`detection.expectEncryptedArchives`).
   */
  private sealedArchiveFinding(): Finding | null {
    const sealed = this.summary.archiveEncrypted ?? 0;
    if (
      this.hasPrevious ||
      sealed === 0 ||
      sealed < this.summary.files ||
      this.policy.expectEncryptedArchives
    )
      return null;
    this.summary.encryptedWeak++;
    return {
      kind: 'encrypted',
      path: '',
      severity: 'warning',
      detail: `all ${sealed} files are password-protected by the archive itself and no earlier snapshot shows what they were: content vouch cannot read, as ransomware that re-packs a backup with a password leaves it (set detection.expectEncryptedArchives when the set is encrypted on purpose)`,
    };
  }

  private count(classification: Classification): void {
    if (classification.judgement !== 'encrypted') return;
    if (classification.strength === 'strong') this.summary.encryptedStrong++;
    else this.summary.encryptedWeak++;
  }
}

/** What classify needs of a previous manifest entry. */
export function previousContent(entry: ManifestEntry): PreviousContent {
  return {
    path: entry.path,
    size: entry.size,
    ...(entry.digest ? { digest: entry.digest } : {}),
    ...(entry.content ? { content: entry.content } : {}),
  };
}

/** A rename is explained when the new name's own extension claims a format the bytes prove: valid structure, not encrypted. */
function renameExplained(path: string, classification: Classification): boolean {
  return (
    !classification.encrypted &&
    classification.summary.structure === 'valid' &&
    typeClaimedBy(path) === classification.type
  );
}
