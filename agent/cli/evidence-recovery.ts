/**
 * The two explicit recoveries of the evidence ledger, shared by `vouch evidence recover-head` and
 * `vouch evidence rotate-key --lost`. Each is allowed only when a full verification finds the
 * chain itself intact (the problem is the head or the key, not the records) and — when the policy
 * anchors heads — the ledger is not behind any anchored head: then nothing was cut off that a new
 * head or key would hide. Each writes a signed record of what it found before it writes a head.
 */
import type { Policy } from '../config/resolve-policy.js';
import { anchorOptions, createHeadAnchor } from '../ledger/head-anchor.js';
import type { LedgerRecord } from '../ledger/ledger-record.js';
import { verifyLedger, type LedgerVerification } from '../ledger/verify-ledger.js';
import {
  EvidenceRecoveryError,
  openLedgerForRecovery,
  type KeyRotation,
  type LedgerCondition,
  type LedgerOptions,
} from '../ledger/ledger-store.js';

/** Ledger options for a command run under `policy` (anchors heads per `evidence.anchor`). */
export function evidenceLedgerOptions(policy: Policy | undefined): LedgerOptions {
  return anchorOptions(policy?.evidence?.anchor);
}

/** Verifies the chain (and the anchor) and throws unless only the head or key is wrong. */
async function soundChain(
  stateDir: string,
  policy: Policy | undefined,
  what: string,
): Promise<LedgerVerification> {
  const spec = policy?.evidence?.anchor;
  const anchor = spec ? createHeadAnchor(spec) : undefined;
  try {
    const verification = await verifyLedger(stateDir, {
      checkManifests: false,
      ...(anchor ? { anchor } : {}),
    });
    const bad = verification.firstBad;
    const behind = verification.anchor?.problems[0];
    if (behind) {
      throw new EvidenceRecoveryError(
        `refusing to ${what}: ${behind.detail}. Restore the ledger from a backup; a new head or key would sign over the loss.`,
      );
    }
    if (bad && !bad.head && bad.problem !== 'unknown-key') {
      const where = bad.segment ? ` (${bad.segment} line ${bad.line})` : '';
      throw new EvidenceRecoveryError(
        `refusing to ${what}: the chain itself is broken at record ${bad.seq}${where}: ${bad.problem} — ${bad.detail}. Recovering would not repair that.`,
      );
    }
    return verification;
  } finally {
    anchor?.close();
  }
}

function headFinding(condition: LedgerCondition, verification: LedgerVerification): Record<string, unknown> {
  const { head } = condition;
  const bad = verification.firstBad?.head ? verification.firstBad : undefined;
  return {
    reason:
      bad?.problem ??
      (head.state === 'missing'
        ? 'head-missing'
        : head.state === 'unreadable'
          ? 'head-unreadable'
          : 'head-mismatch'),
    detail: bad?.detail ?? condition.headProblem ?? '',
    previousHead: head.state === 'present' ? head.head : null,
    ...(head.state === 'unreadable'
      ? { previousHeadFile: { sha256: head.sha256, bytes: head.bytes, problem: head.detail } }
      : {}),
    ledger: condition.last ? { seq: condition.last.seq, hash: condition.last.hash } : { seq: 0, hash: null },
    ...(verification.anchor
      ? {
          anchor: {
            location: verification.anchor.location,
            heads: verification.anchor.heads,
            newestSeq: verification.anchor.newest?.seq ?? null,
          },
        }
      : {}),
  };
}

/** `recover-head`: a `head-recovered` record and a new signed head at the ledger's last record. */
export async function recoverHead(
  stateDir: string,
  policy: Policy | undefined,
): Promise<{ record: LedgerRecord; found: Record<string, unknown> }> {
  const ledger = await openLedgerForRecovery(stateDir, anchorOptions(policy?.evidence?.anchor));
  try {
    const condition = await ledger.condition();
    if (!condition.headProblem)
      throw new EvidenceRecoveryError(
        `the ledger head of ${stateDir} is sound (seq ${condition.last?.seq ?? 0}): nothing to recover`,
      );
    if (!condition.keyPresent)
      throw new EvidenceRecoveryError(
        'the signing key is missing too: run `vouch evidence rotate-key --lost` first (it also signs a new head)',
      );
    const found = headFinding(condition, await soundChain(stateDir, policy, 'recover the head'));
    return { record: await ledger.recoverHead(found), found };
  } finally {
    await ledger.close();
  }
}

/** `rotate-key --lost`: a `key-replaced` record signed by a new key, and a new signed head. */
export async function recoverLostKey(stateDir: string, policy: Policy | undefined): Promise<KeyRotation> {
  const ledger = await openLedgerForRecovery(stateDir, anchorOptions(policy?.evidence?.anchor));
  try {
    const condition = await ledger.condition();
    if (condition.keyPresent)
      throw new EvidenceRecoveryError(
        'the signing key is there: use `vouch evidence rotate-key` without --lost',
      );
    if (!condition.last?.keyId)
      throw new EvidenceRecoveryError(
        'the ledger holds no signed record yet: the key is generated on first use, nothing to replace',
      );
    const verification = await soundChain(stateDir, policy, 'replace the signing key');
    return await ledger.replaceLostKey({
      reason: 'signing-key-missing',
      detail: `keys/signing-key.pem was missing; the ledger's last record (seq ${condition.last.seq}) was signed by key ${condition.last.keyId}`,
      head: condition.headProblem ? headFinding(condition, verification) : 'sound',
    });
  } finally {
    await ledger.close();
  }
}
