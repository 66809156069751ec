/**
 * Legitimately encrypted formats, recognised by header and structure so they are never taken for
 * ransomware: OpenPGP messages (gpg), age, OpenSSL `enc` (`Salted__`), 7-Zip (whose AES mode
 * looks exactly like ciphertext), and LUKS volumes. A bare magic is not enough where the magic
 * is short: OpenPGP's first packet must parse as a session-key packet of a known version.
 */
import type { ContentType } from './content-type.js';

const ASCII = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

function startsWith(head: Uint8Array, prefix: Uint8Array): boolean {
  if (head.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (head[i] !== prefix[i]) return false;
  return true;
}

const AGE = ASCII('age-encryption.org/v1\n');
const AGE_ARMOR = ASCII('-----BEGIN AGE ENCRYPTED FILE-----');
const PGP_ARMOR = ASCII('-----BEGIN PGP MESSAGE-----');
const SALTED = ASCII('Salted__');
const SEVEN_ZIP = Uint8Array.of(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c);
const LUKS = Uint8Array.of(0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe);

/** Symmetric algorithms OpenPGP defines (RFC 4880 §9.2, RFC 9580). */
const PGP_SYMMETRIC = new Set([1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13]);
/** Public-key algorithms (RFC 4880 §9.1, RFC 9580 adds 25, 26). */
const PGP_PUBLIC_KEY = new Set([1, 2, 3, 16, 17, 18, 19, 20, 22, 25, 26]);

/** Tag and body offset of the first OpenPGP packet in `head`, or null. */
function firstPgpPacket(head: Uint8Array): { tag: number; body: number } | null {
  const first = head[0];
  if (first === undefined || !(first & 0x80)) return null;
  if (first & 0x40) {
    // New format: tag in the low 6 bits, then a 1-, 2- or 5-byte length.
    const length = head[1];
    if (length === undefined) return null;
    const body = length < 192 ? 2 : length < 224 ? 3 : length === 255 ? 6 : 2;
    return { tag: first & 0x3f, body };
  }
  const lengthType = first & 0x03;
  return { tag: (first >> 2) & 0x0f, body: 1 + [1, 2, 4, 0][lengthType]! };
}

/** True when `head` starts with an OpenPGP public- or symmetric-key encrypted session key packet. */
function isPgpMessage(head: Uint8Array): boolean {
  const packet = firstPgpPacket(head);
  if (!packet) return false;
  const version = head[packet.body];
  if (packet.tag === 1) {
    // PKESK v3: version, 8-byte key id, public-key algorithm; v6: version, length, …
    if (version === 3) return PGP_PUBLIC_KEY.has(head[packet.body + 9] ?? -1);
    return version === 6;
  }
  if (packet.tag === 3) {
    // SKESK v4: version, symmetric algorithm, S2K type (0 simple, 1 salted, 3 iterated+salted).
    if (version === 4)
      return (
        PGP_SYMMETRIC.has(head[packet.body + 1] ?? -1) && [0, 1, 3].includes(head[packet.body + 2] ?? -1)
      );
    return version === 5 || version === 6;
  }
  return false;
}

/** The legitimately encrypted format `head` starts, or null. */
export function encryptedFormatOf(head: Uint8Array): ContentType | null {
  if (startsWith(head, AGE) || startsWith(head, AGE_ARMOR)) return 'age';
  if (startsWith(head, PGP_ARMOR) || isPgpMessage(head)) return 'openpgp';
  if (startsWith(head, SALTED) && head.length >= 16) return 'openssl-salted';
  if (startsWith(head, SEVEN_ZIP)) return '7z';
  if (startsWith(head, LUKS)) return 'luks';
  return null;
}
