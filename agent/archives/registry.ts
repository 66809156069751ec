/**
 * Which reader handles which archive. Adding a format is one reader file plus one line in
 * `EXTENSIONS` and one in `READERS`.
 */
import type { ArchiveFormat, EntryReader } from './entry-reader.js';
import { sevenZipReader } from './sevenzip-reader.js';
import {
  tarBz2Reader,
  tarGzReader,
  tarLz4Reader,
  tarReader,
  tarXzReader,
  tarZstReader,
} from './tar-reader.js';
import { zipReader } from './zip-reader.js';

type ArchiveKind = Exclude<ArchiveFormat, 'plain'>;

/** File-name endings, longest first so `.tar.gz` wins over a shorter match. */
const EXTENSIONS: readonly (readonly [string, ArchiveKind])[] = [
  ['.tar.zst', 'tar.zst'],
  ['.tar.bz2', 'tar.bz2'],
  ['.tar.lz4', 'tar.lz4'],
  ['.tar.gz', 'tar.gz'],
  ['.tar.xz', 'tar.xz'],
  ['.tbz2', 'tar.bz2'],
  ['.tzst', 'tar.zst'],
  ['.tbz', 'tar.bz2'],
  ['.tgz', 'tar.gz'],
  ['.txz', 'tar.xz'],
  ['.tar', 'tar'],
  ['.zip', 'zip'],
  ['.7z', '7z'],
];

const READERS: Record<ArchiveKind, EntryReader> = {
  tar: tarReader,
  'tar.gz': tarGzReader,
  'tar.zst': tarZstReader,
  'tar.xz': tarXzReader,
  'tar.bz2': tarBz2Reader,
  'tar.lz4': tarLz4Reader,
  zip: zipReader,
  '7z': sevenZipReader,
};

/** The extensions vouch reads, for messages: `.tar, .tar.gz, .tgz, …`, grouped by format. */
export const ARCHIVE_EXTENSIONS = (Object.keys(READERS) as ArchiveKind[])
  .flatMap((format) => EXTENSIONS.filter(([, kind]) => kind === format).map(([extension]) => extension))
  .join(', ');

/** The archive extension an object's name ends with (case-insensitive, as written) and its format, or null. */
export function archiveExtensionOf(name: string): { extension: string; format: ArchiveKind } | null {
  const lower = name.toLowerCase();
  for (const [extension, format] of EXTENSIONS) {
    if (lower.endsWith(extension) && lower.length > extension.length)
      return { extension: name.slice(name.length - extension.length), format };
  }
  return null;
}

/** The archive format of an object by its name's extension (case-insensitive), or null. */
export function formatOf(name: string): ArchiveKind | null {
  return archiveExtensionOf(name)?.format ?? null;
}

/** The reader for `format`. */
export function readerFor(format: ArchiveKind): EntryReader {
  return READERS[format];
}
