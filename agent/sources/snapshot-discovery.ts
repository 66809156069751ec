/**
 * Snapshot discovery: turns a set's object listing into snapshots, per the policy's layout.
 * Pure: give it the listing, get snapshots in time order plus what was skipped and why.
 */
import path from 'node:path/posix';
import type { ArchiveFormat } from '../archives/entry-reader.js';
import { formatOf } from '../archives/registry.js';
import type { DigestAlgorithm } from '../config/resolve-policy.js';
import { SIDECAR_SUFFIXES, SUMS_FILES } from '../integrity/sums-file.js';
import type { SourceObject } from './backup-source.js';
import { parseSnapshotTime } from './snapshot-time.js';

/** A checksum list that vouches for a snapshot's object or entries. */
export interface SumsReference {
  key: string;
  algorithm: DigestAlgorithm;
  /** `object`: lists the archive itself; `entries`: lists files inside a directory snapshot. */
  scope: 'object' | 'entries';
}

/** One snapshot of a set. */
export interface Snapshot {
  /** Stable id: archive key without its archive extension, or the directory name. */
  id: string;
  time: Date;
  /** Where the time came from. */
  timeSource: 'name' | 'mtime';
  layout: 'archive' | 'directory';
  /** The archive object (archive layout). */
  object?: SourceObject;
  format?: Exclude<ArchiveFormat, 'plain'>;
  /** Directory layout: the prefix (`name/`) and its objects, keys relative to the set root. */
  prefix?: string;
  members?: SourceObject[];
  sums: SumsReference[];
}

/** What discovery found. */
export interface Discovery {
  snapshots: Snapshot[];
  /** Human-readable notes about objects that were skipped or times that could not be read. */
  notes: string[];
}

/** The layout part of a set policy. */
export interface DiscoveryRules {
  layout: 'archive' | 'directory';
  match?: RegExp;
}

function snapshotTime(name: string, match: RegExp | undefined, fallback: Date, notes: string[]): { time: Date; timeSource: 'name' | 'mtime' } {
  const text = match?.exec(name)?.groups?.time;
  if (text === undefined) return { time: fallback, timeSource: 'mtime' };
  const parsed = parseSnapshotTime(text);
  if (parsed) return { time: parsed, timeSource: 'name' };
  notes.push(`${name}: time "${text}" not understood; using its modification time`);
  return { time: fallback, timeSource: 'mtime' };
}

function stripArchiveExtension(key: string, format: ArchiveFormat): string {
  const lower = key.toLowerCase();
  for (const extension of format === 'tar.gz' ? ['.tar.gz', '.tgz'] : format === 'tar.zst' ? ['.tar.zst', '.tzst'] : [`.${format}`]) {
    if (lower.endsWith(extension)) return key.slice(0, key.length - extension.length);
  }
  return key;
}

function byTime(a: Snapshot, b: Snapshot): number {
  return a.time.getTime() - b.time.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function discoverArchives(objects: readonly SourceObject[], rules: DiscoveryRules, notes: string[]): Snapshot[] {
  const sumsByDir = new Map<string, SumsReference[]>();
  const keys = new Set(objects.map((object) => object.key));
  for (const object of objects) {
    const algorithm = SUMS_FILES[path.basename(object.key)];
    if (algorithm) {
      const dir = path.dirname(object.key);
      sumsByDir.set(dir, [...(sumsByDir.get(dir) ?? []), { key: object.key, algorithm, scope: 'object' }]);
    }
  }
  const snapshots: Snapshot[] = [];
  for (const object of objects) {
    if (object.kind !== 'file') continue;
    const name = path.basename(object.key);
    if (SUMS_FILES[name] || Object.keys(SIDECAR_SUFFIXES).some((suffix) => keys.has(object.key.slice(0, -suffix.length)) && object.key.endsWith(suffix))) continue;
    if (rules.match && !rules.match.test(name)) continue;
    const format = formatOf(name);
    if (!format) {
      if (rules.match) notes.push(`${object.key}: matches the pattern but is not a supported archive (.tar, .tar.gz, .tgz, .tar.zst, .zip)`);
      continue;
    }
    const sums = [...(sumsByDir.get(path.dirname(object.key)) ?? [])];
    for (const [suffix, algorithm] of Object.entries(SIDECAR_SUFFIXES)) {
      if (keys.has(object.key + suffix)) sums.push({ key: object.key + suffix, algorithm, scope: 'object' });
    }
    snapshots.push({
      id: stripArchiveExtension(object.key, format),
      ...snapshotTime(name, rules.match, object.mtime, notes),
      layout: 'archive',
      object,
      format,
      sums,
    });
  }
  return snapshots;
}

function discoverDirectories(objects: readonly SourceObject[], rules: DiscoveryRules, notes: string[]): Snapshot[] {
  const groups = new Map<string, SourceObject[]>();
  for (const object of objects) {
    const slash = object.key.indexOf('/');
    if (slash < 0) continue; // a loose file at the set root belongs to no snapshot
    const dir = object.key.slice(0, slash);
    const members = groups.get(dir);
    if (members) members.push(object);
    else groups.set(dir, [object]);
  }
  const snapshots: Snapshot[] = [];
  for (const [dir, members] of groups) {
    if (rules.match && !rules.match.test(dir)) continue;
    const newest = members.reduce((max, member) => (member.mtime > max ? member.mtime : max), new Date(0));
    const sums: SumsReference[] = [];
    for (const member of members) {
      const algorithm = SUMS_FILES[member.key.slice(dir.length + 1)];
      if (algorithm) sums.push({ key: member.key, algorithm, scope: 'entries' });
    }
    snapshots.push({ id: dir, ...snapshotTime(dir, rules.match, newest, notes), layout: 'directory', prefix: `${dir}/`, members, sums });
  }
  return snapshots;
}

/** Finds the snapshots in a set's listing, oldest first. */
export function discoverSnapshots(objects: readonly SourceObject[], rules: DiscoveryRules): Discovery {
  const notes: string[] = [];
  const snapshots =
    rules.layout === 'archive' ? discoverArchives(objects, rules, notes) : discoverDirectories(objects, rules, notes);
  return { snapshots: snapshots.sort(byTime), notes };
}
