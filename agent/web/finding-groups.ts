/**
 * A rejected snapshot's findings grouped the way a recovery lead reads them (pure): ransom notes,
 * encrypted files by file type and how they were encrypted, drift, renames and mass changes,
 * damaged files, immutability, unsafe entries and read errors; last, the findings accepted as
 * known and harmless, by acceptance. Counts come from the snapshot's `findingCounts` (every
 * finding) less the accepted ones; the listed findings are the ones the index keeps (at most
 * MAX_STORED_FINDINGS), so a group can say how many of its findings are not listed.
 */
import { unlistedFindings } from '../state/set-index.js';
import { acceptedBy, countingCounts, countingFindings } from '../verdicts/acceptance.js';
import type { Finding, FindingKind } from '../model/findings.js';

/** One listed bunch of findings inside a group (e.g. "pdf · whole file encrypted"). */
export interface FindingSubgroup {
  title: string;
  findings: Finding[];
}

/** One group of findings. */
export interface FindingGroup {
  /** Stable id (`ransom-notes`, `encrypted`, `drift`, …), used in element ids. */
  id: string;
  title: string;
  /** Every finding of the group's kinds, listed or not. */
  total: number;
  /** Listed findings, in subgroups (largest first). */
  subgroups: FindingSubgroup[];
}

/** What a snapshot contributes. */
export interface GroupInput {
  findings: readonly Finding[];
  findingCounts: Partial<Record<FindingKind, number>>;
  acceptedCounts?: Partial<Record<FindingKind, number>>;
  complete: boolean;
}

/** How an encrypted file was judged: its type and the pattern of encryption. */
export interface EncryptionDescription {
  type: string;
  mode: string;
  /** Strong evidence (structure or history) or statistics only. */
  strong: boolean;
  reasons: string[];
}

const GROUPS: readonly { id: string; title: string; kinds: readonly FindingKind[] }[] = [
  { id: 'ransom-notes', title: 'Ransom notes', kinds: ['ransom-note'] },
  { id: 'encrypted', title: 'Encrypted files', kinds: ['encrypted'] },
  {
    id: 'drift',
    title: 'Changed after the baseline (drift)',
    kinds: [
      'drift-modified',
      'drift-truncated',
      'drift-missing',
      'drift-added',
      'drift-object-changed',
      'sums-mismatch',
    ],
  },
  { id: 'renames', title: 'Renames and mass changes', kinds: ['extension-change', 'mass-change'] },
  {
    id: 'damaged',
    title: 'Damaged or retyped files',
    kinds: ['corrupted', 'structure-invalid', 'magic-mismatch'],
  },
  { id: 'immutability', title: 'Immutability', kinds: ['immutability'] },
  { id: 'unsafe', title: 'Unsafe archive entries', kinds: ['unsafe-entry'] },
  { id: 'read-errors', title: 'Not read completely', kinds: ['read-error'] },
  { id: 'no-snapshots', title: 'No snapshots', kinds: ['no-snapshots'] },
  {
    id: 'destroyed',
    title: 'Snapshots removed or replaced in the store',
    kinds: ['snapshot-removed', 'snapshot-replaced'],
  },
  { id: 'foreign', title: 'Suspicious objects beside the snapshots', kinds: ['foreign-object'] },
];

const KIND_TITLES: Record<FindingKind, string> = {
  'drift-modified': 'content modified',
  'drift-truncated': 'truncated',
  'drift-missing': 'missing',
  'drift-added': 'added',
  'drift-object-changed': 'archive object rewritten',
  'sums-mismatch': "the backup tool's checksum list disagrees",
  encrypted: 'encrypted',
  corrupted: 'corrupted (damaged, not encrypted)',
  'structure-invalid': 'structure broken',
  'magic-mismatch': 'type no longer matches',
  'ransom-note': 'ransom note',
  'extension-change': 'renamed to a new extension',
  'mass-change': 'mass change',
  immutability: 'immutability check failed',
  'unsafe-entry': 'unsafe entry',
  'read-error': 'read error',
  'no-snapshots': 'no snapshots found',
  'snapshot-removed': 'snapshot removed from the store',
  'snapshot-replaced': 'snapshot replaced in the store',
  'foreign-object': 'suspicious object beside the snapshots',
};

/** The reasons detection put in brackets at the end of a finding's detail. */
export function findingReasons(detail: string): string[] {
  const match = /\[([^\]]*)\]\s*$/.exec(detail);
  return match
    ? match[1]!
        .split(',')
        .map((reason) => reason.trim())
        .filter(Boolean)
    : [];
}

/** The detail without its bracketed reasons. */
export function findingSummary(detail: string): string {
  return detail.replace(/\s*\[[^\]]*\]\s*$/, '');
}

function encryptedType(finding: Finding, reasons: readonly string[]): string {
  const detail = finding.detail;
  const claimed =
    /^expected (\S+) \(by /.exec(detail) ??
    /^was (\S+) in the previous snapshot/.exec(detail) ??
    /^(\S+) structure broken/.exec(detail);
  if (claimed) return claimed[1]!;
  const changed = reasons.find((reason) => reason.startsWith('type-changed:'));
  if (changed) return changed.slice('type-changed:'.length).split('→')[0]!;
  return 'unknown type';
}

function encryptionMode(reasons: readonly string[]): string {
  const periodic = reasons.find((reason) => /^periodic-\d+-on-\d+-off$/.test(reason));
  if (periodic) {
    const [, on, off] = /^periodic-(\d+)-on-(\d+)-off$/.exec(periodic)!;
    return `intermittent: ${on} bytes encrypted, ${off} left, repeating`;
  }
  const has = (reason: string) => reasons.includes(reason);
  if (has('unchanged-since-previous'))
    return 'unchanged since the previous snapshot, already encrypted there';
  if (has('structure-invalid'))
    return has('random-block-0')
      ? 'header encrypted, structure broken'
      : 'partly encrypted, structure broken';
  if (has('random-content')) return 'whole file encrypted';
  if (has('random-block-0')) return 'first block encrypted';
  if (has('random-prefix')) return 'start of the file encrypted';
  if (has('near-random-prefix')) return 'header replaced by near-random bytes';
  return 'other evidence';
}

/** Reads type and encryption pattern out of an `encrypted` finding (see detection/classify.ts for the wording). */
export function describeEncryption(finding: Finding): EncryptionDescription {
  const reasons = findingReasons(finding.detail);
  return {
    type: encryptedType(finding, reasons),
    mode: encryptionMode(reasons),
    strong: finding.severity === 'critical',
    reasons,
  };
}

function bySize(subgroups: Map<string, Finding[]>): FindingSubgroup[] {
  return [...subgroups.entries()]
    .map(([title, findings]) => ({ title, findings }))
    .sort((a, b) => b.findings.length - a.findings.length || a.title.localeCompare(b.title));
}

function subgroupsOf(id: string, findings: readonly Finding[]): FindingSubgroup[] {
  const buckets = new Map<string, Finding[]>();
  for (const finding of findings) {
    let title = KIND_TITLES[finding.kind];
    if (id === 'encrypted') {
      const described = describeEncryption(finding);
      title = `${described.type} · ${described.mode}${described.strong ? '' : ' (statistics only)'}`;
    }
    const bucket = buckets.get(title);
    if (bucket) bucket.push(finding);
    else buckets.set(title, [finding]);
  }
  return bySize(buckets);
}

/** Groups a snapshot's findings, worst first, accepted ones last; groups with no findings are left out. */
export function groupFindings(snapshot: GroupInput): FindingGroup[] {
  const groups: FindingGroup[] = [];
  const counts = countingCounts(snapshot);
  const counting = countingFindings(snapshot.findings);
  for (const group of GROUPS) {
    const total = group.kinds.reduce((sum, kind) => sum + (counts[kind] ?? 0), 0);
    const listed = counting.filter((finding) => group.kinds.includes(finding.kind));
    if (total === 0 && listed.length === 0) continue;
    groups.push({
      id: group.id,
      title: group.title,
      total: Math.max(total, listed.length),
      subgroups: subgroupsOf(group.id, listed),
    });
  }
  if (!snapshot.complete && !groups.some((group) => group.id === 'read-errors')) {
    groups.push({
      id: 'read-errors',
      title: 'Not read completely',
      total: 1,
      subgroups: [
        {
          title: 'read error',
          findings: [
            {
              kind: 'read-error',
              path: '',
              severity: 'warning',
              detail: 'the last scan did not read the whole snapshot',
            },
          ],
        },
      ],
    });
  }
  const accepted = snapshot.findings.filter((finding) => finding.accepted);
  if (accepted.length) {
    groups.push({
      id: ACCEPTED_GROUP,
      title: 'Accepted as known and harmless (not counted)',
      total: accepted.length,
      subgroups: acceptedBy(accepted).map(({ acceptance }) => ({
        title: `acceptance ${acceptance.id} by ${acceptance.by}: ${acceptance.reason}`,
        findings: accepted.filter((finding) => finding.accepted!.id === acceptance.id),
      })),
    });
  }
  return groups;
}

/** The id of the group of accepted findings. */
export const ACCEPTED_GROUP = 'accepted';

/** Findings counted but not listed: the index keeps only the first ones of a snapshot. */
export const omittedFindings = unlistedFindings;
