/** Real 7z archives for tests: made by 7-Zip from files on disk, then (for hostile cases) patched. */
import { execFileSync } from 'node:child_process';
import { crc32 } from 'node:zlib';

/** Archives `dir`'s contents with 7-Zip (`-snl`: symlinks as links); extra switches as given. */
export function sevenZip(dir: string, archive: string, ...switches: string[]): void {
  execFileSync('7zz', ['a', '-bd', '-snl', ...switches, archive, '.'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/**
 * Renames a member of an archive made with `-mhc=off` (names stored as plain UTF-16LE in the
 * header) to a name of the same length, and fixes the header CRCs: hostile names 7-Zip refuses
 * to write itself (`../x`, control characters, duplicates).
 */
export function renameIn7z(archive: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('names must have the same length');
  const patched = Buffer.from(archive);
  const offset = Number(patched.readBigUInt64LE(12));
  const size = Number(patched.readBigUInt64LE(20));
  const start = 32 + offset;
  const header = patched.subarray(start, start + size);
  const at = header.indexOf(Buffer.from(`${from}\0`, 'utf16le'));
  if (at < 0) throw new Error(`${from} is not in the archive's (uncompressed) header`);
  header.write(to, at, 'utf16le');
  patched.writeUInt32LE(crc32(header) >>> 0, 28);
  patched.writeUInt32LE(crc32(patched.subarray(12, 32)) >>> 0, 8);
  return patched;
}
