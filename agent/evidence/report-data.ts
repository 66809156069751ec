/**
 * Gathers what the auditor report shows, from the state directory alone (so an auditor can run it
 * on a copy): the ledger's drill, scan and verdict-change records in the period, the acceptances
 * of findings (folded from the ledger: who, when, why, what), each set's current verdicts and last
 * clean snapshot, and the chain's verification. Targets come from the drill records, or from the
 * policy when one is given.
 */
import type { Policy } from '../config/resolve-policy.js';
import type { DrillReport } from '../model/drill.js';
import { readLedger } from '../ledger/ledger-store.js';
import { indexedSetNames, readSetIndex } from '../state/set-index.js';
import { drilledSetNames } from '../state/drill-index.js';
import { listAcceptances, type AcceptanceListing } from '../triage/acceptance-listing.js';
import { countingFindings } from '../verdicts/acceptance.js';
import { type Acceptance } from '../model/acceptance.js';
import type { Finding } from '../model/findings.js';
import { lastCleanSnapshot } from '../verdicts/last-clean.js';
import { VERDICTS, type Verdict } from '../model/verdict.js';
import {
  foldAcceptance,
  TRIAGE_RECORD_TYPES,
  type AcceptanceRecordData,
} from '../ledger/acceptance-records.js';
import type { LedgerVerification } from '../ledger/verify-ledger.js';
import { now as clockNow } from '../clock.js';
import { VERSION } from '../version.js';

/** One drill as the report shows it. */
export type ReportDrill = DrillReport & { seq: number };

/** A snapshot newer than the last clean one, and why it was not clean. */
export interface RejectedSnapshot {
  id: string;
  time: string;
  verdict: Verdict;
  reasons: string[];
}

/** One set's evidence in the period. */
export interface SetEvidence {
  name: string;
  rpoTargetSeconds: number | null;
  rtoTargetSeconds: number | null;
  lastClean: { id: string; time: string } | null;
  newest: { id: string; time: string } | null;
  /** Age of the last clean snapshot at report time, and the widest gap between clean snapshots in the period. */
  rpo: { ageSeconds: number | null; worstGapSeconds: number | null };
  verdicts: Record<Verdict, number>;
  rejected: RejectedSnapshot[];
  scans: { records: number; deep: number; last: string | null };
  /** `cause`: the triage record that made the change, when one did. */
  verdictChanges: {
    seq: number;
    time: string;
    snapshot: string;
    from: Verdict;
    to: Verdict;
    cause?: string;
  }[];
  drills: ReportDrill[];
  /** Acceptances in force now, and those made or revoked in the period, newest first. */
  acceptances: ReportAcceptance[];
  /** Snapshots that left the store in the period (`expected`: pruned by the set's retention; null: recorded before vouch judged that). */
  removals: {
    seq: number;
    time: string;
    snapshot: string;
    lastVerdict: string | null;
    expected: boolean | null;
  }[];
  /** Immutability audits recorded in the period, oldest first. */
  immutabilityAudits: {
    seq: number;
    time: string;
    kind: string;
    ok: boolean | null;
    protected: boolean | null;
    findings: number;
  }[];
  /** Findings about the store itself held now (removed, replaced, foreign objects), with the record that first reported each. */
  storeFindings: (Finding & { seq: number | null; time: string | null })[];
  /** Snapshots whose last scan did not read them completely (whatever their verdict), oldest first. */
  incomplete?: string[];
}

/** One acceptance as the report shows it: who, when, why, what it covered, its effect, whether it still holds. */
export interface ReportAcceptance extends AcceptanceListing {
  /** Verdicts it changed when it was made. */
  verdicts: AcceptanceRecordData['verdicts'];
}

/** Everything the report renders. */
export interface ReportData {
  generatedAt: string;
  since: string | null;
  stateDir: string;
  verification: LedgerVerification;
  sets: SetEvidence[];
  /** Signing-key rotations in the period. */
  keyRotations: {
    seq: number;
    time: string;
    type: string;
    previousKeyId: string | null;
    keyId: string | null;
    fingerprint: string | null;
  }[];
  /** The vouch version that made the report. */
  version: string;
}

/** Options of `gatherReportData`. */
export interface GatherOptions {
  stateDir: string;
  verification: LedgerVerification;
  since?: Date;
  now?: Date;
  /** Targets by set, from the policy (override what drill records say). */
  targets?: Map<string, { rpoSeconds?: number; rtoSeconds?: number }>;
}

/** Each set's RPO and RTO targets from a policy (the report prefers them to what drill records say). */
export function targetsFromPolicy(policy: Policy): Map<string, { rpoSeconds?: number; rtoSeconds?: number }> {
  return new Map(
    policy.sets.map((set) => [
      set.name,
      {
        ...(set.rpoSeconds !== undefined ? { rpoSeconds: set.rpoSeconds } : {}),
        ...(set.rtoSeconds !== undefined ? { rtoSeconds: set.rtoSeconds } : {}),
      },
    ]),
  );
}

function emptySet(name: string): SetEvidence {
  return {
    name,
    rpoTargetSeconds: null,
    rtoTargetSeconds: null,
    lastClean: null,
    newest: null,
    rpo: { ageSeconds: null, worstGapSeconds: null },
    verdicts: Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0])) as Record<Verdict, number>,
    rejected: [],
    scans: { records: 0, deep: 0, last: null },
    verdictChanges: [],
    drills: [],
    acceptances: [],
    removals: [],
    storeFindings: [],
    immutabilityAudits: [],
  };
}

/**
 * Worst gap between consecutive clean snapshots in [since, now] (the last one to `now` included):
 * the most data a restore from the newest clean snapshot could have lost at any moment. Pure.
 */
export function worstCleanGap(
  cleanTimes: readonly number[],
  since: number | null,
  now: number,
): number | null {
  const sorted = [...cleanTimes].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  let worst = 0;
  for (let i = 0; i < sorted.length; i++) {
    const end = i + 1 < sorted.length ? sorted[i + 1]! : now;
    if (since !== null && end < since) continue;
    worst = Math.max(worst, end - sorted[i]!);
  }
  return worst / 1000;
}

/** Reads the state and ledger into ReportData. */
export async function gatherReportData(options: GatherOptions): Promise<ReportData> {
  const now = options.now ?? clockNow();
  const since = options.since?.getTime() ?? null;
  const sets = new Map<string, SetEvidence>();
  const setOf = (name: string) => {
    let set = sets.get(name);
    if (!set) sets.set(name, (set = emptySet(name)));
    return set;
  };
  for (const name of await indexedSetNames(options.stateDir)) setOf(name);
  for (const name of await drilledSetNames(options.stateDir)) setOf(name);
  const acceptances = new Map<string, Acceptance[]>();
  const effects = new Map<number, AcceptanceRecordData['verdicts']>();
  /** First `set-finding` record of each set finding, by set and identity. */
  const reported = new Map<string, { seq: number; time: string }>();
  const identity = (set: string, finding: Pick<Finding, 'kind' | 'path' | 'contentId'>) =>
    `${set}\u0000${finding.kind}\u0000${finding.path}\u0000${finding.contentId ?? ''}`;

  const keyRotations: ReportData['keyRotations'] = [];
  for await (const record of readLedger(options.stateDir)) {
    if (!record || typeof record.data !== 'object' || record.data === null) continue;
    if (
      (record.type === 'key-rotation' || record.type === 'key-replaced') &&
      (since === null || Date.parse(record.time) >= since)
    ) {
      const rotation = record.data as { previousKeyId?: unknown; keyId?: unknown; fingerprint?: unknown };
      const text = (value: unknown) => (typeof value === 'string' ? value : null);
      keyRotations.push({
        seq: record.seq,
        time: record.time,
        type: record.type,
        previousKeyId: text(rotation.previousKeyId),
        keyId: text(rotation.keyId),
        fingerprint: text(rotation.fingerprint),
      });
    }
    const data = record.data as { set?: unknown };
    if (typeof data.set !== 'string') continue;
    const inPeriod = since === null || Date.parse(record.time) >= since;
    const set = setOf(data.set);
    if (record.type === 'drill') {
      const drill = record.data as DrillReport;
      set.rtoTargetSeconds = drill.rtoTargetSeconds ?? set.rtoTargetSeconds;
      set.rpoTargetSeconds = drill.rpoTargetSeconds ?? set.rpoTargetSeconds;
      if (inPeriod) set.drills.push({ ...drill, seq: record.seq });
    } else if (record.type === 'snapshot-scan' && inPeriod) {
      set.scans.records++;
      if ((record.data as { deep?: unknown }).deep) set.scans.deep++;
      set.scans.last = record.time;
    } else if (record.type === 'verdict-change' && inPeriod) {
      const change = record.data as {
        snapshot: string;
        from: Verdict;
        to: Verdict;
        acceptance?: number;
        revocation?: number;
      };
      const cause =
        change.acceptance !== undefined
          ? `acceptance ${change.acceptance}`
          : change.revocation !== undefined
            ? `revocation ${change.revocation}`
            : undefined;
      set.verdictChanges.push({
        seq: record.seq,
        time: record.time,
        snapshot: change.snapshot,
        from: change.from,
        to: change.to,
        ...(cause ? { cause } : {}),
      });
    } else if (record.type === 'immutability-audit' && inPeriod) {
      const audit = record.data as { kind?: unknown; ok?: unknown; protected?: unknown; findings?: unknown };
      set.immutabilityAudits.push({
        seq: record.seq,
        time: record.time,
        kind: typeof audit.kind === 'string' ? audit.kind : '?',
        ok: typeof audit.ok === 'boolean' ? audit.ok : null,
        protected: typeof audit.protected === 'boolean' ? audit.protected : null,
        findings: typeof audit.findings === 'number' ? audit.findings : 0,
      });
    } else if (record.type === 'snapshot-removed' && inPeriod) {
      const removal = record.data as { snapshot: string; lastVerdict?: unknown; expected?: unknown };
      set.removals.push({
        seq: record.seq,
        time: record.time,
        snapshot: removal.snapshot,
        lastVerdict: typeof removal.lastVerdict === 'string' ? removal.lastVerdict : null,
        expected: typeof removal.expected === 'boolean' ? removal.expected : null,
      });
    } else if (record.type === 'set-finding') {
      const finding = (record.data as { finding?: Finding }).finding;
      if (finding && !reported.has(identity(data.set, finding)))
        reported.set(identity(data.set, finding), { seq: record.seq, time: record.time });
    } else if (TRIAGE_RECORD_TYPES.has(record.type)) {
      acceptances.set(data.set, foldAcceptance(acceptances.get(data.set) ?? [], record, data.set));
      if (record.type === 'finding-acceptance')
        effects.set(record.seq, (record.data as AcceptanceRecordData).verdicts ?? []);
    }
  }

  for (const set of sets.values()) {
    const target = options.targets?.get(set.name);
    if (target?.rpoSeconds !== undefined) set.rpoTargetSeconds = target.rpoSeconds;
    if (target?.rtoSeconds !== undefined) set.rtoTargetSeconds = target.rtoSeconds;
    const index = await readSetIndex(options.stateDir, set.name);
    const snapshots = Object.values(index.snapshots).sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    for (const snapshot of snapshots) set.verdicts[snapshot.verdict]++;
    set.incomplete = snapshots.filter((snapshot) => !snapshot.complete).map((snapshot) => snapshot.id);
    const newest = snapshots.at(-1);
    if (newest) set.newest = { id: newest.id, time: newest.time };
    const clean = lastCleanSnapshot(snapshots);
    if (clean) {
      set.lastClean = { id: clean.id, time: clean.time };
      set.rpo.ageSeconds = Math.max(0, (now.getTime() - Date.parse(clean.time)) / 1000);
    }
    set.rpo.worstGapSeconds = worstCleanGap(
      snapshots
        .filter((snapshot) => snapshot.verdict === 'clean')
        .map((snapshot) => Date.parse(snapshot.time)),
      since,
      now.getTime(),
    );
    const cleanTime = clean ? Date.parse(clean.time) : Number.NEGATIVE_INFINITY;
    set.rejected = snapshots
      .filter((snapshot) => snapshot.verdict !== 'clean' && Date.parse(snapshot.time) > cleanTime)
      .map((snapshot) => ({
        id: snapshot.id,
        time: snapshot.time,
        verdict: snapshot.verdict,
        reasons: countingFindings(snapshot.findings)
          .slice(0, 3)
          .map((finding) => `${finding.kind} ${finding.path}: ${finding.detail}`),
      }));
    set.storeFindings = (index.setFindings ?? []).map((finding) => {
      const first = reported.get(identity(set.name, finding));
      return { ...finding, seq: first?.seq ?? null, time: first?.time ?? null };
    });
    const inPeriod = (iso: string | undefined) =>
      iso !== undefined && (since === null || Date.parse(iso) >= since);
    set.acceptances = listAcceptances(index, acceptances.get(set.name) ?? [])
      .filter(
        (acceptance) => !acceptance.revoked || inPeriod(acceptance.at) || inPeriod(acceptance.revoked.at),
      )
      .map((acceptance) => ({ ...acceptance, verdicts: effects.get(acceptance.id) ?? [] }));
  }
  return {
    generatedAt: now.toISOString(),
    since: options.since?.toISOString() ?? null,
    stateDir: options.stateDir,
    verification: options.verification,
    sets: [...sets.values()].sort((a, b) => a.name.localeCompare(b.name)),
    keyRotations,
    version: VERSION,
  };
}
