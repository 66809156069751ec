/**
 * `STATE/acceptances.json`: every set's acceptances as folded from the ledger's triage records,
 * and how far into the ledger that fold has read. A cache: the ledger is the source of truth.
 *
 * Writers (`vouch accept`, scans; they hold the state lock) bring it up to date with
 * `syncAcceptanceIndex`, which reads only the ledger lines after the stored position — so a
 * crash between an acceptance's record and this file's rewrite loses nothing, and a missing or
 * outdated file is rebuilt from the whole ledger. Readers (the daemon, the report) read the file.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { foldAcceptance, TRIAGE_RECORD_TYPES } from '../ledger/acceptance-records.js';
import { parseRecordLine } from '../ledger/ledger-record.js';
import type { Acceptance } from '../model/acceptance.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { readJsonFile } from '../fs/json-file.js';
import { segmentFiles } from '../ledger/ledger-store.js';
import { linesAfter, type LedgerPosition } from '../ledger/segment-lines.js';

/** The file's content. */
export interface AcceptanceIndex {
  /** Null: nothing read yet. */
  ledger: LedgerPosition | null;
  /** Per set, its acceptances (revoked ones included), oldest first. */
  sets: Record<string, Acceptance[]>;
}

const empty = (): AcceptanceIndex => ({ ledger: null, sets: {} });

/** Bytes every triage record line holds (its type); a cheap test before decoding, parsing decides. */
const MARKERS = [...TRIAGE_RECORD_TYPES].map((type) => Buffer.from(`"${type}"`));

function indexPath(stateDir: string): string {
  return path.join(stateDir, 'acceptances.json');
}

/** The stored index as it is (readers; an absent file is empty). */
export async function readAcceptanceIndex(stateDir: string): Promise<AcceptanceIndex> {
  return readJsonFile<AcceptanceIndex>(indexPath(stateDir), empty, 'acceptance index');
}

/** A set's acceptances in an index, oldest first. */
export function acceptancesOf(index: AcceptanceIndex, set: string): Acceptance[] {
  return index.sets[set] ?? [];
}

/** True when the ledger still holds `position` (its segment exists and reaches that far). */
async function stillThere(files: readonly string[], position: LedgerPosition): Promise<boolean> {
  const file = files.find((candidate) => path.basename(candidate) === position.segment);
  if (!file) return false;
  return (await stat(file)).size >= position.offset;
}

/**
 * The index brought up to date with the ledger; written back when `persist` (the caller holds
 * the state lock) and anything was read. A ledger that no longer holds the stored position
 * (replaced, cut) is folded again from the start.
 */
export async function syncAcceptanceIndex(
  stateDir: string,
  options: { persist: boolean },
): Promise<AcceptanceIndex> {
  const files = await segmentFiles(stateDir);
  const stored = await readAcceptanceIndex(stateDir);
  const index = stored.ledger && (await stillThere(files, stored.ledger)) ? stored : empty();
  let moved = index !== stored;
  for await (const { line, end } of linesAfter(files, index.ledger, MARKERS)) {
    moved ||= end.segment !== index.ledger?.segment || end.offset !== index.ledger.offset;
    index.ledger = end;
    if (!line) continue;
    const record = parseRecordLine(line.toString('utf8'));
    if (!record || !TRIAGE_RECORD_TYPES.has(record.type)) continue;
    const set = (record.data as { set?: unknown } | null)?.set;
    if (typeof set !== 'string') continue;
    index.sets[set] = foldAcceptance(acceptancesOf(index, set), record, set);
  }
  if (moved && options.persist) await writeFileAtomic(indexPath(stateDir), `${JSON.stringify(index)}\n`);
  return index;
}
