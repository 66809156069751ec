/** 3-2-1-1-0 reports for a policy's data sets, from the copies' stored state. */
import type { Policy, SetPolicy } from '../config/resolve-policy.js';
import type { SetState } from '../state/set-state.js';
import { evaluate32110, type CopyFacts, type DatasetRuleReport } from './rule-3-2-1-1-0.js';

/** What the rule needs to know about one copy, from its policy and stored state. */
export function copyFacts(set: SetPolicy, state: SetState): CopyFacts {
  const notClean = Object.values(state.index.snapshots).filter(
    (snapshot) => snapshot.verdict !== 'clean',
  ).length;
  const scanBroken = state.scan.lastSuccess === null || state.scan.lastError !== null ? 1 : 0;
  return {
    set: set.name,
    media: set.storage.media,
    offsite: set.storage.offsite,
    protected: state.audit ? state.audit.protected : null,
    verificationErrors: notClean + scanBroken,
  };
}

/** Evaluates every data set of the policy; `states` holds the state of (at least) every copy. */
export function datasetReports(policy: Policy, states: ReadonlyMap<string, SetState>): DatasetRuleReport[] {
  const sets = new Map(policy.sets.map((set) => [set.name, set]));
  return policy.datasets.map((dataset) =>
    evaluate32110(
      dataset.name,
      dataset.copies.flatMap((name) => {
        const set = sets.get(name);
        const state = states.get(name);
        return set && state ? [copyFacts(set, state)] : [];
      }),
    ),
  );
}
