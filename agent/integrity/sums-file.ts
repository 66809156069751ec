/**
 * Checksum lists left by backup tools: `SHA256SUMS` / `B3SUMS` in GNU coreutils form
 * (`<hex>  name`, `<hex> *name`) or BSD form (`SHA256 (name) = <hex>`).
 */
import type { DigestAlgorithm } from '../model/manifest.js';

/** File names recognised as checksum lists, and the algorithm each uses. */
export const SUMS_FILES: Readonly<Record<string, DigestAlgorithm>> = {
  SHA256SUMS: 'sha256',
  'SHA256SUMS.txt': 'sha256',
  B3SUMS: 'blake3',
  'B3SUMS.txt': 'blake3',
};

/**
 * The algorithm of the checksum list named `name` (SUMS_FILES), or undefined. Own names only: a
 * file called `constructor` or `__proto__` is no checksum list.
 */
export function sumsFileAlgorithm(name: string): DigestAlgorithm | undefined {
  return Object.hasOwn(SUMS_FILES, name) ? SUMS_FILES[name] : undefined;
}

/** Per-archive sidecar suffixes (`backup.tar.gz.sha256`). */
export const SIDECAR_SUFFIXES: Readonly<Record<string, DigestAlgorithm>> = {
  '.sha256': 'sha256',
  '.b3': 'blake3',
};

const GNU_LINE = /^\\?([0-9a-fA-F]{64})\s[ *]?(.+)$/;
const BSD_LINE = /^(SHA256|BLAKE3)\s*\((.+)\)\s*=\s*([0-9a-fA-F]{64})$/;

/** Parses a checksum list into name → lower-case hex digest; names lose a leading `./`. */
export function parseSumsFile(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const gnu = GNU_LINE.exec(line);
    const bsd = gnu ? null : BSD_LINE.exec(line);
    const name = gnu ? gnu[2]! : bsd ? bsd[2]! : null;
    const digest = gnu ? gnu[1]! : bsd ? bsd[3]! : null;
    if (name && digest) sums.set(name.replace(/^\.\//, ''), digest.toLowerCase());
  }
  return sums;
}
