/**
 * The single safe-path module. Every entry name from every reader (tar, zip, loose files) passes
 * through here before anything else looks at it, so one set of rules decides what a hostile
 * name is. Restore drills rely on the same rules: a name that `normaliseEntryName` accepts and
 * `EntryNameGuard` admits can be joined under a fresh directory without leaving it.
 *
 * Decisions (the ones a reader of a finding may wonder about):
 * - Backslash is a literal character, as it is in tar and on Linux where drills restore (zip is
 *   different: its reader turns `\` into `/` first, as Windows-made zips mean it). A name is still
 *   rejected when reading `\` as a separator would make it absolute or give it a `..` part, so
 *   it is hostile under neither reading.
 * - Unicode: names are NFC-normalised. Two names that differ only in normalisation (composed
 *   and decomposed `é`) collide; the second is flagged. Names decoded with U+FFFD (invalid UTF-8)
 *   or holding unpaired surrogates are rejected: two different byte strings can decode to the
 *   same text, so they cannot be told apart.
 * - Case: names that differ only in case are distinct, as on Linux where drills restore. They are
 *   neither flagged nor tracked (tracking would double the names kept per archive for a finding
 *   no restore target needs).
 * - Links are recorded, never followed. A symlink is admitted whatever its target: absolute
 *   targets (`bin/awk -> /etc/alternatives/awk`) are in every filesystem backup, the link itself
 *   is harmless data that the manifest records, and a restore never creates it. A link is a
 *   hazard only where a restore would follow it: writing *through* a recorded symlink
 *   (`link/passwd`) is rejected, and a hardlink (restored as a copy of its target) must point at
 *   an earlier non-directory entry inside the archive.
 * - Devices, FIFOs and unknown entry types are rejected: a restore never creates them.
 */
import type { ArchiveLimits, ArchiveProblem } from './entry-reader.js';
import type { EntryType } from '../model/manifest.js';

/** The limits that apply to names. */
export type PathLimits = Pick<ArchiveLimits, 'maxPathLength' | 'maxDepth'>;

/** Outcome of `normaliseEntryName`. */
export type NormalisedName =
  | {
      ok: true;
      /** Relative, `/`-separated, NFC, no empty, `.` or `..` parts. */
      path: string;
      /** The same path before NFC; differs from `path` only for non-NFC names. */
      beforeNfc: string;
    }
  | {
      ok: false;
      reason: string;
      /** The name is the root itself (`.`, `./`): harmless for a directory entry (`tar -C dir .`). */
      root?: true;
    };

// C0 and C1 control characters and DEL: NUL truncates names in C, newlines forge log lines.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const DRIVE_LETTER = /^[A-Za-z]:/;
const MAX_SHOWN = 200;

/**
 * What a terminal must never receive from data vouch did not write (entry names, object keys,
 * store messages): C0 and C1 controls and DEL (ESC starts sequences that clear the screen or
 * rewrite lines, CR and LF forge lines), line and paragraph separators, and the bidirectional
 * overrides and isolates that reorder what is shown.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

/** `text` with every unprintable character as a `\uXXXX` escape: the one escape for human output (names in messages, every CLI printer). */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A name made safe to print inside quotes: unprintable characters, quotes and backslashes escaped, long names shortened. */
export function displayName(name: string): string {
  const escaped = escapeUnprintable(name.replace(/['\\]/g, (char) => `\\${char}`));
  return escaped.length > MAX_SHOWN ? `${escaped.slice(0, MAX_SHOWN)}…` : escaped;
}

/** `entry 'a/b'`, the way every problem detail names an entry. */
export function entryLabel(name: string): string {
  return `entry '${displayName(name)}'`;
}

function controlReason(name: string): string | null {
  const match = CONTROL.exec(name);
  if (!match) return null;
  return `name contains control character U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why the parts of a path are unsafe, or null. */
function partsReason(parts: readonly string[]): string | null {
  for (const part of parts) {
    if (part === '..') return 'path escapes the archive root';
    // Read with `\` as a separator (Windows), the same part must not climb out either.
    if (part.includes('\\') && part.split('\\').includes('..')) {
      return "path escapes the archive root when '\\' is read as a separator";
    }
  }
  return null;
}

/**
 * Turns a stored entry name into a safe relative path, or says why it cannot be one. Pure.
 * Accepts `a/b`, `./a//b/`, `a/./b`; rejects absolute paths (`/x`, `\x`), `..` parts, drive
 * letters (`C:`), control characters (NUL included), invalid UTF-8, empty names, and paths over
 * the length or depth limit.
 */
export function normaliseEntryName(raw: string, limits: PathLimits): NormalisedName {
  if (raw === '') return { ok: false, reason: 'name is empty' };
  const control = controlReason(raw);
  if (control) return { ok: false, reason: control };
  if (raw.includes('\ufffd') || LONE_SURROGATE.test(raw)) {
    return { ok: false, reason: 'name is not valid UTF-8 (it decodes with replacement characters)' };
  }
  if (raw.startsWith('/') || raw.startsWith('\\')) return { ok: false, reason: 'path is absolute' };

  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0) return { ok: false, reason: 'name has no path components', root: true };
  if (DRIVE_LETTER.test(parts[0]!)) return { ok: false, reason: 'path starts with a Windows drive letter' };
  const escape = partsReason(parts);
  if (escape) return { ok: false, reason: escape };

  const beforeNfc = parts.join('/');
  const path = beforeNfc.normalize('NFC');
  if (path !== beforeNfc) {
    // NFC cannot make '/', '.' or controls today; check anyway so what is returned is what was checked.
    const nfcParts = path.split('/');
    if (
      nfcParts.some((part) => part === '' || part === '.') ||
      partsReason(nfcParts) ||
      controlReason(path)
    ) {
      return { ok: false, reason: 'name changes meaning under Unicode normalisation' };
    }
  }
  if (path.length > limits.maxPathLength) {
    return {
      ok: false,
      reason: `path is ${path.length} characters long; the limit is ${limits.maxPathLength}`,
    };
  }
  if (parts.length > limits.maxDepth) {
    return { ok: false, reason: `path has ${parts.length} components; the limit is ${limits.maxDepth}` };
  }
  return { ok: true, path, beforeNfc };
}

/** What `EntryNameGuard.admit` decided. */
export type Admission =
  | {
      ok: true;
      path: string;
    }
  | {
      ok: false;
      /** Null for the root directory's own entry (`./` in `tar -C dir .`): skipped, not a problem. */
      problem: ArchiveProblem | null;
    };

// What the guard remembers per path: enough to spot duplicates and writes through links.
const IMPLICIT_DIRECTORY = 0;
const DIRECTORY = 1;
const NON_DIRECTORY = 2;
const SYMLINK = 3;
type Seen = typeof IMPLICIT_DIRECTORY | typeof DIRECTORY | typeof NON_DIRECTORY | typeof SYMLINK;

const NEVER_RESTORED: Partial<Record<EntryType, string>> = {
  device: 'device entries are never restored',
  fifo: 'FIFO entries are never restored',
  other: 'entries of this type are not supported and never restored',
};

/** Non-NFC spellings remembered (for the twin-or-duplicate wording only); past it, twins read as duplicates. */
const MAX_SPELLINGS = 100_000;

/**
 * What the guard has seen, by path, kept as 64-bit fingerprints in an open-addressing table:
 * about 20 bytes per path whatever its length, so a snapshot of millions of entries does not
 * hold their names. Two hashes with per-process random seeds make a false match (read as a
 * duplicate) vanishingly rare and impossible to aim at.
 */
class PathFingerprints {
  private static readonly seeds = [
    Math.floor(Math.random() * 2 ** 32) >>> 0,
    Math.floor(Math.random() * 2 ** 32) >>> 0,
  ];
  private high = new Uint32Array(1024);
  private low = new Uint32Array(1024);
  /** 0: empty slot; otherwise the Seen value + 1. */
  private kinds = new Uint8Array(1024);
  private count = 0;

  get(path: string): Seen | undefined {
    const [high, low] = PathFingerprints.hash(path);
    const slot = this.find(high, low);
    const kind = this.kinds[slot]!;
    return kind === 0 ? undefined : ((kind - 1) as Seen);
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  set(path: string, seen: Seen): void {
    if ((this.count + 1) * 2 > this.kinds.length) this.grow();
    const [high, low] = PathFingerprints.hash(path);
    const slot = this.find(high, low);
    if (this.kinds[slot] === 0) this.count++;
    this.high[slot] = high;
    this.low[slot] = low;
    this.kinds[slot] = seen + 1;
  }

  /** The slot holding this fingerprint, or the empty slot where it would go (linear probing). */
  private find(high: number, low: number): number {
    const mask = this.kinds.length - 1;
    for (let slot = (low ^ high) & mask; ; slot = (slot + 1) & mask) {
      if (this.kinds[slot] === 0 || (this.high[slot] === high && this.low[slot] === low)) return slot;
    }
  }

  private grow(): void {
    const { high, low, kinds } = this;
    this.high = new Uint32Array(kinds.length * 2);
    this.low = new Uint32Array(kinds.length * 2);
    this.kinds = new Uint8Array(kinds.length * 2);
    for (let slot = 0; slot < kinds.length; slot++) {
      if (kinds[slot] === 0) continue;
      const target = this.find(high[slot]!, low[slot]!);
      this.high[target] = high[slot]!;
      this.low[target] = low[slot]!;
      this.kinds[target] = kinds[slot]!;
    }
  }

  /** Two independent 32-bit hashes (multiply-xorshift over the UTF-16 code units). */
  private static hash(text: string): [number, number] {
    let a = PathFingerprints.seeds[0]! ^ text.length;
    let b = PathFingerprints.seeds[1]! ^ Math.imul(text.length, 0x9e3779b1);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      a = Math.imul(a ^ code, 0x85ebca6b);
      a ^= a >>> 13;
      b = Math.imul(b ^ code, 0xc2b2ae35);
      b ^= b >>> 16;
    }
    a = Math.imul(a ^ (a >>> 16), 0x7feb352d);
    b = Math.imul(b ^ (b >>> 15), 0x846ca68b);
    return [(a ^ (a >>> 15)) >>> 0, (b ^ (b >>> 13)) >>> 0];
  }
}

/**
 * Admits entries of one archive or snapshot, in order. Remembers each name and implied parent
 * directory as a fingerprint (about 20 bytes each, nothing per byte). One guard per archive.
 */
export class EntryNameGuard {
  private readonly seen = new PathFingerprints();
  /** Pre-NFC spelling of the (rare) names that were not NFC, to tell twins from duplicates. */
  private readonly spelling = new Map<string, string>();
  /**
   * The parent directory of the last admitted entry: its ancestors were all checked and remembered
   * as directories then, and a path remembered as a directory never becomes anything else (an
   * entry that would make it one is refused), so a sibling needs neither again — most entries of
   * a listing or an archive follow a sibling.
   */
  private lastParent: string | null = null;

  constructor(private readonly limits: PathLimits) {}

  /**
   * Normalises `rawName` and decides whether an entry of `type` may go to the visitor. An
   * admitted entry is remembered; a refused one is not (so it cannot shadow later entries). The
   * root directory's own entry is refused without a problem: there is nothing to restore.
   */
  admit(rawName: string, type: EntryType, linkTarget?: string): Admission {
    const name = normaliseEntryName(rawName, this.limits);
    if (!name.ok) {
      if (name.root && type === 'directory') return { ok: false, problem: null };
      return refuse(rawName, `${entryLabel(rawName)}: ${name.reason}`);
    }
    const { path, beforeNfc } = name;
    const shown = entryLabel(path);

    const never = NEVER_RESTORED[type];
    if (never) return refuse(path, `${shown}: ${never}`);

    const previous = this.seen.get(path);
    if (previous !== undefined) {
      if (previous === IMPLICIT_DIRECTORY && type !== 'directory') {
        return refuse(path, `${shown}: earlier entries use this path as a directory`);
      }
      if (previous !== IMPLICIT_DIRECTORY) {
        const earlier = this.spelling.get(path) ?? path;
        return refuse(
          path,
          earlier === beforeNfc
            ? `${shown}: duplicate of an earlier entry`
            : `${shown}: collides with an earlier entry whose name differs only in Unicode normalisation`,
        );
      }
    }

    const parent = path.slice(0, Math.max(0, path.lastIndexOf('/')));
    const sibling = parent === this.lastParent;
    if (!sibling) {
      const parentProblem = this.parentProblem(path);
      if (parentProblem) return refuse(path, `${shown}: ${parentProblem}`);
    }

    if (type === 'hardlink') {
      const targetProblem = this.hardlinkProblem(linkTarget);
      if (targetProblem) return refuse(path, `${shown}: ${targetProblem}`);
    }

    this.remember(path, beforeNfc, type, sibling);
    this.lastParent = parent;
    return { ok: true, path };
  }

  private parentProblem(path: string): string | null {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const parent = path.slice(0, slash);
      const seen = this.seen.get(parent);
      if (seen === SYMLINK)
        return `parent '${displayName(parent)}' is a symlink; the entry would be written through it`;
      if (seen === NON_DIRECTORY) return `parent '${displayName(parent)}' is not a directory`;
    }
    return null;
  }

  private hardlinkProblem(linkTarget: string | undefined): string | null {
    if (linkTarget === undefined || linkTarget === '') return 'hardlink has no target';
    const target = normaliseEntryName(linkTarget, this.limits);
    if (!target.ok) return `hardlink target '${displayName(linkTarget)}': ${target.reason}`;
    const seen = this.seen.get(target.path);
    if (seen === undefined)
      return `hardlink target '${displayName(linkTarget)}' is not an earlier entry of the archive`;
    if (seen === DIRECTORY || seen === IMPLICIT_DIRECTORY)
      return `hardlink target '${displayName(linkTarget)}' is a directory`;
    return null;
  }

  /** Remembers an admitted entry and, unless they are known already (`parentsKnown`), its parents. */
  private remember(path: string, beforeNfc: string, type: EntryType, parentsKnown: boolean): void {
    if (!parentsKnown)
      for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
        const parent = path.slice(0, slash);
        if (!this.seen.has(parent)) this.seen.set(parent, IMPLICIT_DIRECTORY);
      }
    this.seen.set(path, type === 'directory' ? DIRECTORY : type === 'symlink' ? SYMLINK : NON_DIRECTORY);
    if (beforeNfc !== path && this.spelling.size < MAX_SPELLINGS) this.spelling.set(path, beforeNfc);
  }
}

function refuse(path: string, detail: string): Admission {
  return { ok: false, problem: { kind: 'unsafe-entry', path, detail } };
}
