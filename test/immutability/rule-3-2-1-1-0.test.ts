import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../agent/config/load-policy.js';
import { type ConfigError } from '../../agent/errors.js';
import { evaluate32110, type CopyFacts } from '../../agent/immutability/rule-3-2-1-1-0.js';

const copy = (overrides: Partial<CopyFacts>): CopyFacts => ({
  set: 'x',
  media: 'disk',
  offsite: false,
  protected: false,
  verificationErrors: 0,
  ...overrides,
});

describe('3-2-1-1-0 rule (pure)', () => {
  it('is met by three clean copies on two media, one off-site, one immutable', () => {
    const report = evaluate32110('orders', [
      copy({ set: 'orders-s3', media: 'object-storage', offsite: true, protected: true }),
      copy({ set: 'orders-nas', media: 'disk' }),
      copy({ set: 'orders-tape', media: 'tape' }),
    ]);
    expect(report.ok).toBe(true);
    expect(report.parts).toEqual({
      copies: { ok: true, count: 3, required: 3 },
      media: { ok: true, count: 3, required: 2 },
      offsite: { ok: true, count: 1, required: 1 },
      immutable: { ok: true, count: 1, required: 1 },
      errors: { ok: true, count: 0, required: 0 },
    });
  });

  it('names each broken part: too few copies, one medium, nothing off-site or immutable, verification errors', () => {
    const report = evaluate32110('orders', [
      copy({ set: 'a', verificationErrors: 2 }),
      copy({ set: 'b', protected: null }),
    ]);
    expect(report.ok).toBe(false);
    expect(
      Object.entries(report.parts)
        .filter(([, part]) => !part.ok)
        .map(([name]) => name),
    ).toEqual(['copies', 'media', 'offsite', 'immutable', 'errors']);
    expect(report.parts.errors.count).toBe(2);
  });

  it('is declared in the policy with copies that must name sets, and media/off-site per set', () => {
    const policy = parsePolicy(
      `sets:\n  a:\n    source: { s3: { bucket: backups } }\n    snapshots: { layout: archive }\n    storage: { offsite: true }\n  b:\n    source: { fs: { path: /b } }\n    snapshots: { layout: archive }\n    storage: { media: tape }\ndatasets:\n  orders: { copies: [a, b] }\n`,
      '/p.yaml',
    );
    expect(policy.datasets).toEqual([{ name: 'orders', copies: ['a', 'b'] }]);
    expect(policy.sets.map((set) => set.storage)).toEqual([
      { media: 'object-storage', offsite: true },
      { media: 'tape', offsite: false },
    ]);
    expect(() =>
      parsePolicy(
        `sets:\n  a:\n    source: { fs: { path: /a } }\n    snapshots: { layout: archive }\ndatasets:\n  orders: { copies: [a, c] }\n`,
        '/p.yaml',
      ),
    ).toThrow(
      expect.objectContaining({ problems: ['datasets.orders.copies[1]: no set named c'] }) as ConfigError,
    );
  });
});
