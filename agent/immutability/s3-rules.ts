/**
 * Judges what an S3 bucket said against the set's immutability policy (pure): Object Lock mode
 * and default retention, versioning, lifecycle rules that would delete objects inside the
 * retention, and per-object retention that ends before the policy's minimum.
 */
import { formatDuration } from '../config/duration.js';
import type { SetPolicy } from '../config/resolve-policy.js';
import type { Finding } from '../model/findings.js';
import type { ImmutabilityCheck } from '../model/immutability.js';
import type { LifecycleRuleFacts, ObjectLockState, S3BucketFacts } from './s3-facts.js';

/** One sampled snapshot object and its lock state. */
export interface SampledObject {
  /** Full key in the bucket. */
  key: string;
  snapshotTime: Date;
  state: ObjectLockState;
}

/** What the S3 judgement needs. */
export interface S3JudgementInput {
  policy: SetPolicy['immutability'];
  facts: S3BucketFacts;
  /** The set's key prefix (normalised, `''` for the whole bucket). */
  prefix: string;
  sampled: SampledObject[];
  /** Keys whose remaining retention is reported (the last clean snapshot's objects, else the newest). */
  focusKeys: readonly string[];
  now: Date;
}

export interface S3Judgement {
  checks: ImmutabilityCheck[];
  /** Object Lock is on and every sampled object is locked (retention or legal hold). */
  protected: boolean;
  retentionRemainingSeconds: number | null;
  /** One finding per object whose lock falls short, naming it. */
  objectFindings: Finding[];
}

/** Per-object findings kept per audit; the check's detail counts them all. */
const MAX_OBJECT_FINDINGS = 100;

function lockRequired(policy: S3JudgementInput['policy']): boolean {
  return policy?.objectLock !== undefined && policy.objectLock !== 'off';
}

function modeSatisfies(wanted: string | undefined, mode: 'COMPLIANCE' | 'GOVERNANCE' | null): boolean {
  if (wanted === 'compliance') return mode === 'COMPLIANCE';
  if (wanted === 'governance') return mode === 'COMPLIANCE' || mode === 'GOVERNANCE';
  return true;
}

function objectLockCheck(input: S3JudgementInput): ImmutabilityCheck {
  const { facts, policy } = input;
  const required = lockRequired(policy);
  const lock = facts.objectLock;
  const base = { check: 'object-lock', required };
  if ('detail' in lock) {
    return {
      ...base,
      status: 'unknown',
      detail: `bucket ${facts.bucket}: Object Lock configuration not readable (${lock.detail})`,
    };
  }
  if (lock.status === 'disabled') {
    return {
      ...base,
      status: required ? 'fail' : 'info',
      detail: `bucket ${facts.bucket} has no Object Lock`,
    };
  }
  const mode = lock.mode ?? 'no default mode';
  if (required && lock.mode !== null && !modeSatisfies(policy?.objectLock, lock.mode)) {
    return {
      ...base,
      status: 'fail',
      detail: `bucket ${facts.bucket} defaults to ${mode} mode; the policy requires ${policy?.objectLock}`,
    };
  }
  return {
    ...base,
    status: 'pass',
    detail: `bucket ${facts.bucket}: Object Lock enabled, default mode ${mode}`,
  };
}

function defaultRetentionCheck(input: S3JudgementInput): ImmutabilityCheck {
  const { facts, policy } = input;
  const minimum = policy?.minRetentionSeconds;
  const base = { check: 'default-retention', required: minimum !== undefined };
  const lock = facts.objectLock;
  if (lock.status !== 'enabled')
    return { ...base, required: false, status: 'info', detail: 'no Object Lock, so no default retention' };
  if (lock.defaultRetentionSeconds === null) {
    return {
      ...base,
      required: false,
      status: 'info',
      detail: 'no default retention: objects must carry their own (checked per object)',
    };
  }
  const text = formatDuration(lock.defaultRetentionSeconds);
  if (minimum !== undefined && lock.defaultRetentionSeconds < minimum) {
    return {
      ...base,
      status: 'fail',
      detail: `default retention ${text} is shorter than the policy minimum ${formatDuration(minimum)}`,
    };
  }
  return { ...base, status: 'pass', detail: `default retention ${text}` };
}

function versioningCheck(input: S3JudgementInput): ImmutabilityCheck {
  const { facts, policy } = input;
  const required = policy?.versioning === 'required' || lockRequired(policy);
  const base = { check: 'versioning', required };
  const versioning = facts.versioning;
  if ('detail' in versioning) {
    return {
      ...base,
      status: 'unknown',
      detail: `bucket ${facts.bucket}: versioning not readable (${versioning.detail})`,
    };
  }
  if (versioning.status === 'enabled')
    return { ...base, status: 'pass', detail: `bucket ${facts.bucket}: versioning enabled` };
  return {
    ...base,
    status: required ? 'fail' : 'info',
    detail: `bucket ${facts.bucket}: versioning ${versioning.status}`,
  };
}

function ruleTouchesSet(rule: LifecycleRuleFacts, prefix: string): boolean {
  // A rule applies to the set when either prefix contains the other.
  return rule.enabled && (prefix.startsWith(rule.prefix) || rule.prefix.startsWith(prefix));
}

function lifecycleCheck(input: S3JudgementInput): ImmutabilityCheck {
  const { facts, policy, prefix, now } = input;
  const minimum = policy?.minRetentionSeconds;
  const base = { check: 'lifecycle', required: minimum !== undefined };
  const lifecycle = facts.lifecycle;
  if (lifecycle.status === 'unsupported') {
    return {
      ...base,
      required: false,
      status: 'info',
      detail: `the store has no lifecycle rules (${lifecycle.detail})`,
    };
  }
  if ('detail' in lifecycle)
    return {
      ...base,
      status: 'unknown',
      detail: `lifecycle configuration not readable (${lifecycle.detail})`,
    };
  if (lifecycle.status === 'none') return { ...base, status: 'pass', detail: 'no lifecycle rules' };
  if (minimum === undefined)
    return {
      ...base,
      status: 'info',
      detail: `${lifecycle.rules.length} lifecycle rule(s); no minimum retention to compare with`,
    };
  const minimumDays = minimum / 86_400;
  const early: string[] = [];
  for (const rule of lifecycle.rules.filter((candidate) => ruleTouchesSet(candidate, prefix))) {
    if (rule.expirationDays !== undefined && rule.expirationDays < minimumDays)
      early.push(`${rule.id} expires objects after ${rule.expirationDays}d`);
    if (rule.noncurrentDays !== undefined && rule.noncurrentDays < minimumDays)
      early.push(`${rule.id} deletes noncurrent versions after ${rule.noncurrentDays}d`);
    if (
      rule.expirationDate !== undefined &&
      Date.parse(rule.expirationDate) < now.getTime() + minimum * 1000
    ) {
      early.push(`${rule.id} expires objects on ${rule.expirationDate.slice(0, 10)}`);
    }
  }
  if (early.length) {
    return {
      ...base,
      status: 'fail',
      detail: `lifecycle would delete objects inside the ${formatDuration(minimum)} retention: ${early.join('; ')}`,
    };
  }
  return {
    ...base,
    status: 'pass',
    detail: `${lifecycle.rules.length} lifecycle rule(s), none expires objects inside the retention`,
  };
}

/** Why one object's lock falls short of the policy, or null when it does not. */
function objectShortfall(object: SampledObject, policy: S3JudgementInput['policy']): string | null {
  const { retention, legalHold } = object.state;
  if ('detail' in retention) return null; // reported as unknown
  const held = legalHold.status === 'on';
  if (retention.status === 'none') return held ? null : 'no retention and no legal hold';
  if (policy?.objectLock === 'compliance' && retention.mode === 'GOVERNANCE' && !held) {
    return 'retention is in GOVERNANCE mode (can be bypassed); the policy requires compliance';
  }
  const minimum = policy?.minRetentionSeconds;
  if (minimum !== undefined && !held) {
    const wanted = object.snapshotTime.getTime() + minimum * 1000;
    if (Date.parse(retention.retainUntil) < wanted) {
      return `retained until ${retention.retainUntil}, before the policy minimum ${new Date(wanted).toISOString()} (${formatDuration(minimum)} after the snapshot)`;
    }
  }
  return null;
}

function objectRetentionCheck(input: S3JudgementInput, findings: Finding[]): ImmutabilityCheck {
  const { sampled, policy, facts } = input;
  const required = lockRequired(policy) || policy?.minRetentionSeconds !== undefined;
  const base = { check: 'object-retention', required };
  if (sampled.length === 0) return { ...base, status: 'info', detail: 'no snapshot objects to check' };
  const unanswered = sampled.filter(
    (object) => object.state.retention.status === 'unsupported' || object.state.retention.status === 'error',
  );
  if (unanswered.length) {
    const first = unanswered[0]!.state.retention as { detail: string };
    return {
      ...base,
      status: 'unknown',
      detail: `retention of ${unanswered.length} of ${sampled.length} sampled objects not readable (${first.detail})`,
    };
  }
  let short = 0;
  for (const object of sampled) {
    const why = objectShortfall(object, policy);
    if (!why) continue;
    short++;
    if (findings.length < MAX_OBJECT_FINDINGS) {
      findings.push({
        kind: 'immutability',
        path: `s3://${facts.bucket}/${object.key}`,
        severity: 'critical',
        detail: why,
      });
    }
  }
  if (short)
    return {
      ...base,
      status: required ? 'fail' : 'info',
      detail: `${short} of ${sampled.length} sampled objects are not locked as the policy requires`,
    };
  return { ...base, status: 'pass', detail: `${sampled.length} sampled objects locked as required` };
}

function legalHoldCheck(sampled: readonly SampledObject[]): ImmutabilityCheck {
  const held = sampled.filter((object) => object.state.legalHold.status === 'on').length;
  return {
    check: 'legal-hold',
    required: false,
    status: 'info',
    detail: `${held} of ${sampled.length} sampled objects under legal hold`,
  };
}

function remainingRetention(input: S3JudgementInput): number | null {
  const focus = new Set(input.focusKeys);
  let remaining: number | null = null;
  for (const object of input.sampled) {
    if (!focus.has(object.key) || object.state.retention.status !== 'set') continue;
    const seconds = Math.max(
      0,
      (Date.parse(object.state.retention.retainUntil) - input.now.getTime()) / 1000,
    );
    remaining = remaining === null ? seconds : Math.min(remaining, seconds);
  }
  return remaining;
}

/** Judges the bucket's answers against the policy. */
export function judgeS3(input: S3JudgementInput): S3Judgement {
  const objectFindings: Finding[] = [];
  const retention = objectRetentionCheck(input, objectFindings);
  const checks = [
    objectLockCheck(input),
    defaultRetentionCheck(input),
    versioningCheck(input),
    lifecycleCheck(input),
    retention,
    legalHoldCheck(input.sampled),
  ];
  const everyObjectLocked = input.sampled.every(
    (object) => object.state.retention.status === 'set' || object.state.legalHold.status === 'on',
  );
  return {
    checks,
    protected: input.facts.objectLock.status === 'enabled' && everyObjectLocked,
    retentionRemainingSeconds: remainingRetention(input),
    objectFindings,
  };
}

/**
 * Which objects to read per-object lock state for (pure): the focus objects, then the newest half
 * of the budget, then a window over the rest that moves with `rotation` so every object is read
 * within a few audits.
 */
export function sampleObjects<T extends { key: string; snapshotTime: Date }>(
  objects: readonly T[],
  focusKeys: readonly string[],
  budget: number,
  rotation: number,
): T[] {
  const newestFirst = [...objects].sort((a, b) => b.snapshotTime.getTime() - a.snapshotTime.getTime());
  const picked = new Map<string, T>();
  const focus = new Set(focusKeys);
  for (const object of newestFirst)
    if (focus.has(object.key) && picked.size < budget) picked.set(object.key, object);
  const newestBudget = Math.ceil(budget / 2);
  for (const object of newestFirst) {
    if (picked.size >= newestBudget) break;
    picked.set(object.key, object);
  }
  const rest = newestFirst.filter((object) => !picked.has(object.key));
  const room = Math.min(budget - picked.size, rest.length);
  const start = rest.length ? (rotation * Math.max(room, 1)) % rest.length : 0;
  for (let i = 0; i < room; i++) {
    const object = rest[(start + i) % rest.length]!;
    picked.set(object.key, object);
  }
  return [...picked.values()];
}
