import { describe, expect, it } from 'vitest';
import {
  ARCHIVE_EXTENSIONS,
  archiveExtensionOf,
  formatOf,
  readerFor,
} from '../../agent/archives/registry.js';

describe('archive registry', () => {
  it('maps extensions to formats, case-insensitively', () => {
    expect(formatOf('orders-20251018.tar')).toBe('tar');
    expect(formatOf('orders.TAR.GZ')).toBe('tar.gz');
    expect(formatOf('orders.tgz')).toBe('tar.gz');
    expect(formatOf('orders.tar.zst')).toBe('tar.zst');
    expect(formatOf('orders.TZST')).toBe('tar.zst');
    expect(formatOf('orders.zip')).toBe('zip');
    expect(formatOf('orders.tar.xz')).toBe('tar.xz');
    expect(formatOf('orders.txz')).toBe('tar.xz');
    expect(formatOf('orders.tar.bz2')).toBe('tar.bz2');
    expect(formatOf('orders.tbz2')).toBe('tar.bz2');
    expect(formatOf('orders.tbz')).toBe('tar.bz2');
    expect(formatOf('orders.tar.lz4')).toBe('tar.lz4');
    expect(formatOf('orders.7z')).toBe('7z');
  });

  it('says which extension matched, as written', () => {
    expect(archiveExtensionOf('Orders-1.TAR.XZ')).toEqual({ extension: '.TAR.XZ', format: 'tar.xz' });
    expect(archiveExtensionOf('orders-1.tbz')).toEqual({ extension: '.tbz', format: 'tar.bz2' });
    expect(ARCHIVE_EXTENSIONS).toBe(
      '.tar, .tar.gz, .tgz, .tar.zst, .tzst, .tar.xz, .txz, .tar.bz2, .tbz2, .tbz, .tar.lz4, .zip, .7z',
    );
  });

  it('knows nothing else', () => {
    for (const name of [
      'orders.gz',
      'orders.zst',
      'orders.bz2',
      'orders.xz',
      'orders.lz4',
      'README',
      '.tar',
      '.7z',
      'tar',
    ])
      expect(formatOf(name)).toBeNull();
  });

  it('has a reader for every format it names', () => {
    for (const format of ['tar', 'tar.gz', 'tar.zst', 'tar.xz', 'tar.bz2', 'tar.lz4', 'zip', '7z'] as const)
      expect(readerFor(format).format).toBe(format);
  });
});
