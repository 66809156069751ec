/**
 * Evidence status: is the ledger's chain intact? The one place the daemon asks, so the check can
 * be swapped for full signature verification (`verifyLedger` from evidence/verify-ledger.ts)
 * without touching metrics, readiness or the API.
 *
 * Here it replays the hash chain (`readLedger` + the chain checker). A scrape must not re-read a
 * large ledger that has not changed, so the result is cached per state directory and reused
 * while the segment files' names, sizes and modification times stay the same.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createChainChecker } from '../evidence/ledger-record.js';
import { readLedger } from '../state/ledger-store.js';

/** The shape `verifyLedger` returns (fields may be added). */
export interface EvidenceStatus {
  ok: boolean;
  records: number;
  firstBad?: { seq: number; problem: string };
  keyFingerprints: string[];
}

const cache = new Map<string, { key: string; status: EvidenceStatus }>();

async function ledgerFingerprint(stateDir: string): Promise<string> {
  const dir = path.join(stateDir, 'ledger');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.ndjson')).sort();
  const parts = await Promise.all(
    names.map(async (name) => {
      const stats = await stat(path.join(dir, name));
      return `${name}:${stats.size}:${stats.mtimeMs}`;
    }),
  );
  return parts.join('|');
}

async function replayChain(stateDir: string): Promise<EvidenceStatus> {
  const checker = createChainChecker();
  let position = 0;
  for await (const record of readLedger(stateDir)) {
    position++;
    if (record === null) return { ok: false, records: position - 1, firstBad: { seq: -1, problem: `record ${position} is not JSON` }, keyFingerprints: [] };
    const broken = checker.check(record, position);
    if (broken) return { ok: false, records: position - 1, firstBad: { seq: broken.seq, problem: `${broken.problem}: ${broken.detail}` }, keyFingerprints: [] };
  }
  return { ok: true, records: position, keyFingerprints: [] };
}

/** Checks the evidence chain of a state directory (an empty ledger is intact). */
export async function evidenceStatus(stateDir: string): Promise<EvidenceStatus> {
  const key = await ledgerFingerprint(stateDir);
  const cached = cache.get(stateDir);
  if (cached?.key === key) return cached.status;
  const status = await replayChain(stateDir);
  cache.set(stateDir, { key, status });
  return status;
}
