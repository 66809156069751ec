/**
 * `vouch recover`: plan (recovery-plan.ts), then restore each planned file from its snapshot
 * through the drills' safe restore (restore.ts → RestoreWriter: exclusive creates, no links, no
 * path outside the target), one pass per snapshot reading only the files taken from it, and
 * verify every restored file against its snapshot's baseline digest. A file whose bytes do not
 * match (or that the archive no longer holds) is removed and taken from its next older intact
 * version in another pass; one with no version left is reported unrestored. The plan — and, for
 * a restore, its outcome — is a signed `recovery-plan` ledger record.
 */
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { SetPolicy } from '../config/resolve-policy.js';
import { ConfigError, describeError } from '../errors.js';
import { anchorOptions } from '../ledger/head-anchor.js';
import { type AnchorSpec } from '../model/anchor-spec.js';
import { canonicalJson } from '../ledger/ledger-record.js';
import type { BackupSource } from '../sources/backup-source.js';
import { createSource } from '../sources/create-source.js';
import { discoverSourceSnapshots, type Snapshot } from '../sources/snapshot-discovery.js';
import { openLedger } from '../ledger/ledger-store.js';
import { readSetIndex, snapshotOwners } from '../state/set-index.js';
import { PhaseTimer } from '../drills/phase-timer.js';
import { restoreSnapshot, type RestoreOutcome } from '../drills/restore.js';
import { createHash } from 'node:crypto';
import { loadPlanInput } from './plan-input.js';
import { makeFetchDir } from './fetch-dir.js';
import { requestedId } from '../drills/pick-snapshot.js';
import { resolveSnapshotVersion, SnapshotVersionError, splitVersion } from '../drills/snapshot-version.js';
import {
  nextVersion,
  planRecovery,
  snapshotPlan,
  type PlannedFile,
  type RecoveryPlan,
} from './recovery-plan.js';

/** Options of a recovery. */
export interface RecoverOptions {
  stateDir: string;
  /** Target directory: must not exist, or be empty. Not needed for a dry run. */
  to?: string;
  dryRun: boolean;
  /**
   * Restore this snapshot as it is instead of each path's newest intact version; `ID@VERSION`
   * restores that stored version of its archive (the one its baseline was taken from).
   */
  snapshot?: string;
  signal?: AbortSignal;
  anchor?: AnchorSpec;
  createSource?: (set: SetPolicy) => BackupSource | Promise<BackupSource>;
  now?: () => Date;
}

/** A file that came from another version than planned, and why. */
export interface FallBack {
  path: string;
  from: string;
  to: string;
  /** Time of the snapshot the file came from instead. */
  toTime: string;
  reason: string;
}

/** What a restore did. */
export interface RecoveryOutcome {
  to: string;
  /** Files written and verified against their baseline digest. */
  verified: number;
  bytes: number;
  fellBack: FallBack[];
  /** Planned files that could not be restored from any version. */
  unrestored: { path: string; reason: string }[];
  /** Problems the archive readers reported (unsafe entries, read errors), first ones. */
  problems: string[];
  complete: boolean;
  /**
   * The error that stopped the restore (the store unreachable, the target unwritable), or null:
   * a runtime error (exit 1), not a finding about the backups.
   */
  error: string | null;
}

/** The result of `vouch recover`. */
export interface RecoveryResult {
  plan: RecoveryPlan;
  /** SHA-256 of the plan's canonical JSON (what the ledger record commits to). */
  planSha256: string;
  dryRun: boolean;
  outcome: RecoveryOutcome | null;
  ledgerSeq: number | null;
}

/** Most files of each list a ledger record carries (the plan's hash covers the whole plan). */
const RECORD_LIST_CAP = 5000;

/** The plan as its ledger record holds it: counts, every file not taken from the newest snapshot, losses. */
function recordOf(result: Omit<RecoveryResult, 'ledgerSeq'>): unknown {
  const { plan, outcome } = result;
  const older = plan.files.filter((file) => file.lossWindow !== null || file.rejected.length > 0);
  return {
    set: plan.set,
    mode: plan.mode,
    ...(plan.version ? { version: plan.version } : {}),
    dryRun: result.dryRun,
    planSha256: result.planSha256,
    newest: plan.newest,
    counts: plan.counts,
    fromOlder: older.slice(0, RECORD_LIST_CAP).map((file) => ({
      path: file.path,
      snapshot: file.snapshot,
      digest: file.digest,
      rejected: file.rejected.map((rejection) => rejection.snapshot),
    })),
    fromOlderOmitted: Math.max(0, older.length - RECORD_LIST_CAP),
    lost: plan.lost
      .slice(0, RECORD_LIST_CAP)
      .map((file) => ({ path: file.path, lossWindow: file.lossWindow })),
    lostOmitted: Math.max(0, plan.lost.length - RECORD_LIST_CAP),
    artifacts: plan.artifacts.slice(0, RECORD_LIST_CAP),
    skipped: plan.skipped.slice(0, RECORD_LIST_CAP),
    skippedOmitted: Math.max(0, plan.skipped.length - RECORD_LIST_CAP),
    ...(plan.flagged ? { flagged: plan.flagged.slice(0, RECORD_LIST_CAP) } : {}),
    outcome: outcome
      ? {
          ...outcome,
          fellBack: outcome.fellBack.slice(0, RECORD_LIST_CAP),
          unrestored: outcome.unrestored.slice(0, RECORD_LIST_CAP),
        }
      : null,
  };
}

/** Refuses a target that holds anything: a recovery never writes over files. */
async function prepareTarget(to: string): Promise<void> {
  const entries = await readdir(to).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    if (error.code === 'ENOTDIR')
      throw new ConfigError(
        `${to} exists and is not a directory: recover writes only into a new or empty directory`,
        [],
        { cause: error },
      );
    throw error;
  });
  if (entries && entries.length > 0)
    throw new ConfigError(`${to} is not empty: recover writes only into a new or empty directory`);
  await mkdir(to, { recursive: true, mode: 0o700 });
}

/** Plans (and unless `dryRun`, restores) the set's recovery; records the plan in the ledger. */
export async function runRecovery(set: SetPolicy, options: RecoverOptions): Promise<RecoveryResult> {
  const input = await loadPlanInput(options.stateDir, set.name);
  const asked = options.snapshot ? splitVersion(set.name, options.snapshot) : null;
  const plan = asked
    ? snapshotPlan(set.name, input, requestedId(asked.request) ?? asked.request, asked.version)
    : planRecovery(set.name, input);
  // A version is looked up in the store before anything is planned as done: an unknown one is a usage error, dry run or not.
  const versioned =
    plan.version !== undefined ? await storedVersion(set, options, plan.newest!.id, plan.version) : undefined;
  const planSha256 = createHash('sha256').update(canonicalJson(plan)).digest('hex');
  let outcome: RecoveryOutcome | null = null;
  if (!options.dryRun) {
    if (!options.to) throw new ConfigError('recover needs --to DIR (or --dry-run)');
    // Nothing to restore (no snapshot in state): no target is created.
    if (plan.newest) outcome = await restorePlan(set, plan, input, options, versioned);
  }
  const result = { plan, planSha256, dryRun: options.dryRun, outcome };
  const ledger = await openLedger(options.stateDir, anchorOptions(options.anchor));
  try {
    const record = await ledger.append('recovery-plan', recordOf(result));
    return { ...result, ledgerSeq: record.seq };
  } finally {
    await ledger.close();
  }
}

/** Snapshot `id` as stored version `version` of its archive (snapshot-version.ts); throws SnapshotVersionError. */
async function storedVersion(
  set: SetPolicy,
  options: RecoverOptions,
  id: string,
  version: string,
): Promise<Snapshot> {
  const source = await (
    options.createSource ?? ((policy: SetPolicy) => createSource(policy.source, { set: policy.name }))
  )(set);
  try {
    const index = await readSetIndex(options.stateDir, set.name);
    const snapshot = (
      await discoverSourceSnapshots(source, { ...set, owners: snapshotOwners(index) })
    ).snapshots.find((candidate) => candidate.id === id);
    if (!snapshot)
      throw new SnapshotVersionError(
        `set ${set.name}: snapshot ${id}@${version}: the store no longer lists ${id}, so which object to read a version of is not known`,
      );
    return await resolveSnapshotVersion(set.name, source, snapshot, version);
  } finally {
    await source.close().catch(() => undefined);
  }
}

async function restorePlan(
  set: SetPolicy,
  plan: RecoveryPlan,
  input: Awaited<ReturnType<typeof loadPlanInput>>,
  options: RecoverOptions,
  versioned?: Snapshot,
): Promise<RecoveryOutcome> {
  const to = path.resolve(options.to!);
  await prepareTarget(to);
  const outcome: RecoveryOutcome = {
    to,
    verified: 0,
    bytes: 0,
    fellBack: [],
    unrestored: [],
    problems: [],
    complete: true,
    error: null,
  };
  const algorithms = new Map(input.map((snapshot) => [snapshot.id, snapshot.algorithm]));
  const fetchDir = await makeFetchDir(options.stateDir);
  let source: BackupSource | null = null;
  try {
    source = await (
      options.createSource ?? ((policy: SetPolicy) => createSource(policy.source, { set: policy.name }))
    )(set);
    const index = await readSetIndex(options.stateDir, set.name);
    const discovered = new Map(
      (await discoverSourceSnapshots(source, { ...set, owners: snapshotOwners(index) })).snapshots.map(
        (snapshot) => [snapshot.id, snapshot],
      ),
    );
    let pending: Pick<PlannedFile, 'path' | 'snapshot' | 'digest' | 'size'>[] = plan.files;
    while (pending.length > 0) {
      options.signal?.throwIfAborted();
      const bySnapshot = new Map<string, typeof pending>();
      for (const file of pending)
        bySnapshot.set(file.snapshot, [...(bySnapshot.get(file.snapshot) ?? []), file]);
      const retry: typeof pending = [];
      const fallBack = (file: (typeof pending)[number], reason: string) => {
        // `--snapshot ID` restores that snapshot only: no other version stands in.
        const next = plan.mode === 'snapshot' ? null : nextVersion(input, file.path, file.snapshot);
        if (next) {
          outcome.fellBack.push({
            path: file.path,
            from: file.snapshot,
            to: next.snapshot,
            toTime: next.snapshotTime,
            reason,
          });
          retry.push(next);
        } else {
          outcome.unrestored.push({
            path: file.path,
            reason: `${file.snapshot}: ${reason}; no older intact version`,
          });
        }
      };
      for (const [id, files] of bySnapshot) {
        const snapshot: Snapshot | undefined = versioned?.id === id ? versioned : discovered.get(id);
        if (!snapshot) {
          for (const file of files) fallBack(file, 'the snapshot is no longer in the store');
          continue;
        }
        const wanted = new Map(files.map((file) => [file.path, file]));
        const restore = await restoreSnapshot({
          set,
          source,
          snapshot,
          workspace: { restoreDir: to, fetchDir },
          algorithm: algorithms.get(id) ?? set.algorithm,
          select: (entryPath) => wanted.has(entryPath),
          timer: new PhaseTimer(),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        await rm(path.join(fetchDir), { recursive: true, force: true });
        await mkdir(fetchDir, { recursive: true, mode: 0o700 });
        for (const problem of restore.problems.slice(0, 20))
          outcome.problems.push(`${id}: ${problem.path ? `${problem.path}: ` : ''}${problem.detail}`);
        for (const file of files) {
          const restored = restore.entries.get(file.path);
          if (restored?.type === 'file' && restored.digest === file.digest) {
            outcome.verified++;
            outcome.bytes += restored.size;
            continue;
          }
          if (restored) await unlink(path.join(to, file.path)).catch(() => undefined);
          fallBack(
            file,
            restored
              ? `restored bytes differ from the baseline digest (${restored.type}, ${restored.size} bytes)`
              : missingReason(restore, file.path),
          );
        }
      }
      pending = retry;
    }
  } catch (error) {
    outcome.complete = false;
    outcome.error = describeError(error);
    if (options.signal?.aborted) throw error;
  } finally {
    await source?.close().catch(() => undefined);
    await rm(fetchDir, { recursive: true, force: true });
  }
  if (outcome.unrestored.length > 0) outcome.complete = false;
  return outcome;
}

/**
 * Why a planned file did not come out of its snapshot's restore: the reader's problem naming the
 * file, else the problem that stopped the whole read (the archive unreadable), else the archive
 * no longer holds it. Pure.
 */
export function missingReason(restore: Pick<RestoreOutcome, 'problems' | 'complete'>, file: string): string {
  const own = restore.problems.find((problem) => problem.path === file);
  if (own) return own.detail;
  if (!restore.complete) {
    const whole = restore.problems.find((problem) => problem.kind === 'read-error') ?? restore.problems[0];
    return `the snapshot could not be read completely${whole ? `: ${whole.detail}` : ''}`;
  }
  return 'the archive no longer holds the file';
}
