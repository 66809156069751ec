/**
 * Evidence status: is the ledger intact — chain, ed25519 signatures, key rotations, signed head
 * (`verifyLedger` from ledger/verify-ledger.ts)? The one place the daemon asks, for metrics,
 * readiness and the API.
 *
 * Verifying a large ledger
 * takes seconds, which a scrape cannot wait for, so the result is cached per state directory:
 * while the segment files' names, sizes and modification times stay the same
 * (`ledgerFilesFingerprint`, ledger/ledger-store.ts) it is reused; when
 * they change, the previous result is returned and one re-verification starts in the background
 * (the next call sees its result). Only the very first verification is waited for (by every caller
 * that arrives while it runs).
 */
import { ledgerFilesFingerprint } from '../ledger/ledger-store.js';
import { verifyLedger } from '../ledger/verify-ledger.js';

/** The shape `verifyLedger` returns (fields may be added). */
export interface EvidenceStatus {
  ok: boolean;
  records: number;
  firstBad?: { seq: number; problem: string };
  keyFingerprints: string[];
}

interface CacheEntry {
  key: string;
  status: EvidenceStatus;
  refreshing: Promise<void> | null;
}

const cache = new Map<string, CacheEntry>();
/** First verifications under way, so callers arriving meanwhile share one instead of starting their own. */
const firstRuns = new Map<string, Promise<EvidenceStatus>>();

async function replayChain(stateDir: string): Promise<EvidenceStatus> {
  // Chain, signatures, key rotations and the signed head; manifests are re-hashed by `vouch
  // evidence verify`, not on the daemon's schedule (they can be gigabytes).
  const verification = await verifyLedger(stateDir, { checkManifests: false });
  return {
    ok: verification.ok,
    records: verification.records,
    ...(verification.firstBad
      ? {
          firstBad: {
            seq: verification.firstBad.seq,
            problem: `${verification.firstBad.problem}: ${verification.firstBad.detail}`,
          },
        }
      : {}),
    keyFingerprints: verification.keyFingerprints,
  };
}

/** Options of `evidenceStatus`. */
export interface EvidenceStatusOptions {
  /** Wait for a re-verification of a changed ledger instead of answering from the previous one. */
  fresh?: boolean;
}

/** Checks the evidence chain of a state directory (an empty ledger is intact). */
export async function evidenceStatus(
  stateDir: string,
  options: EvidenceStatusOptions = {},
): Promise<EvidenceStatus> {
  const key = await ledgerFilesFingerprint(stateDir);
  const entry = cache.get(stateDir);
  if (!entry) {
    let first = firstRuns.get(stateDir);
    if (!first) {
      first = replayChain(stateDir)
        .then((status) => {
          cache.set(stateDir, { key, status, refreshing: null });
          return status;
        })
        .finally(() => firstRuns.delete(stateDir));
      firstRuns.set(stateDir, first);
    }
    return first;
  }
  const refresh = () => {
    entry.refreshing = replayChain(stateDir)
      .then((status) => {
        entry.status = status;
        entry.key = key;
      })
      .catch((error: unknown) => {
        entry.status = {
          ok: false,
          records: 0,
          firstBad: { seq: -1, problem: `ledger not readable: ${(error as Error).message}` },
          keyFingerprints: [],
        };
        entry.key = key;
      })
      .finally(() => (entry.refreshing = null));
  };
  if (entry.key !== key && !entry.refreshing) refresh();
  // A re-verification that started before the ledger's latest change answers for an older
  // ledger: wait for it, then verify again.
  while (options.fresh && entry.refreshing) {
    await entry.refreshing;
    if (entry.key !== key && entry.refreshing === null) refresh();
  }
  return entry.status;
}
