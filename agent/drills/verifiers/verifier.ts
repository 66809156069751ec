/**
 * The Verifier contract: one check a drill runs on what it restored. Each lives in its own file
 * and is listed once in registry.ts. A verifier never throws for what it finds — a failed check
 * is `failed` with failures naming the file or assertion — and says `skipped`, with why, when it
 * has nothing to check.
 */
import type { DrillPolicy, SetPolicy } from '../../config/resolve-policy.js';
import type { LoadedManifest } from '../../state/manifest-store.js';
import type { Snapshot } from '../../sources/snapshot-discovery.js';
import type { RestoreOutcome } from '../restore.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { DrillWorkspace } from '../workspace.js';
import type { VerifierFailure, VerifierReport, AssertionOutcome } from '../../model/drill.js';

/** What a verifier may look at. */
export interface VerifierContext {
  set: SetPolicy;
  drill: DrillPolicy;
  snapshot: Snapshot;
  restore: RestoreOutcome;
  workspace: DrillWorkspace;
  /** The snapshot's baseline manifest, or null when it was never scanned completely. */
  baseline: LoadedManifest | null;
  /** True when the drill restored only a sample of the entries. */
  sampled: boolean;
  /** The drill's sandbox (created before the restore, so a missing bwrap fails fast). */
  sandbox: Sandbox | null;
  signal?: AbortSignal;
}

/** Characters of an assertion's returned value kept in the record. */
export const MAX_ASSERTION_VALUE = 200;

/** An assertion's outcome as recorded (value capped). */
export function assertionOutcome(
  file: string,
  assertion: { name: string; sql: string },
  value: string | null,
  ok: boolean,
  detail?: string,
): AssertionOutcome {
  return {
    file,
    name: assertion.name,
    sql: assertion.sql,
    value: value === null ? null : value.slice(0, MAX_ASSERTION_VALUE),
    ok,
    ...(detail !== undefined ? { detail } : {}),
  };
}

/** One kind of check. */
export interface Verifier {
  readonly name: string;
  /** `verify`: integrity of the restored bytes; `app`: does the application's data work. */
  readonly phase: 'verify' | 'app';
  /** False when the policy asks for nothing this verifier does (it is then left out entirely). */
  enabled(drill: DrillPolicy): boolean;
  /** True when the verifier runs commands (the drill then needs a sandbox). */
  readonly sandboxed: boolean;
  run(context: VerifierContext): Promise<VerifierReport>;
}

/** Failures listed per verifier; the rest are counted. */
export const MAX_LISTED_FAILURES = 100;

/** A report from a list of failures (capped), passed when there are none. */
export function reportFrom(
  failures: VerifierFailure[],
  passedDetail: string,
  failedDetail: string,
): VerifierReport {
  if (failures.length === 0) return { status: 'passed', detail: passedDetail, failures: [] };
  const listed = failures.slice(0, MAX_LISTED_FAILURES);
  return {
    status: 'failed',
    detail: failedDetail,
    failures: listed,
    ...(failures.length > listed.length ? { failuresOmitted: failures.length - listed.length } : {}),
  };
}
