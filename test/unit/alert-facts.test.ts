/**
 * The facts the "what changed" alerts read: when a snapshot turned not clean (kept while it stays
 * so, started when it turns bad or arrives bad, dropped when clean), the scan-duration histogram,
 * and runbook links pointed at an absolute base.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../agent/errors.js';
import { withRunbookBase } from '../../agent/metrics/alert-rules.js';
import { withNotCleanSince } from '../../agent/scan/scan-set.js';
import { observeDuration, SCAN_DURATION_BUCKETS } from '../../agent/state/scan-status.js';
import type { SnapshotState } from '../../agent/model/snapshot-state.js';
import type { Verdict } from '../../agent/model/verdict.js';

const state = (verdict: Verdict, extra: Partial<SnapshotState> = {}): SnapshotState => ({
  id: 'orders-1',
  time: '2026-01-01T02:00:00Z',
  verdict,
  complete: true,
  entries: 1,
  bytes: 1,
  findings: [],
  findingCounts: {},
  lastScan: '2026-01-02T00:00:00Z',
  ...extra,
});

describe('when a snapshot turned not clean', () => {
  const at = new Date('2026-01-05T00:00:00Z');

  it('starts when a clean snapshot turns bad or a new one arrives bad, and is kept while it stays bad', () => {
    expect(withNotCleanSince(state('compromised'), state('clean'), at).notCleanSince).toBe(at.toISOString());
    expect(withNotCleanSince(state('suspicious'), undefined, at).notCleanSince).toBe(at.toISOString());
    const kept = withNotCleanSince(
      state('compromised', { notCleanSince: '2026-01-03T00:00:00Z' }),
      state('suspicious', { notCleanSince: '2026-01-03T00:00:00Z' }),
      at,
    );
    expect(kept.notCleanSince).toBe('2026-01-03T00:00:00Z');
  });

  it('is dropped when the snapshot is clean, and a state from before the field never counts as new', () => {
    expect(
      withNotCleanSince(state('clean', { notCleanSince: '2026-01-03T00:00:00Z' }), state('compromised'), at),
    ).not.toHaveProperty('notCleanSince');
    const legacy = withNotCleanSince(
      state('compromised'),
      state('compromised', { baseline: { sha256: 'a', entries: 1, createdAt: '2025-12-01T00:00:00Z' } }),
      at,
    );
    expect(legacy.notCleanSince).toBe('2025-12-01T00:00:00Z');
  });
});

describe('the scan-duration histogram', () => {
  it('counts each scan in every bucket at or above its duration', () => {
    const histogram = observeDuration(observeDuration(undefined, 42), 5000);
    expect(histogram.count).toBe(2);
    expect(histogram.sum).toBe(5042);
    expect(histogram.counts).toEqual(
      SCAN_DURATION_BUCKETS.map((bound) => (bound >= 5000 ? 2 : bound >= 42 ? 1 : 0)),
    );
  });
});

describe('runbook links', () => {
  it('point at the absolute base, fragment dropped, and refuse anything but http(s)', () => {
    const rules = "runbook_url: 'RUNBOOK.md#snapshots-removed'\nrunbook_url: 'RUNBOOK.md#scan-stalled'\n";
    expect(withRunbookBase(rules, 'https://wiki.example.com/vouch#old')).toBe(
      "runbook_url: 'https://wiki.example.com/vouch#snapshots-removed'\nrunbook_url: 'https://wiki.example.com/vouch#scan-stalled'\n",
    );
    expect(() => withRunbookBase(rules, 'RUNBOOK.md')).toThrow(ConfigError);
    expect(() => withRunbookBase(rules, 'file:///etc/passwd')).toThrow(/http\(s\)/);
  });
});
