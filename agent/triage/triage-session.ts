/**
 * What accepting and revoking share: the state lock (scans rewrite the set index, so triage
 * writes it alone), the ledger, the acceptances brought up to date with it, and the commit that
 * follows a triage record — the set's stored results judged again, the index rewritten and one
 * `verdict-change` record per snapshot whose verdict moved. The record comes first: a crash after
 * it loses nothing, because the next scan or triage folds it in again (state/acceptance-index.ts).
 */
import { now as clockNow } from '../clock.js';
import { stat } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import type { SetPolicy } from '../config/resolve-policy.js';
import type { VerdictEffect } from '../ledger/acceptance-records.js';
import type { LedgerRecord } from '../ledger/ledger-record.js';
import { ConfigError } from '../errors.js';
import { acceptancesOf, syncAcceptanceIndex } from '../state/acceptance-index.js';
import { openLedger, type LedgerStore } from '../ledger/ledger-store.js';
import { readSetIndex, writeSetIndex } from '../state/set-index.js';
import { type SetIndex } from '../model/snapshot-state.js';
import { acquireStateLock } from '../state/state-lock.js';
import type { Acceptance } from '../model/acceptance.js';
import type { EncryptionThresholds } from '../verdicts/snapshot-verdict.js';
import { rejudgeSet } from './rejudge-set.js';

/** Where triage works. */
export interface TriageTarget {
  stateDir: string;
  set: SetPolicy;
  now?: () => Date;
}

/** An open triage session on one set. */
export interface TriageSession {
  ledger: LedgerStore;
  /** The set's acceptances as of the ledger now, oldest first. */
  acceptances(): Promise<Acceptance[]>;
  /** The set's stored results. */
  index(): Promise<SetIndex>;
  /** The verdict changes `acceptances` would make to the stored results (nothing is written). */
  preview(acceptances: readonly Acceptance[]): Promise<VerdictEffect[]>;
  /** After `record` (a triage record): judges the set again, rewrites its index, records each verdict change. */
  commit(record: LedgerRecord, cause: 'acceptance' | 'revocation'): Promise<VerdictEffect[]>;
}

/** The set's detection thresholds, which verdicts are judged with. */
export function thresholdsOf(set: SetPolicy): EncryptionThresholds {
  return { files: set.detection.compromisedFiles, fraction: set.detection.compromisedFraction };
}

/** Who is doing this, when `--by` does not say: the OS user (`user@host`). */
export function currentUser(): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? process.env.LOGNAME;
  }
  return `${name || `uid ${process.getuid?.() ?? '?'}`}@${hostname()}`;
}

/** Runs `work` holding the state lock with the ledger open. */
export async function withTriageSession<T>(
  target: TriageTarget,
  work: (session: TriageSession) => Promise<T>,
): Promise<T> {
  const { stateDir, set } = target;
  if (
    !(await stat(stateDir).then(
      (info) => info.isDirectory(),
      () => false,
    ))
  ) {
    throw new ConfigError(
      `state directory ${stateDir} does not exist: nothing was scanned there (run \`vouch scan ${set.name}\` first, or pass --state)`,
    );
  }
  const lock = await acquireStateLock(stateDir);
  try {
    const ledger = await openLedger(stateDir);
    try {
      const acceptances = async () =>
        acceptancesOf(await syncAcceptanceIndex(stateDir, { persist: true }), set.name);
      const index = () => readSetIndex(stateDir, set.name);
      const session: TriageSession = {
        ledger,
        acceptances,
        index,
        async preview(candidate) {
          return rejudgeSet(await index(), candidate, thresholdsOf(set)).changes;
        },
        async commit(record, cause) {
          const at = target.now?.() ?? clockNow();
          const { index: judged, changes } = rejudgeSet(
            await index(),
            await acceptances(),
            thresholdsOf(set),
            at,
          );
          judged.updatedAt = at.toISOString();
          await writeSetIndex(stateDir, judged);
          for (const change of changes) {
            const state = judged.snapshots[change.snapshot]!;
            await ledger.append('verdict-change', {
              set: set.name,
              ...change,
              findingCounts: state.findingCounts,
              ...(state.acceptedCounts ? { acceptedCounts: state.acceptedCounts } : {}),
              [cause]: record.seq,
            });
          }
          return changes;
        },
      };
      return await work(session);
    } finally {
      await ledger.close();
    }
  } finally {
    await lock.release();
  }
}
