/**
 * Snapshot discovery: turns a set's object listing into snapshots, per the policy's layout.
 * Given the listing (in key order, as every source lists), it returns snapshots in time order
 * plus what was skipped and why. Directory snapshots are summarised as the listing streams by —
 * member count, bytes, a fingerprint of the listing, checksum lists, a small sample of members —
 * so a set of a thousand snapshots of a million files each is discovered in constant memory. A scan
 * keeps the members aside on disk as they stream by (scan/listing-spool.ts) and reads a snapshot
 * from there; audits, drills and recoveries, and scans past the spool's bounds, list the
 * snapshot's prefix again when they need its members. A scan may also leave a snapshot's members
 * unlisted at discovery when it reads that snapshot in full whatever its listing says
 * (`DiscoveryOptions.deferListing`): the read lists them while it reads.
 */
import { createHash, type Hash } from 'node:crypto';
import path from 'node:path/posix';
import type { ArchiveFormat } from '../archives/entry-reader.js';
import { ARCHIVE_EXTENSIONS, archiveExtensionOf, formatOf } from '../archives/registry.js';
import type { DigestAlgorithm } from '../model/manifest.js';
import { SIDECAR_SUFFIXES, SUMS_FILES, sumsFileAlgorithm } from '../integrity/sums-file.js';
import type { BackupSource, SourceObject } from './backup-source.js';
import { parseSnapshotTime } from './snapshot-time.js';

/** A checksum list that vouches for a snapshot's object or entries. */
export interface SumsReference {
  key: string;
  algorithm: DigestAlgorithm;
  /** `object`: lists the archive itself; `entries`: lists files inside a directory snapshot. */
  scope: 'object' | 'entries';
}

/** What the listing said about a directory snapshot's members (its cheap-pass identity). */
export interface ListingSummary {
  objects: number;
  bytes: number;
  /** SHA-256 over every member's key, kind, size, ETag, VersionId and mtime, in key order. */
  fingerprint: string;
}

/** What every snapshot has, whatever its layout. */
interface SnapshotBase {
  /**
   * Stable id: archive key without its archive extension, or the directory name. When archives
   * of several formats share a name (`X.tar`, `X.tar.gz`, `X.zip`), only the one the state
   * already knows as `X` keeps that id; the others' ids keep their extension (`X.zip`).
   */
  id: string;
  time: Date;
  /** Where the time came from: the name's `time` group, the object's mtime, or the backup tool's repository. */
  timeSource: 'name' | 'mtime' | 'repository';
  sums: SumsReference[];
}

/** A snapshot that is one archive object (for a restic or borg snapshot, the object `open()` streams as a tar). */
export interface ArchiveSnapshot extends SnapshotBase {
  layout: 'archive';
  object: SourceObject;
  format: Exclude<ArchiveFormat, 'plain'>;
}

/** A snapshot that is a folder of plain objects under one prefix. */
export interface DirectorySnapshot extends SnapshotBase {
  layout: 'directory';
  /** The prefix (`name/`); `source.list(prefix)` streams its members. */
  prefix: string;
  /**
   * What the listing held; null when discovery left the members for the read to list
   * (`DiscoveryOptions.deferListing`).
   */
  listing: ListingSummary | null;
  /** The first few members (keys relative to the set root), for audits that sample objects; none when not listed. */
  memberSample: SourceObject[];
}

/** One snapshot of a set: narrow on `layout` to reach the layout's own fields. */
export type Snapshot = ArchiveSnapshot | DirectorySnapshot;

/** What discovery found. */
export interface Discovery {
  snapshots: Snapshot[];
  /** Human-readable notes about objects that were skipped or times that could not be read. */
  notes: string[];
  /**
   * Files listed beside the snapshots that belong to none (not a snapshot, checksum list or
   * sidecar; in the directory layout, loose files at the set root), up to MAX_OTHER_OBJECTS —
   * what scans judge for ransom notes and encrypted leftovers (scan/foreign-objects.ts).
   */
  others: SourceObject[];
  /** How many such files there were in all (`others` keeps the first MAX_OTHER_OBJECTS). */
  otherCount: number;
  /**
   * Names the listing could not list (SourceObject.unlisted) that belong to no snapshot: in the
   * directory layout those at the set root (a snapshot directory whose name is not valid UTF-8),
   * in the archive layout all of them. The scan reports them as set findings.
   */
  unlisted: SourceObject[];
}

/** Files beside the snapshots that discovery keeps for judging; the rest are counted. */
export const MAX_OTHER_OBJECTS = 10_000;

/** The layout part of a set policy. */
export interface DiscoveryRules {
  layout: 'archive' | 'directory';
  match?: RegExp;
  /**
   * Archive layout: the object key each known snapshot id was read from (from the set's state),
   * so that when names collide the object that already had an id keeps it.
   */
  owners?: ReadonlyMap<string, string>;
  /** IANA zone for name times without an offset (policy `snapshots.timezone`; default UTC). */
  snapshotTimeZone?: string;
}

function snapshotTime(
  name: string,
  match: RegExp | undefined,
  fallback: Date,
  notes: string[],
  timeZone?: string,
): { time: Date; timeSource: 'name' | 'mtime' } {
  const text = match?.exec(name)?.groups?.time;
  if (text === undefined) return { time: fallback, timeSource: 'mtime' };
  const parsed = parseSnapshotTime(text, timeZone);
  if (parsed) return { time: parsed, timeSource: 'name' };
  notes.push(`${name}: time "${text}" not understood; using its modification time`);
  return { time: fallback, timeSource: 'mtime' };
}

function stripArchiveExtension(key: string): string {
  const found = archiveExtensionOf(key);
  return found ? key.slice(0, key.length - found.extension.length) : key;
}

function byTime(a: Snapshot, b: Snapshot): number {
  return a.time.getTime() - b.time.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function discoverArchives(
  objects: readonly SourceObject[],
  rules: DiscoveryRules,
  notes: string[],
  other: (object: SourceObject) => void,
): ArchiveSnapshot[] {
  const sumsByDir = new Map<string, SumsReference[]>();
  const keys = new Set(objects.map((object) => object.key));
  for (const object of objects) {
    const algorithm = sumsFileAlgorithm(path.basename(object.key));
    if (algorithm) {
      const dir = path.dirname(object.key);
      sumsByDir.set(dir, [...(sumsByDir.get(dir) ?? []), { key: object.key, algorithm, scope: 'object' }]);
    }
  }
  const snapshots: ArchiveSnapshot[] = [];
  for (const object of objects) {
    if (object.kind !== 'file') continue;
    const name = path.basename(object.key);
    if (
      sumsFileAlgorithm(name) ||
      Object.keys(SIDECAR_SUFFIXES).some(
        (suffix) => keys.has(object.key.slice(0, -suffix.length)) && object.key.endsWith(suffix),
      )
    )
      continue;
    if (rules.match && !rules.match.test(name)) {
      other(object);
      continue;
    }
    const format = formatOf(name);
    if (!format) {
      if (rules.match)
        notes.push(
          `${object.key}: matches the pattern but is not a supported archive (${ARCHIVE_EXTENSIONS})`,
        );
      other(object);
      continue;
    }
    const sums = [...(sumsByDir.get(path.dirname(object.key)) ?? [])];
    for (const [suffix, algorithm] of Object.entries(SIDECAR_SUFFIXES)) {
      if (keys.has(object.key + suffix)) sums.push({ key: object.key + suffix, algorithm, scope: 'object' });
    }
    snapshots.push({
      id: stripArchiveExtension(object.key),
      ...snapshotTime(name, rules.match, object.mtime, notes, rules.snapshotTimeZone),
      layout: 'archive',
      object,
      format,
      sums,
    });
  }
  return uniqueIds(snapshots, rules.owners, notes);
}

/**
 * Makes archive snapshot ids unique: archives that would share an id keep their extension in it,
 * except the one the state already knows by that id. An archive whose id still collides is
 * skipped with a note (nothing is ever judged against another archive's baseline).
 */
function uniqueIds(
  snapshots: ArchiveSnapshot[],
  owners: ReadonlyMap<string, string> | undefined,
  notes: string[],
): ArchiveSnapshot[] {
  const byId = new Map<string, ArchiveSnapshot[]>();
  for (const snapshot of snapshots) byId.set(snapshot.id, [...(byId.get(snapshot.id) ?? []), snapshot]);
  const out: ArchiveSnapshot[] = [];
  const taken = new Set<string>();
  for (const [id, group] of byId) {
    if (group.length === 1) continue;
    const keys = group.map((snapshot) => snapshot.object.key);
    for (const snapshot of group) {
      const key = snapshot.object.key;
      if (owners?.get(id) === key) continue;
      snapshot.id = key;
      notes.push(
        `${keys.join(', ')} would all be snapshot ${id}: ${key} is snapshot ${key} (ids keep the extension when archive names collide)`,
      );
    }
  }
  for (const snapshot of snapshots) {
    if (taken.has(snapshot.id)) {
      notes.push(
        `${snapshot.object.key}: skipped: its snapshot id ${snapshot.id} is already another archive's; rename one of them`,
      );
      continue;
    }
    taken.add(snapshot.id);
    out.push(snapshot);
  }
  return out;
}

/** Members of a directory snapshot kept for audits that sample objects. */
export const MEMBER_SAMPLE = 32;

/** Folds one listed member into a listing fingerprint (callers feed members in key order). */
export function addToFingerprint(hash: Hash, member: SourceObject): void {
  hash.update(
    `${member.key}\0${member.kind}\0${member.size}\0${member.etag ?? ''}\0${member.versionId ?? ''}\0${member.mtime.toISOString()}\n`,
  );
}

/** The directory snapshot being summarised while its members stream by. */
interface DirectoryGroup {
  dir: string;
  objects: number;
  bytes: number;
  newest: Date;
  hash: Hash;
  sample: SourceObject[];
  sums: SumsReference[];
}

/**
 * Discovers snapshots incrementally: `add()` every listed object in key order, then `finish()`.
 * Memory: the archive layout keeps the listing (one object per snapshot plus checksum lists);
 * the directory layout keeps one summary per snapshot, never its members.
 */
export class SnapshotDiscoverer {
  private readonly notes: string[] = [];
  private readonly objects: SourceObject[] = [];
  private readonly snapshots: Snapshot[] = [];
  private readonly seenDirs = new Set<string>();
  private readonly others: SourceObject[] = [];
  private otherCount = 0;
  private readonly unlisted: SourceObject[] = [];
  private group: DirectoryGroup | null = null;

  constructor(private readonly rules: DiscoveryRules) {}

  /** Takes the next listed object. Throws when a directory's members do not arrive together (listing out of key order). */
  add(object: SourceObject): void {
    if (this.rules.layout === 'archive') {
      if (object.unlisted) this.keepUnlisted(object);
      else this.objects.push(object);
      return;
    }
    const slash = object.key.indexOf('/');
    if (slash < 0) {
      if (object.unlisted) this.keepUnlisted(object);
      // A loose file at the set root belongs to no snapshot.
      if (object.kind === 'file') this.other(object);
      return;
    }
    const dir = object.key.slice(0, slash);
    if (this.group?.dir !== dir) {
      this.closeGroup();
      if (this.seenDirs.has(dir))
        throw new Error(`the store listed keys out of order: ${dir}/ appeared twice`);
      this.seenDirs.add(dir);
      this.group = {
        dir,
        objects: 0,
        bytes: 0,
        newest: new Date(0),
        hash: createHash('sha256'),
        sample: [],
        sums: [],
      };
    }
    const group = this.group;
    group.objects++;
    group.bytes += object.size;
    if (object.mtime > group.newest) group.newest = object.mtime;
    addToFingerprint(group.hash, object);
    if (group.sample.length < MEMBER_SAMPLE) group.sample.push(object);
    const algorithm = sumsFileAlgorithm(object.key.slice(dir.length + 1));
    if (algorithm) group.sums.push({ key: object.key, algorithm, scope: 'entries' });
  }

  /** The snapshots found, oldest first, and the notes. */
  finish(): Discovery {
    if (this.rules.layout === 'archive')
      this.snapshots.push(
        ...discoverArchives(this.objects, this.rules, this.notes, (object) => this.other(object)),
      );
    else this.closeGroup();
    return {
      snapshots: [...this.snapshots].sort(byTime),
      notes: [...this.notes],
      others: [...this.others],
      otherCount: this.otherCount,
      unlisted: [...this.unlisted],
    };
  }

  private keepUnlisted(object: SourceObject): void {
    if (this.unlisted.length < MAX_OTHER_OBJECTS) this.unlisted.push(object);
  }

  private other(object: SourceObject): void {
    this.otherCount++;
    if (this.others.length < MAX_OTHER_OBJECTS) this.others.push(object);
  }

  private closeGroup(): void {
    const group = this.group;
    this.group = null;
    if (!group || (this.rules.match && !this.rules.match.test(group.dir))) return;
    this.snapshots.push({
      id: group.dir,
      ...snapshotTime(group.dir, this.rules.match, group.newest, this.notes, this.rules.snapshotTimeZone),
      layout: 'directory',
      prefix: `${group.dir}/`,
      listing: { objects: group.objects, bytes: group.bytes, fingerprint: group.hash.digest('hex') },
      memberSample: group.sample,
      sums: group.sums,
    });
  }
}

function byKeyBytes(a: SourceObject, b: SourceObject): number {
  return Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
}

/** Finds the snapshots in a set's listing (any order), oldest first. */
export function discoverSnapshots(objects: readonly SourceObject[], rules: DiscoveryRules): Discovery {
  const discoverer = new SnapshotDiscoverer(rules);
  for (const object of rules.layout === 'directory' ? [...objects].sort(byKeyBytes) : objects)
    discoverer.add(object);
  return discoverer.finish();
}

/** Finds the snapshots in a listing as a source streams it (key order), oldest first. */
export async function discoverFromListing(
  objects: AsyncIterable<SourceObject>,
  rules: DiscoveryRules,
): Promise<Discovery> {
  const discoverer = new SnapshotDiscoverer(rules);
  for await (const object of objects) discoverer.add(object);
  return discoverer.finish();
}

/** How a scan wants discovery done. */
export interface DiscoveryOptions {
  /** Wraps the listing as discovery consumes it (a scan counts and records it). */
  listing?: (objects: AsyncIterable<SourceObject>) => AsyncIterable<SourceObject>;
  /**
   * Directory layout, sources with `folders()`: whether the snapshot `id` — a folder matching the
   * pattern whose name gives its time — is read in full whatever its listing says. Such a
   * snapshot is not listed now (`listing` null, no member sample): the read lists its members
   * while it reads them, instead of waiting for a listing of them first.
   */
  deferListing?: (id: string) => boolean;
}

/**
 * The checksum lists at the root of a directory snapshot (SUMS_FILES), listed alone; null when
 * that listing fails (the snapshot is then listed by discovery, as every other).
 */
async function rootSums(source: BackupSource, prefix: string): Promise<SumsReference[] | null> {
  const names = Object.keys(SUMS_FILES);
  const stems = names.filter((name) => !names.some((other) => other !== name && name.startsWith(other)));
  const sums: SumsReference[] = [];
  try {
    for (const stem of stems)
      for await (const object of source.list(prefix + stem)) {
        const algorithm = sumsFileAlgorithm(object.key.slice(prefix.length));
        if (algorithm) sums.push({ key: object.key, algorithm, scope: 'entries' });
      }
  } catch {
    return null;
  }
  return sums.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The directory snapshots whose listing `defer` leaves to their read (see DiscoveryOptions), oldest first. */
async function deferredSnapshots(
  source: BackupSource,
  rules: DiscoveryRules,
  defer: ((id: string) => boolean) | undefined,
): Promise<DirectorySnapshot[]> {
  if (!defer || rules.layout !== 'directory' || !rules.match || !source.folders) return [];
  const deferred: DirectorySnapshot[] = [];
  for (const name of await source.folders()) {
    if (!rules.match.test(name)) continue;
    const text = rules.match.exec(name)?.groups?.time;
    const time = text === undefined ? null : parseSnapshotTime(text, rules.snapshotTimeZone);
    if (!time || !defer(name)) continue;
    const sums = await rootSums(source, `${name}/`);
    if (!sums) continue;
    deferred.push({
      id: name,
      time,
      timeSource: 'name',
      layout: 'directory',
      prefix: `${name}/`,
      listing: null,
      memberSample: [],
      sums,
    });
  }
  return deferred;
}

/**
 * The snapshots of a set's source: those a backup tool's repository lists itself (restic, borg:
 * each one archive-layout snapshot read as a tar stream), else those the listing holds by the
 * policy's layout.
 */
export async function discoverSourceSnapshots(
  source: BackupSource,
  rules: DiscoveryRules,
  options: DiscoveryOptions = {},
): Promise<Discovery> {
  const listing = options.listing ?? ((objects) => objects);
  if (!source.snapshots) {
    const deferred = await deferredSnapshots(source, rules, options.deferListing);
    const discovery = await discoverFromListing(
      listing(source.list('', { skipFolders: new Set(deferred.map((snapshot) => snapshot.id)) })),
      rules,
    );
    if (deferred.length) discovery.snapshots = [...discovery.snapshots, ...deferred].sort(byTime);
    return discovery;
  }
  const snapshots = (await source.snapshots()).map((snapshot): Snapshot => ({
    id: snapshot.id,
    time: snapshot.time,
    timeSource: 'repository',
    layout: 'archive',
    object: snapshot.object,
    format: 'tar',
    sums: [],
  }));
  return { snapshots: snapshots.sort(byTime), notes: [], others: [], otherCount: 0, unlisted: [] };
}

/** Where a problem reading the whole snapshot is reported: its archive object's key, or its id. */
export function problemPath(snapshot: Snapshot): string {
  return snapshot.layout === 'archive' ? snapshot.object.key : snapshot.id;
}

/** Bytes a snapshot's read covers: its archive object, or its listed members (0 when not listed yet). */
export function snapshotBytes(snapshot: Snapshot): number {
  return snapshot.layout === 'archive' ? snapshot.object.size : (snapshot.listing?.bytes ?? 0);
}
