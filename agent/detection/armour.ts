/**
 * Text armour: ciphertext written as base64 or hex text. Ransomware that wants its output to pass
 * for text (or for a legitimate tool's `-a` output, `openssl enc -a`) armours it; the bytes are
 * then printable and their statistics are those of the alphabet, not of the ciphertext. Decoding
 * the first bytes tells: armoured ciphertext decodes to uniformly random bytes or to a known
 * encryption container (`Salted__…`, an OpenPGP packet, age), while armoured documents, keys and
 * certificates do not look random, or are framed (PEM's `-----BEGIN`) and never reach here.
 *
 * Only the head is looked at: the probe's first 64 KiB, or the first chunk when that is larger (a
 * file read whole, a 1 MiB chunk). Bounded in cost; the more decoded bytes, the better chi-square
 * tells compressed data (base64 of a `.tar.gz`) from ciphertext.
 */
import { chiSquare, looksRandom } from './byte-statistics.js';
import type { ContentType } from './content-type.js';
import { encryptedFormatOf } from './encrypted-formats.js';

/** How armoured content is encoded, and what it decodes to. */
export interface Armour {
  encoding: 'base64' | 'hex';
  /** The encryption container the decoded bytes start, or `random` for raw ciphertext. */
  inner: ContentType | 'random';
}

/** Decoded bytes needed to judge: below it, chi-square says nothing. */
const MIN_DECODED = 512;

const BASE64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_')
  BASE64[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const isSpace = (byte: number) => byte === 0x0a || byte === 0x0d || byte === 0x20 || byte === 0x09;

/** The encoding `head` is written in, when it is nothing but one alphabet (and line breaks). */
function encodingOf(head: Uint8Array): Armour['encoding'] | null {
  let hex = true;
  let base64 = true;
  let symbols = 0;
  let padding = false;
  for (let i = 0; i < head.length; i++) {
    const byte = head[i]!;
    if (isSpace(byte)) continue;
    symbols++;
    if (byte === 0x3d) {
      // '=' only pads the end of a base64 block.
      padding = true;
      hex = false;
      continue;
    }
    if (padding && BASE64[byte]) padding = false;
    if (!HEX[byte]) hex = false;
    if (!BASE64[byte]) base64 = false;
    if (!hex && !base64) return null;
  }
  if (symbols < 2 * MIN_DECODED) return null;
  return hex ? 'hex' : base64 ? 'base64' : null;
}

/** The armour `head` (the first bytes of an entry) is in, or null when it is not armoured ciphertext. */
export function armourOf(head: Uint8Array): Armour | null {
  const encoding = encodingOf(head);
  if (!encoding) return null;
  const text = Buffer.from(head.buffer, head.byteOffset, head.length).toString('latin1').replace(/\s+/g, '');
  const decoded =
    encoding === 'hex'
      ? Buffer.from(text.slice(0, text.length & ~1), 'hex')
      : Buffer.from(text.slice(0, text.length & ~3), 'base64');
  if (decoded.length < MIN_DECODED) return null;
  const container = encryptedFormatOf(decoded);
  if (container) return { encoding, inner: container };
  const histogram = new Uint32Array(256);
  for (let i = 0; i < decoded.length; i++) histogram[decoded[i]!]!++;
  return looksRandom(chiSquare(histogram, decoded.length), decoded.length)
    ? { encoding, inner: 'random' }
    : null;
}
