/**
 * The audit controls vouch's evidence serves, and which evidence serves which. Requirements are
 * paraphrased; the report names the control so an auditor can look up its text.
 */

/** Kinds of evidence the report lists. */
export type EvidenceKind = 'scan' | 'drill' | 'sampled-drill' | 'ledger';

/** One control and the evidence that serves it. */
export interface Control {
  id: string;
  framework: string;
  title: string;
  /** What the control asks for, paraphrased. */
  requirement: string;
  servedBy: readonly EvidenceKind[];
  /** The control asks for the recovery objectives (RTO/RPO): it cannot pass in a period that missed one. */
  objectives?: boolean;
}

/** The controls of the auditor report (ISO 27001:2022, SOC 2, NIST SP 800-53 Rev. 5, CIS v8). */
export const CONTROLS: readonly Control[] = [
  {
    id: 'A.8.13',
    framework: 'ISO/IEC 27001:2022 Annex A',
    title: 'Information backup',
    requirement:
      'Backup copies of information, software and systems are kept and regularly tested according to the backup policy.',
    servedBy: ['scan', 'drill', 'sampled-drill', 'ledger'],
  },
  {
    id: 'A1.3',
    framework: 'SOC 2 Trust Services Criteria (Availability)',
    title: 'Recovery plan testing',
    requirement:
      'Recovery plan procedures supporting system recovery are tested to meet the entity’s objectives (RTO/RPO).',
    servedBy: ['drill', 'sampled-drill'],
    objectives: true,
  },
  {
    id: 'CP-9(1)',
    framework: 'NIST SP 800-53 Rev. 5',
    title: 'System backup: testing for reliability and integrity',
    requirement:
      'Backup information is tested at a defined frequency to verify media reliability and information integrity.',
    servedBy: ['scan', 'drill', 'sampled-drill'],
  },
  {
    id: 'CP-9(2)',
    framework: 'NIST SP 800-53 Rev. 5',
    title: 'System backup: test restoration using sampling',
    requirement:
      'A sample of backup information is used in restoring selected system functions as part of contingency plan testing.',
    servedBy: ['sampled-drill', 'drill'],
  },
  {
    id: '11.5',
    framework: 'CIS Critical Security Controls v8',
    title: 'Test data recovery',
    requirement: 'Backup recovery is tested quarterly or more often for a sample of in-scope assets.',
    servedBy: ['drill', 'sampled-drill'],
  },
];

/** Ids of the controls an evidence kind serves, e.g. `A.8.13 · CP-9(1)`. */
export function controlsServedBy(kind: EvidenceKind): string[] {
  return CONTROLS.filter((control) => control.servedBy.includes(kind)).map((control) => control.id);
}
