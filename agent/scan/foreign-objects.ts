/**
 * Foreign objects: files beside a set's snapshots that belong to none of them, judged for what
 * ransomware leaves in a backup store — a ransom note, an encrypted copy of a snapshot under a
 * new extension (`orders-…tar.gz.locked`), encrypted-looking bytes, one new extension on many
 * objects at once. Ordinary leftovers (logs, another set's archives under a shared prefix, a
 * README) are not findings. Pure: the scan reads the heads `headsToRead` picks and hands them in.
 */
import path from 'node:path/posix';
import { archiveExtensionOf, formatOf } from '../archives/registry.js';
import { chiSquare, looksRandom } from '../detection/byte-statistics.js';
import { extensionOf, typeClaimedBy } from '../detection/content-type.js';
import { encryptedFormatOf } from '../detection/encrypted-formats.js';
import { catalogTypeOf } from '../detection/magic-catalog.js';
import { hasRansomNoteName, isRansomNote, ransomMarkers } from '../detection/ransom-note.js';
import { SIDECAR_SUFFIXES } from '../integrity/sums-file.js';
import type { SourceObject } from '../sources/backup-source.js';
import type { Finding } from '../model/findings.js';

/** Bytes read from the start of a foreign object to judge its content. */
export const FOREIGN_HEAD_BYTES = 64 * 1024;
/** Foreign objects whose heads one scan reads at most (ransom-note names first). */
export const MAX_FOREIGN_HEADS = 32;
/** This many objects sharing an extension vouch knows no type for is a mass new extension. */
export const MASS_EXTENSION_OBJECTS = 3;
/** Example keys named in a mass-extension finding. */
const EXAMPLES = 3;

/** True when nothing about the object's name explains it: no known type, no archive, no checksum sidecar. */
function unexplainedName(key: string): boolean {
  if (archiveExtensionOf(path.basename(key))) return false;
  if (Object.keys(SIDECAR_SUFFIXES).some((suffix) => key.endsWith(suffix))) return false;
  return typeClaimedBy(key) === null;
}

/**
 * `NAME.EXT` where NAME is a supported archive's name and EXT claims no type: a snapshot archive
 * with an extension appended, as ransomware renames what it encrypted. Returns EXT, or null.
 */
export function appendedExtension(key: string): string | null {
  const name = path.basename(key);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return null;
  const stem = name.slice(0, dot);
  if (!formatOf(stem) || !unexplainedName(key)) return null;
  return name.slice(dot + 1);
}

/** The objects whose first FOREIGN_HEAD_BYTES a scan should read: ransom-note names, then unexplained names; at most MAX_FOREIGN_HEADS. */
export function headsToRead(others: readonly SourceObject[]): SourceObject[] {
  const files = others.filter((object) => object.kind === 'file' && object.size > 0);
  const notes = files.filter((object) => hasRansomNoteName(object.key));
  const unexplained = files.filter((object) => !hasRansomNoteName(object.key) && unexplainedName(object.key));
  return [...notes, ...unexplained].slice(0, MAX_FOREIGN_HEADS);
}

/** What the bytes at the start of an object say, as a reason; null when nothing suspicious. */
function contentReason(key: string, head: Uint8Array): { reason: string; strong: boolean } | null {
  const format = encryptedFormatOf(head);
  if (format && typeClaimedBy(key) !== format)
    return { reason: `its content is ${format}-encrypted`, strong: true };
  if (!unexplainedName(key) || catalogTypeOf(head)) return null;
  const histogram = new Array<number>(256).fill(0);
  for (const byte of head) histogram[byte]!++;
  if (looksRandom(chiSquare(histogram, head.length), head.length))
    return {
      reason: `its first ${head.length} bytes are indistinguishable from random (encrypted-looking, no known file type)`,
      strong: false,
    };
  return null;
}

/**
 * Findings (`foreign-object`, about the set) for `others`, the files beside the snapshots, with
 * the heads read of some of them (key → bytes). One finding per suspicious object (path: its
 * key), plus one per mass new extension (path: `*.EXT`). Order: by key, then extensions.
 */
export function judgeForeignObjects(
  others: readonly SourceObject[],
  heads: ReadonlyMap<string, Uint8Array>,
): Finding[] {
  const findings: Finding[] = [];
  for (const object of [...others].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    if (object.kind !== 'file') continue;
    const reasons: string[] = [];
    let strong = false;
    const head = heads.get(object.key);
    // A note's name alone is too common (README.txt): what it says decides, once it was read.
    const markers = head ? ransomMarkers(new TextDecoder('utf-8', { fatal: false }).decode(head)) : [];
    if (head && isRansomNote(object.key, markers)) {
      reasons.push(
        `${hasRansomNoteName(object.key) ? 'named like a ransom note and says so' : 'reads like a ransom note'} (${markers.join(', ')})`,
      );
      strong = true;
    } else if (!head && hasRansomNoteName(object.key)) {
      reasons.push(
        'named like a ransom note (not read: too many objects beside the snapshots, or unreadable)',
      );
    }
    const appended = appendedExtension(object.key);
    if (appended !== null) {
      reasons.push(`an archive's name with ".${appended}" appended, as ransomware renames what it encrypted`);
      strong = true;
    }
    const content = head ? contentReason(object.key, head) : null;
    if (content) {
      reasons.push(content.reason);
      strong ||= content.strong;
    }
    if (reasons.length === 0) continue;
    findings.push({
      kind: 'foreign-object',
      path: object.key,
      severity: strong ? 'critical' : 'warning',
      detail: `${object.key} (${object.size} bytes) beside the snapshots: ${reasons.join('; ')}`,
    });
  }
  const byExtension = new Map<string, string[]>();
  for (const object of others) {
    const extension = extensionOf(object.key);
    // Numbered extensions are rotation (app.log.1), not a marker.
    if (object.kind !== 'file' || !extension || /^\d+$/.test(extension) || !unexplainedName(object.key))
      continue;
    byExtension.set(extension, [...(byExtension.get(extension) ?? []), object.key]);
  }
  for (const [extension, keys] of [...byExtension].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (keys.length < MASS_EXTENSION_OBJECTS) continue;
    const examples = keys.slice(0, EXAMPLES).join(', ');
    findings.push({
      kind: 'foreign-object',
      path: `*.${extension}`,
      severity: 'critical',
      detail: `${keys.length} objects named *.${extension} beside the snapshots (${examples}${keys.length > EXAMPLES ? ', …' : ''}): one extension vouch knows no file type for, on many objects at once, is how ransomware marks what it encrypted`,
    });
  }
  return findings;
}
