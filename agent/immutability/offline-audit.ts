/**
 * Immutability audit of an offline (filesystem) set, or of a restic or borg repository in a local
 * directory: is the volume mounted read-only, or at least are the snapshot (or repository) files
 * and directories without write permission; and is the newest copy recent enough. File modes do
 * not stop root, so only a read-only mount counts as strong protection; the check says which one
 * held. (restic makes its pack files read-only itself, but their directories stay writable, so
 * `forget --prune` by whoever holds the password can still delete them: that is reported.)
 */
import { opendir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatDuration } from '../config/duration.js';
import { localRepositoryPath, type SetPolicy } from '../config/resolve-policy.js';
import type { Snapshot } from '../sources/snapshot-discovery.js';
import { summariseChecks } from './audit-result.js';
import { type ImmutabilityAudit, type ImmutabilityCheck } from '../model/immutability.js';
import { isReadOnly, mountFor, parseMountInfo, writableAliases } from './mountinfo.js';

/** What an offline audit needs besides the set. */
export interface OfflineAuditContext {
  snapshots: readonly Snapshot[];
  now: Date;
  /** mountinfo text (tests inject it); default: /proc/self/mountinfo. */
  mountInfo?: () => Promise<string>;
}

const WRITE_BITS = 0o222;
/** Writable paths named in the check's detail. */
const NAMED_PATHS = 5;

async function readOnlyMountCheck(
  root: string,
  mountInfo: () => Promise<string>,
  required: boolean,
): Promise<ImmutabilityCheck & { readOnly: boolean }> {
  const base = { check: 'read-only-mount', required: false };
  let text: string;
  try {
    text = await mountInfo();
  } catch (error) {
    return {
      ...base,
      status: 'unknown',
      readOnly: false,
      detail: `mount table not readable: ${(error as Error).message}`,
    };
  }
  const mounts = parseMountInfo(text);
  const mount = mountFor(mounts, root);
  if (!mount) return { ...base, status: 'unknown', readOnly: false, detail: `no mount found for ${root}` };
  const aliases = isReadOnly(mount) ? writableAliases(mounts, root) : [];
  if (aliases.length) {
    return {
      ...base,
      required,
      status: 'fail',
      readOnly: false,
      detail: `${root} is on ${mount.mountPoint} (${mount.fsType}), mounted read-only, but the same directory is writable through ${aliases.join(', ')} (a read-only bind mount of a writable directory protects nothing)`,
    };
  }
  const readOnly = isReadOnly(mount);
  return {
    ...base,
    status: readOnly ? 'pass' : 'info',
    readOnly,
    detail: `${root} is on ${mount.mountPoint} (${mount.fsType}), mounted ${readOnly ? 'read-only' : 'read-write'}`,
  };
}

/** Paths (relative to the root) of the sampled snapshots' files and their directories that carry a write bit. */
async function writablePaths(
  root: string,
  snapshots: readonly Snapshot[],
  budget: number,
): Promise<{ writable: string[]; checked: number }> {
  const newestFirst = [...snapshots].reverse();
  const keys: string[] = [];
  for (const snapshot of newestFirst) {
    if (snapshot.layout === 'archive') keys.push(snapshot.object.key);
    else keys.push(snapshot.prefix.replace(/\/$/, ''), ...snapshot.memberSample.map((member) => member.key));
    if (keys.length >= budget) break;
  }
  return writableAmong(root, keys.slice(0, budget));
}

/** A repository's top-level entries and, breadth-first, up to `budget` paths below them (relative to `root`). */
async function repositorySample(root: string, budget: number): Promise<string[]> {
  const keys: string[] = [];
  const queue = ['.'];
  while (queue.length > 0 && keys.length < budget) {
    const dir = queue.shift()!;
    const handle = await opendir(path.join(root, dir)).catch(() => null);
    if (!handle) continue;
    for await (const entry of handle) {
      const key = dir === '.' ? entry.name : `${dir}/${entry.name}`;
      keys.push(key);
      if (entry.isDirectory()) queue.push(key);
      if (keys.length >= budget) break;
    }
  }
  return keys;
}

/** Paths (relative to the root) among `keys` and their directories that carry a write bit. */
async function writableAmong(
  root: string,
  keys: readonly string[],
): Promise<{ writable: string[]; checked: number }> {
  const directories = new Set<string>(['.', ...keys.map((key) => path.posix.dirname(key))]);
  const targets = [...new Set([...directories, ...keys])];
  const writable: string[] = [];
  for (const key of targets) {
    const stats = await stat(path.join(root, key)).catch(() => null);
    if (stats && (stats.mode & WRITE_BITS) !== 0) writable.push(key === '.' ? '(set root)' : key);
  }
  return { writable, checked: targets.length };
}

/** The newest snapshot's age against `immutability.maxAge` (default: the RPO). */
export function newestCopyCheck(
  set: SetPolicy,
  snapshots: readonly Snapshot[],
  now: Date,
): ImmutabilityCheck & { ageSeconds: number | null } {
  const maxAge = set.immutability?.maxAgeSeconds ?? set.rpoSeconds;
  const base = { check: 'newest-copy-age', required: maxAge !== undefined };
  const newest = snapshots.at(-1);
  if (!newest)
    return {
      ...base,
      status: maxAge === undefined ? 'info' : 'fail',
      ageSeconds: null,
      detail: 'the volume holds no snapshots',
    };
  const ageSeconds = Math.max(0, (now.getTime() - newest.time.getTime()) / 1000);
  const text = `newest copy ${newest.id} is ${formatDuration(ageSeconds)} old`;
  if (maxAge === undefined) return { ...base, status: 'info', ageSeconds, detail: text };
  return {
    ...base,
    status: ageSeconds <= maxAge ? 'pass' : 'fail',
    ageSeconds,
    detail: `${text} (limit ${formatDuration(maxAge)})`,
  };
}

export async function auditOfflineSet(
  set: SetPolicy,
  context: OfflineAuditContext,
): Promise<ImmutabilityAudit> {
  const directory = set.source.kind === 'fs' ? set.source.path : localRepositoryPath(set.source);
  if (directory === null) throw new TypeError(`set ${set.name} is not on a local filesystem`);
  const root = await realpath(directory);
  const required = set.immutability !== undefined;
  const mount = await readOnlyMountCheck(
    root,
    context.mountInfo ?? (() => readFile('/proc/self/mountinfo', 'utf8')),
    required,
  );
  const budget = set.immutability?.sampleObjects ?? 200;
  let writeCheck: ImmutabilityCheck;
  let protectedCopy = mount.readOnly;
  if (mount.readOnly) {
    writeCheck = {
      check: 'not-writable',
      required,
      status: 'pass',
      detail: 'the volume is mounted read-only',
    };
  } else {
    const { writable, checked } =
      set.source.kind === 'fs'
        ? await writablePaths(root, context.snapshots, budget)
        : await writableAmong(root, await repositorySample(root, budget));
    protectedCopy = writable.length === 0;
    writeCheck = writable.length
      ? {
          check: 'not-writable',
          required,
          status: 'fail',
          detail: `mounted read-write and ${writable.length} of ${checked} checked paths are writable (${writable.slice(0, NAMED_PATHS).join(', ')}${writable.length > NAMED_PATHS ? ', …' : ''}); mount the volume read-only`,
        }
      : {
          check: 'not-writable',
          required,
          status: 'pass',
          detail: `mounted read-write, but none of ${checked} checked paths has a write permission (root can still write: prefer a read-only mount)`,
        };
  }
  const age = newestCopyCheck(set, context.snapshots, context.now);
  const checks: ImmutabilityCheck[] = [
    { check: mount.check, required: mount.required, status: mount.status, detail: mount.detail },
    writeCheck,
    { check: age.check, required: age.required && required, status: age.status, detail: age.detail },
  ];
  const summary = summariseChecks(checks, required, root);
  return {
    set: set.name,
    kind: set.source.kind === 'fs' ? 'fs' : set.source.kind,
    auditedAt: context.now.toISOString(),
    ok: summary.ok,
    protected: protectedCopy,
    checks,
    findings: summary.findings,
    objectsSampled: 0,
    objectsTotal: context.snapshots.length,
    retentionRemainingSeconds: null,
    newestCopyAgeSeconds: age.ageSeconds,
  };
}
