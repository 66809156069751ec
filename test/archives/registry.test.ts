import { describe, expect, it } from 'vitest';
import { formatOf, readerFor } from '../../agent/archives/registry.js';

describe('archive registry', () => {
  it('maps extensions to formats, case-insensitively', () => {
    expect(formatOf('orders-20251018.tar')).toBe('tar');
    expect(formatOf('orders.TAR.GZ')).toBe('tar.gz');
    expect(formatOf('orders.tgz')).toBe('tar.gz');
    expect(formatOf('orders.tar.zst')).toBe('tar.zst');
    expect(formatOf('orders.TZST')).toBe('tar.zst');
    expect(formatOf('orders.zip')).toBe('zip');
  });

  it('knows nothing else', () => {
    for (const name of ['orders.gz', 'orders.zst', 'orders.tar.bz2', 'README', '.tar', 'tar']) expect(formatOf(name)).toBeNull();
  });

  it('has a reader for every format it names', () => {
    for (const format of ['tar', 'tar.gz', 'tar.zst', 'zip'] as const) expect(readerFor(format).format).toBe(format);
  });
});
