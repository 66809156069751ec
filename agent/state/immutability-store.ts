/**
 * The latest immutability audit per set: `immutability/SET.json`, a cache of the ledger's
 * `immutability-audit` records for metrics, readiness and the API.
 */
import path from 'node:path';
import type { ImmutabilityAudit } from '../model/immutability.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { readJsonFile } from '../fs/json-file.js';

function auditPath(stateDir: string, set: string): string {
  return path.join(stateDir, 'immutability', `${set}.json`);
}

/** The set's latest audit, or null when it was never audited. */
export async function readImmutabilityAudit(
  stateDir: string,
  set: string,
): Promise<ImmutabilityAudit | null> {
  return readJsonFile<ImmutabilityAudit, null>(
    auditPath(stateDir, set),
    () => null,
    `immutability audit for set ${set}`,
  );
}

/** Stores a set's latest audit (the caller holds the state lock). */
export async function writeImmutabilityAudit(stateDir: string, audit: ImmutabilityAudit): Promise<void> {
  await writeFileAtomic(auditPath(stateDir, audit.set), `${JSON.stringify(audit, null, 1)}\n`);
}
