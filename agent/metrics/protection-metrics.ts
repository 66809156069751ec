/**
 * What protects the backups: each set's immutability audit, the 3-2-1-1-0 rule per data set, and
 * the evidence ledger's integrity.
 */
import { RULE_PARTS } from '../immutability/rule-3-2-1-1-0.js';
import { estateGauge, seconds, setGauge, type MetricGroupContext } from './metric-sources.js';

/** Registers `vouch_immutability_*`, `vouch_object_lock_retention_remaining_seconds` and `vouch_dataset_*`. */
export function registerImmutabilityMetrics(context: MetricGroupContext): void {
  setGauge(
    context,
    'vouch_immutability_ok',
    '1 when the last immutability audit met the policy, 0 when it did not.',
    (set) => (set.state?.audit && set.state.audit.ok !== null ? (set.state.audit.ok ? 1 : 0) : null),
  );
  setGauge(
    context,
    'vouch_immutability_last_audit_timestamp_seconds',
    'Time of the last immutability audit.',
    (set) => (set.state?.audit ? seconds(set.state.audit.auditedAt) : null),
  );
  setGauge(
    context,
    'vouch_object_lock_retention_remaining_seconds',
    'Seconds until the Object Lock retention of the last clean snapshot ends.',
    (set) => set.state?.audit?.retentionRemainingSeconds ?? null,
  );
  estateGauge(
    context,
    'vouch_dataset_rule_ok',
    '3-2-1-1-0 rule per data set and part (copies, media, offsite, immutable, errors): 1 met, 0 not.',
    ['dataset', 'part'],
    (gauge, view) => {
      for (const dataset of view.datasets)
        for (const part of RULE_PARTS)
          gauge.set({ dataset: dataset.dataset, part }, dataset.parts[part].ok ? 1 : 0);
    },
  );
  estateGauge(
    context,
    'vouch_dataset_copies',
    'Copies declared per data set.',
    ['dataset'],
    (gauge, view) => {
      for (const dataset of view.datasets) gauge.set({ dataset: dataset.dataset }, dataset.copies.length);
    },
  );
}

/** Registers `vouch_evidence_chain_ok` and `vouch_evidence_records`. */
export function registerEvidenceMetrics(context: MetricGroupContext): void {
  estateGauge(
    context,
    'vouch_evidence_chain_ok',
    '1 when the evidence ledger verifies, 0 when a record was edited, dropped, reordered or replayed.',
    [],
    (gauge, view) => gauge.set(view.evidence.ok ? 1 : 0),
  );
  estateGauge(
    context,
    'vouch_evidence_records',
    'Records in the evidence ledger (verified ones, when the chain is broken).',
    [],
    (gauge, view) => gauge.set(view.evidence.records),
  );
}
