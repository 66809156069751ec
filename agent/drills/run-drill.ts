/**
 * One restore drill of one set, start to finish:
 *
 *   lock the set's drills ─► record and remove interrupted drills ─► fresh directory
 *   ─► sandbox (a missing bwrap fails here, before anything is restored) ─► list and pick
 *   ─► restore (fetch, extract: written and hashed in one pass) ─► verify (digests, structure)
 *   ─► app (PostgreSQL, SQLite, user commands, in the sandbox) ─► tear down ─► record
 *
 * Every phase is timed; the drill's wall time is compared with the set's RTO (or, for a sampled
 * drill, the full restore time projected from measured throughput). The result goes to the ledger
 * (signed) and to `drills/SET.json`. A drill never throws for what it finds — a hostile archive,
 * a failed assertion, a missing snapshot are a failed drill with named reasons. It throws only
 * when it cannot run at all (another drill of the set holds the lock, the state is unusable).
 * An abort (SIGTERM) kills the sandbox, tears down and records the drill as aborted.
 */
import type { Logger } from 'pino';
import { randomBytes, randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import type { SetPolicy } from '../config/resolve-policy.js';
import { describeError } from '../errors.js';
import type { ScanProgress } from '../scan/progress.js';
import type { BackupSource } from '../sources/backup-source.js';
import { createSource } from '../sources/create-source.js';
import { discoverSourceSnapshots, snapshotBytes, type Snapshot } from '../sources/snapshot-discovery.js';
import type { DrillPhaseSeconds, DrillResult } from '../model/drill.js';
import { loadManifest, type LoadedManifest } from '../state/manifest-store.js';
import { readSetIndex, snapshotOwners } from '../state/set-index.js';
import { readDrillIndex } from '../state/drill-index.js';
import { acquireDrillLock } from './drill-lock.js';
import { judgementForOutcome, snapshotJudgement } from './drill-report.js';
import { type DrillReport, type SnapshotJudgement } from '../model/drill.js';
import { PhaseTimer } from './phase-timer.js';
import { pickKind, pickSnapshot, type SnapshotRequest } from './pick-snapshot.js';
import { anchorOptions } from '../ledger/head-anchor.js';
import { type AnchorSpec } from '../model/anchor-spec.js';
import type { RequestedBy } from '../model/requested-by.js';
import { openLedger } from '../ledger/ledger-store.js';
import { recordDrill } from './record-drill.js';
import {
  baselineIsOfVersion,
  resolveSnapshotVersion,
  SnapshotVersionError,
  splitVersion,
} from './snapshot-version.js';
import { recoverInterruptedDrills } from './recover-interrupted.js';
import { restoreSnapshot, type RestoreOutcome } from './restore.js';
import { restoredFile } from './verifiers/restored-file.js';
import { sampleSelector } from './sample.js';
import { createSandbox } from './sandbox/create-sandbox.js';
import { type Sandbox } from './sandbox/sandbox.js';
import { SandboxUnavailableError } from './sandbox/sandbox-user.js';
import { prepareBox, sandboxIdentity } from './sandbox/sandbox-identity.js';
import { VERIFIERS } from './verifiers/registry.js';
import type { VerifierContext } from './verifiers/verifier.js';
import type { VerifierOutcome } from '../model/drill.js';
import { createWorkspace, removeWorkspace, updateMarker, type DrillWorkspace } from './workspace.js';
import { now as clockNow } from '../clock.js';

/** Options of a drill (contract with the daemon: stateDir, snapshot, signal, now, logger). */
export interface DrillOptions {
  stateDir: string;
  /**
   * A snapshot id, or `latest` | `last-clean` | `random`; default: the policy's `drill.pick`.
   * `ID@VERSION` drills that stored version of the snapshot's archive (snapshot-version.ts).
   */
  snapshot?: string;
  signal?: AbortSignal;
  now?: () => Date;
  logger?: Logger;
  /** Builds the set's source (tests inject fault-injecting sources). */
  createSource?: (set: SetPolicy) => BackupSource | Promise<BackupSource>;
  /** Restore progress in source bytes (the CLI's bar). */
  progress?: ScanProgress;
  /** A number in [0, 1) for `random` picks. */
  random?: () => number;
  /** Where the ledger's heads are anchored (policy `evidence.anchor`). */
  anchor?: AnchorSpec;
  /** Who asked for the drill (recorded in its ledger record; default: the command line). */
  requestedBy?: RequestedBy;
  /** Record the pick as this rule with this reason (a `--search` drills candidates by id but picks them by a rule). */
  pickAs?: { pick: DrillResult['pick']; reason: string };
}

/** Failures listed per drill; verifiers list up to 100 each. */
const MAX_FAILURES = 200;

function compactTime(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** A drill id: `SET-YYYYMMDDTHHMMSSZ-xxxx`. */
export function drillId(set: string, startedAt: Date): string {
  return `${set}-${compactTime(startedAt)}-${randomBytes(2).toString('hex')}`;
}

/** Files application checks read: a sampled drill always restores them. */
function pinnedPaths(set: SetPolicy): Set<string> {
  const names = [
    ...set.drill.postgres.map((check) => check.dump),
    ...set.drill.sqlite.map((check) => check.path),
  ];
  return new Set(names.map((name) => name.replace(/^\.\//, '').replace(/\/+/g, '/')));
}

/** Everything the drill learned, turned into its report (pure apart from the clock). */
interface DrillFacts {
  id: string;
  set: SetPolicy;
  pick: DrillResult['pick'];
  pickReason: string;
  snapshot: Snapshot | null;
  startedAt: Date;
  finishedAt: Date;
  phases: DrillPhaseSeconds;
  restore: RestoreOutcome | null;
  verifiers: VerifierOutcome[];
  setupFailures: DrillResult['failures'];
  aborted: boolean;
  sandbox: Sandbox | null;
  fraction: number;
  notes: string[];
  judgement: SnapshotJudgement | null;
  /** The archive version drilled (`ID@VERSION`), or null for whatever version is current. */
  version: string | null;
}

/** The full-restore time a sampled drill projects from its measured throughput, or null. */
export function projectFullRestore(
  phases: DrillPhaseSeconds,
  seenBytes: number,
  restoredBytes: number,
  fraction: number,
): number | null {
  if (fraction >= 1) return null;
  const scale = seenBytes / Math.max(restoredBytes, 1);
  return Math.round((phases.fetch + (phases.extract + phases.verify) * scale + phases.app) * 1000) / 1000;
}

function buildReport(facts: DrillFacts): DrillReport {
  const { restore, set } = facts;
  const failures: DrillResult['failures'] = [...facts.setupFailures];
  if (restore) {
    for (const problem of restore.problems)
      failures.push({
        verifier: 'restore',
        ...(problem.path ? { path: problem.path } : {}),
        detail: problem.detail,
      });
    if (restore.problemCount > restore.problems.length)
      failures.push({
        verifier: 'restore',
        detail: `… and ${restore.problemCount - restore.problems.length} more problems`,
      });
    if (!restore.complete && restore.problemCount === 0)
      failures.push({ verifier: 'restore', detail: 'the restore stopped before the end of the snapshot' });
  }
  for (const outcome of facts.verifiers) {
    for (const failure of outcome.failures)
      failures.push({
        verifier: outcome.verifier,
        ...(failure.path ? { path: failure.path } : {}),
        detail: failure.detail,
      });
    if (outcome.failuresOmitted)
      failures.push({ verifier: outcome.verifier, detail: `… and ${outcome.failuresOmitted} more` });
  }
  const durationSeconds =
    Math.round(((facts.finishedAt.getTime() - facts.startedAt.getTime()) / 1000) * 1000) / 1000;
  const projected = restore
    ? projectFullRestore(facts.phases, restore.seen.bytes, restore.restored.bytes, facts.fraction)
    : null;
  const rto = set.rtoSeconds ?? null;
  const outcome: DrillResult['outcome'] = facts.aborted
    ? 'aborted'
    : failures.length > 0 || !restore
      ? 'failed'
      : 'passed';
  const listed = failures.slice(0, MAX_FAILURES);
  if (failures.length > MAX_FAILURES)
    listed.push({ verifier: 'drill', detail: `… and ${failures.length - MAX_FAILURES} more failures` });
  return {
    id: facts.id,
    set: set.name,
    snapshot: facts.snapshot?.id ?? null,
    snapshotTime: facts.snapshot?.time.toISOString() ?? null,
    ...(facts.version !== null ? { snapshotVersion: facts.version } : {}),
    pick: facts.pick,
    startedAt: facts.startedAt.toISOString(),
    finishedAt: facts.finishedAt.toISOString(),
    outcome,
    phases: facts.phases,
    durationSeconds,
    rtoTargetSeconds: rto,
    withinRto:
      rto === null || outcome === 'aborted' || !restore ? null : (projected ?? durationSeconds) <= rto,
    sample: {
      fraction: facts.fraction,
      entries: restore?.restored.entries ?? 0,
      bytes: restore?.restored.bytes ?? 0,
    },
    projectedFullRestoreSeconds: projected,
    failures: listed,
    pickReason: facts.pickReason,
    verifiers: facts.verifiers,
    restore: restore
      ? {
          complete: restore.complete,
          entries: restore.seen.entries,
          bytes: restore.seen.bytes,
          problems: restore.problemCount,
          symlinks: [...restore.entries.values()].filter((entry) => entry.type === 'symlink').length,
          hardlinksCopied: [...restore.entries.values()].filter(
            (entry) => entry.type === 'hardlink' && entry.materialised,
          ).length,
          objectDigest: restore.object?.digest ?? null,
        }
      : null,
    sandbox: facts.sandbox?.kind ?? null,
    rpoTargetSeconds: set.rpoSeconds ?? null,
    notes: facts.notes,
    ...(facts.judgement ? { snapshotJudgement: judgementForOutcome(facts.judgement, outcome) } : {}),
  };
}

async function runVerifiers(
  context: VerifierContext,
  timer: PhaseTimer,
  restoreComplete: boolean,
): Promise<VerifierOutcome[]> {
  const outcomes: VerifierOutcome[] = [];
  for (const verifier of VERIFIERS) {
    if (!verifier.enabled(context.drill)) continue;
    if (context.signal?.aborted) break;
    const started = process.hrtime.bigint();
    let report;
    if (verifier.phase === 'app' && !restoreComplete) {
      report = { status: 'skipped' as const, detail: 'not run: the restore did not complete', failures: [] };
    } else {
      try {
        report = await timer.time(verifier.phase, () => verifier.run(context));
      } catch (error) {
        if (context.signal?.aborted) break;
        report = {
          status: 'failed' as const,
          detail: `the ${verifier.name} verifier failed`,
          failures: [{ detail: describeError(error) }],
        };
      }
    }
    outcomes.push({
      verifier: verifier.name,
      phase: verifier.phase,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      ...report,
    });
  }
  return outcomes;
}

/** Runs one drill and returns its full report (see the module comment). */
export async function runDrillReport(set: SetPolicy, options: DrillOptions): Promise<DrillReport> {
  const now = options.now ?? clockNow;
  const { stateDir, logger } = options;
  const startedAt = now();
  const id = drillId(set.name, startedAt);
  const { request, version } = splitVersion(set.name, options.snapshot ?? set.drill.pick);
  const lock = await acquireDrillLock(stateDir, set.name, `drill ${id}`);
  try {
    // Evidence that needs an operator stops the drill before it restores anything, not after.
    await (await openLedger(stateDir, anchorOptions(options.anchor))).close();
    await recoverInterruptedDrills(stateDir, {
      heldSet: set.name,
      now,
      ...(logger ? { logger } : {}),
      ...(options.anchor ? { anchor: options.anchor } : {}),
    });
    const workspace = await createWorkspace(stateDir, {
      id,
      set: set.name,
      pick: pickKind(request),
      startedAt: startedAt.toISOString(),
      pid: process.pid,
      host: hostname(),
      phase: 'pick',
      rtoTargetSeconds: set.rtoSeconds ?? null,
    });
    let report: DrillReport;
    try {
      report = {
        ...(await execute(set, options, workspace, request, version, startedAt, now)),
        requestedBy: options.requestedBy ?? { trigger: 'cli' },
      };
    } finally {
      await removeWorkspace(workspace.dir).catch((error: unknown) =>
        logger?.error({ err: error, dir: workspace.dir }, 'could not remove the drill directory'),
      );
    }
    const recorded = await recordDrill(stateDir, report, now(), options.anchor);
    logger?.info(
      { drill: id, set: set.name, outcome: recorded.outcome, seconds: recorded.durationSeconds },
      'drill finished',
    );
    return recorded;
  } finally {
    await lock.release();
  }
}

/** Runs one drill (the contract the daemon's scheduler calls). */
export async function runDrill(set: SetPolicy, options: DrillOptions): Promise<DrillResult> {
  return runDrillReport(set, options);
}

/**
 * Builds the drill's sandbox when an enabled verifier runs in one. Returns the sandbox, null when
 * no verifier needs one, or the reason it cannot be had (a missing bwrap: the drill fails before
 * anything is restored). Other errors throw.
 */
async function setUpSandbox(
  set: SetPolicy,
  workspace: DrillWorkspace,
  identity: ReturnType<typeof sandboxIdentity>,
): Promise<Sandbox | null | { unavailable: string }> {
  const drill = set.drill;
  if (!VERIFIERS.some((verifier) => verifier.sandboxed && verifier.enabled(drill))) return null;
  try {
    await prepareBox(workspace.boxDir, [workspace.restoreDir, workspace.scratchDir], identity);
    return createSandbox(drill.sandbox, {
      boxDir: workspace.boxDir,
      filesDir: workspace.filesDir,
      limits: drill.limits,
      env: { VOUCH_SET: set.name, VOUCH_DRILL: workspace.marker.id },
      identity,
    });
  } catch (error) {
    if (error instanceof SandboxUnavailableError) return { unavailable: error.message };
    throw error;
  }
}

/**
 * The baseline a drill of `snapshot` compares restored digests with, and what to note about it.
 * A drill of one stored version (`ID@VERSION`) compares only with a baseline taken from that
 * version; any other baseline would describe different bytes.
 */
async function baselineFor(
  stateDir: string,
  set: string,
  snapshot: Snapshot,
  versioned: { version: string; key: string } | null,
  indexedVersion: string | undefined,
): Promise<{ baseline: LoadedManifest | null; note: string | null }> {
  const baseline = await loadManifest(stateDir, set, snapshot.id);
  if (!versioned) return { baseline, note: null };
  const { version, key } = versioned;
  const baselined = baseline?.header.object?.versionId ?? indexedVersion;
  if (baselineIsOfVersion(baselined, version))
    return {
      baseline,
      note: `drilled version ${version} of ${key}, the version its baseline was taken from: restored files are compared with that baseline`,
    };
  return {
    baseline: null,
    note: `drilled version ${version} of ${key}; no baseline was recorded for that version (${baselined ? `the baseline is of version ${baselined}` : 'the baseline names no version'}): restored digests could not be compared`,
  };
}

/** What a restore leaves worth a note in the report: links not created, the sample, missing pinned files. Pure. */
function restoreNotes(restore: RestoreOutcome, set: SetPolicy, fraction: number): string[] {
  const notes: string[] = [];
  const symlinks = [...restore.entries.values()].filter((entry) => entry.type === 'symlink').length;
  if (symlinks)
    notes.push(
      `${symlinks} symbolic link${symlinks === 1 ? '' : 's'} recorded, not created (restores never create links)`,
    );
  if (fraction < 1)
    notes.push(
      `sampled ${restore.restored.entries} of ${restore.seen.entries} entries (${set.drill.samplePercent}%)`,
    );
  for (const pinned of pinnedPaths(set)) {
    if (!restoredFile(restore, pinned).ok && restore.complete)
      notes.push(`${pinned}, named by an application check, is not in the snapshot`);
  }
  return notes;
}

/**
 * The drill's phases after its workspace exists: sandbox, pick, restore, verify. Every outcome —
 * a missing sandbox, nothing to pick, a failed restore, an abort — is a report, never a throw,
 * except a snapshot version that cannot be read (the request's mistake: nothing is recorded).
 */
async function execute(
  set: SetPolicy,
  options: DrillOptions,
  workspace: DrillWorkspace,
  request: SnapshotRequest,
  version: string | null,
  startedAt: Date,
  now: () => Date,
): Promise<DrillReport> {
  const { signal } = options;
  const drill = set.drill;
  const timer: PhaseTimer = new PhaseTimer((phase): Promise<void> =>
    updateMarker(workspace, { phase, phases: timer.snapshot() }).catch(() => undefined),
  );
  const fraction = drill.samplePercent / 100;
  const facts: DrillFacts = {
    id: workspace.marker.id,
    set,
    pick: pickKind(request),
    pickReason: '',
    snapshot: null,
    startedAt,
    finishedAt: startedAt,
    phases: timer.snapshot(),
    restore: null,
    verifiers: [],
    setupFailures: [],
    aborted: false,
    sandbox: null,
    fraction,
    notes: [],
    judgement: null,
    version,
  };
  const finish = () => {
    facts.finishedAt = now();
    facts.phases = timer.snapshot();
    facts.aborted = signal?.aborted ?? false;
    if (facts.aborted)
      facts.setupFailures.push({
        verifier: 'drill',
        detail: `interrupted (${describeError(signal!.reason ?? 'aborted')}); the sandbox was killed and the drill directory removed`,
      });
    return buildReport(facts);
  };

  const identity = sandboxIdentity();
  const sandbox = await setUpSandbox(set, workspace, identity);
  if (sandbox !== null && 'unavailable' in sandbox) {
    facts.setupFailures.push({ verifier: 'sandbox', detail: sandbox.unavailable });
    facts.pickReason = 'not picked: the drill cannot run its checks';
    return finish();
  }
  facts.sandbox = sandbox;

  let source: BackupSource | null = null;
  try {
    source = await (
      options.createSource ?? ((policy: SetPolicy) => createSource(policy.source, { set: policy.name }))
    )(set);
    const [index, drills] = await Promise.all([
      readSetIndex(options.stateDir, set.name),
      readDrillIndex(options.stateDir, set.name),
    ]);
    const discovery = await discoverSourceSnapshots(source, { ...set, owners: snapshotOwners(index) });
    const picked = pickSnapshot({
      snapshots: discovery.snapshots,
      verdictOf: (snapshotId) => index.snapshots[snapshotId]?.verdict,
      request,
      drills: drills.drills,
      ...(drill.windowSeconds !== undefined ? { windowSeconds: drill.windowSeconds } : {}),
      now: startedAt,
      random: options.random ?? (() => randomInt(0, 2 ** 31) / 2 ** 31),
    });
    facts.pickReason = options.pickAs && picked.snapshot ? options.pickAs.reason : picked.reason;
    if (options.pickAs) facts.pick = options.pickAs.pick;
    if (!picked.snapshot) {
      facts.setupFailures.push({ verifier: 'pick', detail: `no snapshot to drill: ${picked.reason}` });
      return finish();
    }
    const versioned =
      version === null ? null : await resolveSnapshotVersion(set.name, source, picked.snapshot, version);
    const snapshot = versioned ?? picked.snapshot;
    facts.snapshot = snapshot;
    await updateMarker(workspace, { snapshot: snapshot.id, snapshotTime: snapshot.time.toISOString() });
    options.progress?.addTotal(snapshotBytes(snapshot));
    options.progress?.status(`${set.name}: restoring ${snapshot.id}`);

    const { baseline, note } = await baselineFor(
      options.stateDir,
      set.name,
      snapshot,
      versioned && version !== null ? { version, key: versioned.object.key } : null,
      index.snapshots[snapshot.id]?.baseline?.versionId,
    );
    if (note) facts.notes.push(note);
    const restore = await restoreSnapshot({
      set,
      source,
      snapshot,
      workspace,
      algorithm: baseline?.header.algorithm ?? set.algorithm,
      select: sampleSelector(workspace.marker.id, fraction, pinnedPaths(set)),
      timer,
      ...(signal ? { signal } : {}),
      ...(options.progress ? { progress: (bytes: number) => options.progress!.advance(bytes) } : {}),
      ...(facts.sandbox && identity.dropFromRoot ? { owner: { uid: identity.uid, gid: identity.gid } } : {}),
    });
    facts.restore = restore;
    // A version read back is not the object the scan's findings judged: they do not describe it.
    facts.judgement =
      version === null
        ? snapshotJudgement(index.snapshots[snapshot.id], snapshot.id, (entryPath) =>
            restore.entries.has(entryPath),
          )
        : null;
    if (signal?.aborted) return finish();
    facts.notes.push(...restoreNotes(restore, set, fraction));

    options.progress?.status(`${set.name}: verifying ${snapshot.id}`);
    const context: VerifierContext = {
      set,
      drill,
      snapshot,
      restore,
      workspace,
      baseline,
      sampled: fraction < 1,
      sandbox: facts.sandbox,
      ...(signal ? { signal } : {}),
    };
    facts.verifiers = await runVerifiers(context, timer, restore.complete);
    return finish();
  } catch (error) {
    // A version that cannot be read is the request's mistake, not the snapshot's: nothing is recorded.
    if (error instanceof SnapshotVersionError) throw error;
    if (!signal?.aborted) facts.setupFailures.push({ verifier: 'drill', detail: describeError(error) });
    return finish();
  } finally {
    options.progress?.stop();
    await source?.close().catch(() => undefined);
  }
}
