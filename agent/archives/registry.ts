/**
 * Which reader handles which archive. Adding a format is one reader file plus one line in
 * `EXTENSIONS` and one in `READERS`.
 */
import type { ArchiveFormat, EntryReader } from './entry-reader.js';
import { tarGzReader, tarReader, tarZstReader } from './tar-reader.js';
import { zipReader } from './zip-reader.js';

type ArchiveKind = Exclude<ArchiveFormat, 'plain'>;

/** File-name endings, longest first so `.tar.gz` wins over a shorter match. */
const EXTENSIONS: readonly (readonly [string, ArchiveKind])[] = [
  ['.tar.zst', 'tar.zst'],
  ['.tar.gz', 'tar.gz'],
  ['.tzst', 'tar.zst'],
  ['.tgz', 'tar.gz'],
  ['.tar', 'tar'],
  ['.zip', 'zip'],
];

const READERS: Record<ArchiveKind, EntryReader> = {
  tar: tarReader,
  'tar.gz': tarGzReader,
  'tar.zst': tarZstReader,
  zip: zipReader,
};

/** The archive format of an object by its name's extension (case-insensitive), or null. */
export function formatOf(name: string): ArchiveKind | null {
  const lower = name.toLowerCase();
  for (const [extension, format] of EXTENSIONS) {
    if (lower.endsWith(extension) && lower.length > extension.length) return format;
  }
  return null;
}

/** The reader for `format`. */
export function readerFor(format: ArchiveKind): EntryReader {
  return READERS[format];
}
