import { describe, expect, it } from 'vitest';
import type { Finding } from '../../agent/model/findings.js';
import {
  describeEncryption,
  findingReasons,
  findingSummary,
  groupFindings,
  omittedFindings,
} from '../../agent/web/finding-groups.js';

const encrypted = (path: string, detail: string, severity: Finding['severity'] = 'critical'): Finding => ({
  kind: 'encrypted',
  path,
  severity,
  detail,
});

// Details as detection writes them (see detection/classify.ts and the demo's ransomware-hit snapshot).
const SQLITE = encrypted(
  'db/inventory.sqlite',
  'expected sqlite (by history), found an encrypted 16 on 16 off pattern [magic-mismatch, periodic-16-on-16-off, type-changed:sqlite→unknown]',
);
const PDF = (n: number) =>
  encrypted(
    `invoices/INV-${n}.pdf.kandalock`,
    'expected pdf (by history), found random bytes from the first byte [magic-mismatch, random-block-0, random-prefix, random-content, grew-by-footer, type-changed:pdf→unknown]',
  );
const ZIP = encrypted(
  'docs/report.docx',
  'zip structure broken at byte 4096: central directory missing [structure-invalid, was-valid, random-block-0]',
);
const WEAK = encrypted(
  'blob.bin',
  'uniformly random content (chi-square 250 over 262144 bytes) with no known format and no history [random-content]',
  'warning',
);

describe('finding groups', () => {
  it('reads file type and encryption pattern out of encrypted findings', () => {
    expect(describeEncryption(SQLITE)).toMatchObject({
      type: 'sqlite',
      mode: 'intermittent: 16 bytes encrypted, 16 left, repeating',
      strong: true,
    });
    expect(describeEncryption(PDF(1))).toMatchObject({ type: 'pdf', mode: 'whole file encrypted' });
    expect(describeEncryption(ZIP)).toMatchObject({
      type: 'zip',
      mode: 'header encrypted, structure broken',
    });
    expect(describeEncryption(WEAK)).toMatchObject({
      type: 'unknown type',
      mode: 'whole file encrypted',
      strong: false,
    });
    expect(
      describeEncryption(
        encrypted(
          'a.png',
          'was png in the previous snapshot; its header is gone and near-random bytes stand there [magic-mismatch, near-random-prefix]',
        ),
      ),
    ).toMatchObject({ type: 'png', mode: 'header replaced by near-random bytes' });
    expect(findingReasons(SQLITE.detail)).toEqual([
      'magic-mismatch',
      'periodic-16-on-16-off',
      'type-changed:sqlite→unknown',
    ]);
    expect(findingSummary(SQLITE.detail)).toBe(
      'expected sqlite (by history), found an encrypted 16 on 16 off pattern',
    );
    expect(findingReasons('renamed from a.csv')).toEqual([]);
  });

  it('groups a hit snapshot worst first: ransom notes, encrypted files by type and mode (largest first), drift, renames', () => {
    const findings: Finding[] = [
      PDF(1),
      PDF(2),
      SQLITE,
      WEAK,
      {
        kind: 'ransom-note',
        path: 'HOW_TO_DECRYPT.txt',
        severity: 'critical',
        detail: 'ransom note (onion-link)',
      },
      {
        kind: 'extension-change',
        path: 'invoices/INV-1.pdf.kandalock',
        severity: 'warning',
        detail: 'renamed from invoices/INV-1.pdf',
      },
      { kind: 'mass-change', path: '', severity: 'warning', detail: '106 files renamed to *.kandalock' },
      {
        kind: 'drift-missing',
        path: 'invoices/INV-9.pdf',
        severity: 'critical',
        detail: 'file of 2175 bytes in the baseline is missing',
      },
    ];
    const groups = groupFindings({
      findings,
      findingCounts: {
        encrypted: 4,
        'ransom-note': 1,
        'extension-change': 1,
        'mass-change': 1,
        'drift-missing': 1,
      },
      complete: true,
    });
    expect(groups.map((group) => [group.id, group.total])).toEqual([
      ['ransom-notes', 1],
      ['encrypted', 4],
      ['drift', 1],
      ['renames', 2],
    ]);
    expect(groups[1]!.subgroups.map((subgroup) => [subgroup.title, subgroup.findings.length])).toEqual([
      ['pdf · whole file encrypted', 2],
      ['sqlite · intermittent: 16 bytes encrypted, 16 left, repeating', 1],
      ['unknown type · whole file encrypted (statistics only)', 1],
    ]);
    expect(groups[2]!.subgroups[0]!.title).toBe('missing');
    expect(groups[3]!.subgroups.map((subgroup) => subgroup.title).sort()).toEqual([
      'mass change',
      'renamed to a new extension',
    ]);
  });

  it('counts findings the index did not keep, and reports an incomplete read even without a read-error finding', () => {
    const kept = Array.from({ length: 1000 }, (_, n) => PDF(n));
    const groups = groupFindings({ findings: kept, findingCounts: { encrypted: 4000 }, complete: false });
    expect(groups.find((group) => group.id === 'encrypted')).toMatchObject({ total: 4000 });
    expect(groups.find((group) => group.id === 'encrypted')!.subgroups[0]!.findings).toHaveLength(1000);
    expect(groups.at(-1)).toMatchObject({ id: 'read-errors', total: 1 });
    expect(
      omittedFindings({ findings: kept, findingCounts: { encrypted: 4000, 'extension-change': 500 } }),
    ).toBe(3500);
    expect(groupFindings({ findings: [], findingCounts: {}, complete: true })).toEqual([]);
  });
});
