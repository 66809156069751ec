import { describe, expect, it } from 'vitest';
import { snapshotVerdict } from '../../agent/verdicts/snapshot-verdict.js';

const detection = (files: number, encryptedStrong: number) => ({ files, encryptedStrong });

describe('snapshot verdict rules', () => {
  it('calls any ransom note compromised, even with nothing encrypted', () => {
    expect(
      snapshotVerdict({ findingCounts: { 'ransom-note': 1 }, complete: true, detection: detection(100, 0) }),
    ).toBe('compromised');
  });

  it('calls 3 strongly encrypted files compromised, and 1 or 2 of 1000 suspicious', () => {
    expect(
      snapshotVerdict({ findingCounts: { encrypted: 3 }, complete: true, detection: detection(1000, 3) }),
    ).toBe('compromised');
    expect(
      snapshotVerdict({ findingCounts: { encrypted: 2 }, complete: true, detection: detection(1000, 2) }),
    ).toBe('suspicious');
    expect(
      snapshotVerdict({ findingCounts: { encrypted: 1 }, complete: true, detection: detection(1000, 1) }),
    ).toBe('suspicious');
  });

  it('calls 1 % of the files strongly encrypted compromised in a small snapshot', () => {
    expect(
      snapshotVerdict({ findingCounts: { encrypted: 1 }, complete: true, detection: detection(50, 1) }),
    ).toBe('compromised');
  });

  it('follows the policy thresholds', () => {
    const input = { findingCounts: { encrypted: 5 }, complete: true, detection: detection(10_000, 5) };
    expect(snapshotVerdict({ ...input, thresholds: { files: 10, fraction: 0.01 } })).toBe('suspicious');
    expect(snapshotVerdict({ ...input, thresholds: { files: 5, fraction: 0.01 } })).toBe('compromised');
  });

  it('counts only strong encryption toward compromise: weak (statistics-only) findings make it suspicious', () => {
    expect(
      snapshotVerdict({ findingCounts: { encrypted: 40 }, complete: true, detection: detection(100, 0) }),
    ).toBe('suspicious');
  });

  it('calls an incomplete read compromised when what was read already crosses the threshold, unverified otherwise', () => {
    expect(
      snapshotVerdict({
        findingCounts: { encrypted: 10, 'read-error': 1 },
        complete: false,
        detection: detection(50, 10),
      }),
    ).toBe('compromised');
    expect(
      snapshotVerdict({
        findingCounts: { encrypted: 1, 'read-error': 1 },
        complete: false,
        detection: detection(500, 1),
      }),
    ).toBe('unverified');
  });

  it('calls damaged, renamed or mass-changed files suspicious', () => {
    for (const kind of ['structure-invalid', 'magic-mismatch', 'extension-change', 'mass-change'] as const) {
      expect(
        snapshotVerdict({ findingCounts: { [kind]: 1 }, complete: true, detection: detection(100, 0) }),
        kind,
      ).toBe('suspicious');
    }
  });

  it('keeps drift compromised and a clean read clean', () => {
    expect(snapshotVerdict({ findingCounts: { 'drift-modified': 1 }, complete: true })).toBe('compromised');
    expect(snapshotVerdict({ findingCounts: {}, complete: true, detection: detection(100, 0) })).toBe(
      'clean',
    );
  });
});
