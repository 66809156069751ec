/**
 * Judges each audit control per set from outcomes, not from whether records exist (pure): a
 * control passes when every kind of evidence it rests on held in the period, fails when one did
 * not, and has no evidence when one is missing and none failed.
 */
import { formatDuration as duration } from '../config/duration.js';
import { CONTROLS, type Control, type EvidenceKind } from './controls.js';

/** A judgement. */
export type ControlStatus = 'pass' | 'fail' | 'no-evidence';

/** What the judgement of one set needs (from the report's data). */
export interface SetOutcomes {
  drills: { outcome: 'passed' | 'failed' | 'aborted'; withinRto: boolean | null; sampled: boolean }[];
  scans: number;
  /** Snapshots not read completely now (verdict unverified). */
  unverified: number;
  /** Ids of the snapshots whose last scan did not read them completely, whatever their verdict. */
  incomplete?: string[];
  /** The RPO in the period: its target, the widest gap between clean snapshots, whether any snapshot is clean. Absent when unknown. */
  rpo?: { targetSeconds: number | null; worstGapSeconds: number | null; hasClean: boolean };
  /** Findings about the store itself not accepted. */
  openStoreFindings: number;
  immutabilityAudits: { ok: boolean | null }[];
  /** Acceptances in force or made in the period, with who and why. */
  acceptances: { by: string; reason: string }[];
  ledgerOk: boolean;
}

/** One kind of evidence judged, with why. */
export interface EvidenceJudgement {
  kind: EvidenceKind | 'store' | 'immutability' | 'triage' | 'rpo' | 'rto';
  status: ControlStatus;
  reason: string;
}

/** Every kind of evidence of a set, judged. */
export function judgeEvidence(set: SetOutcomes): EvidenceJudgement[] {
  const judged: EvidenceJudgement[] = [];
  const passed = set.drills.filter((drill) => drill.outcome === 'passed');
  const inTime = passed.filter((drill) => drill.withinRto !== false);
  const drill = (kind: 'drill' | 'sampled-drill'): EvidenceJudgement => {
    if (set.drills.length === 0)
      return { kind, status: 'no-evidence', reason: 'no restore drill in the period' };
    if (passed.length === 0)
      return {
        kind,
        status: 'fail',
        reason: `no passed restore drill in the period (${set.drills.length} ran, none passed)`,
      };
    if (inTime.length === 0)
      return { kind, status: 'fail', reason: `${passed.length} drill(s) passed, every one over the RTO` };
    return { kind, status: 'pass', reason: `${inTime.length} drill(s) passed within the RTO` };
  };
  judged.push(drill('drill'), drill('sampled-drill'));
  const incomplete = set.incomplete ?? [];
  const unread = Math.max(set.unverified, incomplete.length);
  const named = incomplete.length
    ? `: ${incomplete.slice(0, 3).join(', ')}${incomplete.length > 3 ? ` and ${incomplete.length - 3} more` : ''}`
    : '';
  judged.push(
    set.scans === 0
      ? { kind: 'scan', status: 'no-evidence', reason: 'no snapshot scan in the period' }
      : unread > 0
        ? {
            kind: 'scan',
            status: 'fail',
            reason: `${unread} ${unread === 1 ? 'snapshot' : 'snapshots'} not read completely${named}`,
          }
        : {
            kind: 'scan',
            status: 'pass',
            reason: `${set.scans} scan ${set.scans === 1 ? 'record' : 'records'}, every snapshot read completely`,
          },
  );
  judged.push(...objectiveJudgements(set));
  judged.push(
    set.openStoreFindings > 0
      ? {
          kind: 'store',
          status: 'fail',
          reason: `${set.openStoreFindings} snapshot(s) removed or replaced, or suspicious objects, not accepted`,
        }
      : {
          kind: 'store',
          status: 'pass',
          reason: 'no snapshot removed or replaced without an accepted reason',
        },
  );
  const lastAudit = set.immutabilityAudits.at(-1);
  if (lastAudit && lastAudit.ok !== null) {
    judged.push(
      lastAudit.ok
        ? { kind: 'immutability', status: 'pass', reason: 'the last immutability audit held' }
        : { kind: 'immutability', status: 'fail', reason: 'the last immutability audit did not hold' },
    );
  }
  const unexplained = set.acceptances.filter(
    (acceptance) => !acceptance.by.trim() || !acceptance.reason.trim(),
  ).length;
  judged.push(
    unexplained
      ? { kind: 'triage', status: 'fail', reason: `${unexplained} acceptance(s) without who or why` }
      : {
          kind: 'triage',
          status: 'pass',
          reason: `${set.acceptances.length} acceptance(s), each with who and why`,
        },
  );
  judged.push(
    set.ledgerOk
      ? { kind: 'ledger', status: 'pass', reason: 'the signed ledger verifies' }
      : { kind: 'ledger', status: 'fail', reason: 'the signed ledger does not verify' },
  );
  return judged;
}

/**
 * The recovery objectives in the period (pure): `rpo` fails when the widest gap between clean
 * snapshots exceeded the target, or none is clean; `rto` fails when a drill in the period ran over
 * the RTO. Left out when there is no target or nothing measured it.
 */
export function objectiveJudgements(set: Pick<SetOutcomes, 'rpo' | 'drills'>): EvidenceJudgement[] {
  const judged: EvidenceJudgement[] = [];
  const rpo = set.rpo;
  if (rpo && rpo.targetSeconds !== null) {
    if (!rpo.hasClean) judged.push({ kind: 'rpo', status: 'fail', reason: 'RPO missed: no clean snapshot' });
    else if (rpo.worstGapSeconds !== null && rpo.worstGapSeconds > rpo.targetSeconds) {
      judged.push({
        kind: 'rpo',
        status: 'fail',
        reason: `RPO missed in the period: worst gap between clean snapshots ${duration(rpo.worstGapSeconds)}, target ${duration(rpo.targetSeconds)}`,
      });
    } else
      judged.push({
        kind: 'rpo',
        status: 'pass',
        reason: `RPO met in the period (target ${duration(rpo.targetSeconds)})`,
      });
  }
  const over = set.drills.filter((drill) => drill.withinRto === false).length;
  const within = set.drills.filter((drill) => drill.withinRto === true).length;
  if (over > 0)
    judged.push({
      kind: 'rto',
      status: 'fail',
      reason: `RTO missed in the period: ${over} ${over === 1 ? 'drill' : 'drills'} ran over it`,
    });
  else if (within > 0)
    judged.push({ kind: 'rto', status: 'pass', reason: `every drill with an RTO target ran within it` });
  return judged;
}

/** The evidence a control rests on: what it is served by, plus integrity facts for the backup and integrity controls. */
function reliesOn(control: Control): EvidenceJudgement['kind'][] {
  const kinds: EvidenceJudgement['kind'][] = control.servedBy.includes('drill')
    ? [...control.servedBy.filter((kind) => kind !== 'sampled-drill')]
    : [...control.servedBy];
  if (control.servedBy.includes('scan')) kinds.push('store', 'immutability', 'triage');
  if (control.objectives) kinds.push('rpo', 'rto');
  return kinds;
}

/** A control judged for one set. */
export interface ControlJudgement {
  control: string;
  status: ControlStatus;
  reasons: string[];
}

/** Every control judged for one set: fail if any evidence it rests on failed, else no evidence if any is missing, else pass. */
export function judgeControls(set: SetOutcomes): ControlJudgement[] {
  const evidence = judgeEvidence(set);
  return CONTROLS.map((control) => {
    const relevant = reliesOn(control)
      .map((kind) => evidence.find((judgement) => judgement.kind === kind))
      .filter((judgement): judgement is EvidenceJudgement => judgement !== undefined);
    const failed = relevant.filter((judgement) => judgement.status === 'fail');
    const missing = relevant.filter((judgement) => judgement.status === 'no-evidence');
    const status: ControlStatus = failed.length ? 'fail' : missing.length ? 'no-evidence' : 'pass';
    const reasons = (failed.length ? failed : missing.length ? missing : relevant).map(
      (judgement) => judgement.reason,
    );
    return { control: control.id, status, reasons };
  });
}
