/**
 * How the daemon shares the state directory with itself and with a CLI run.
 *
 * The daemon does not hold the state lock while idle: it takes it when a job needs to write and
 * lets go when the last such job ends. So `vouch scan` from a shell works between daemon jobs and,
 * while a job runs, fails with the usual "state directory … is in use by pid …" error; a daemon
 * job that finds a CLI run holding the lock fails the same way and is counted as a failed run.
 *
 * - `shared`: jobs that write through the daemon's ledger (scans, audits) run together under one
 *   lock and one open ledger, whose appends are serialised.
 * - `exclusive`: jobs that lock for themselves (restore drills take their set's drill lock and
 *   append under the ledger's own append lock) run alone, with the daemon holding no lock, after
 *   the shared jobs finish; new shared jobs wait for them.
 */
import { mkdir } from 'node:fs/promises';
import { openLedger, type LedgerOptions, type LedgerStore } from '../ledger/ledger-store.js';
import { acquireStateLock, type StateLock } from '../state/state-lock.js';

/** Access to one state directory for the daemon's jobs. */
export interface StateAccess {
  /** Runs `fn` with the lock held and the ledger open, alongside other shared users. */
  shared<T>(fn: (ledger: LedgerStore) => Promise<T>): Promise<T>;
  /** Runs `fn` alone, while the daemon holds no lock. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether the daemon holds the lock now. */
  holdsLock(): boolean;
}

interface Waiter {
  kind: 'shared' | 'exclusive';
  admit: () => void;
}

/** Creates the access controller for `stateDir`; `ledgerOptions` is asked each time the ledger is opened (the policy may have been reloaded). */
export function createStateAccess(
  stateDir: string,
  ledgerOptions: () => LedgerOptions = () => ({}),
): StateAccess {
  let sharedUsers = 0;
  let exclusiveUser = false;
  const waiting: Waiter[] = [];
  let lease: Promise<{ lock: StateLock; ledger: LedgerStore }> | null = null;
  // A lease being closed must be gone before the next one opens, or the next would find our own lock.
  let closing: Promise<void> = Promise.resolve();

  const canAdmit = (kind: Waiter['kind']) =>
    kind === 'shared'
      ? !exclusiveUser && !waiting.some((w) => w.kind === 'exclusive')
      : !exclusiveUser && sharedUsers === 0;

  function admitWaiting(): void {
    while (waiting.length) {
      const first = waiting[0]!;
      if (first.kind === 'exclusive') {
        if (exclusiveUser || sharedUsers > 0) return;
        waiting.shift();
        exclusiveUser = true;
        first.admit();
        return;
      }
      if (exclusiveUser) return;
      waiting.shift();
      sharedUsers++;
      first.admit();
    }
  }

  function enter(kind: Waiter['kind']): Promise<void> {
    if (waiting.length === 0 && canAdmit(kind)) {
      if (kind === 'shared') sharedUsers++;
      else exclusiveUser = true;
      return Promise.resolve();
    }
    return new Promise((admit) => waiting.push({ kind, admit }));
  }

  async function openLease(): Promise<{ lock: StateLock; ledger: LedgerStore }> {
    await closing;
    await mkdir(stateDir, { recursive: true });
    const lock = await acquireStateLock(stateDir);
    try {
      return { lock, ledger: await openLedger(stateDir, ledgerOptions()) };
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  function closeLease(): Promise<void> {
    const current = lease;
    lease = null;
    if (!current) return closing;
    closing = (async () => {
      const opened = await current.catch(() => null);
      if (!opened) return;
      await opened.ledger.close().catch(() => undefined);
      await opened.lock.release().catch(() => undefined);
    })();
    return closing;
  }

  return {
    async shared(fn) {
      await enter('shared');
      try {
        lease ??= openLease();
        const opened = await lease.catch(async (error: unknown) => {
          lease = null; // the next job tries again (a CLI run may have finished by then)
          throw error;
        });
        return await fn(opened.ledger);
      } finally {
        sharedUsers--;
        if (sharedUsers === 0) await closeLease();
        admitWaiting();
      }
    },
    async exclusive(fn) {
      await enter('exclusive');
      try {
        return await fn();
      } finally {
        exclusiveUser = false;
        admitWaiting();
      }
    },
    holdsLock: () => lease !== null,
  };
}
