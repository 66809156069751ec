/**
 * What current ransomware families do to a file's bytes, with real ciphers (node:crypto
 * AES-256-CTR or ChaCha20), for detection tests and the detection benchmark. Deterministic for a
 * given key; the input buffer is never modified.
 *
 * Modes, after the families that use them:
 * - `whole`: every byte (most families' small-file path).
 * - `first-4k`: only the first 4 KiB (LockBit 3.0's fast mode).
 * - `header-kept`: the first 64 bytes kept (magic intact), the rest encrypted.
 * - `intermittent-16-16`: 16 bytes on, 16 off (LockFile).
 * - `intermittent-64-192`: 64 bytes on, 192 off (Black Basta's 64 on / 128–192 off).
 * - `chunks-3x10`: three chunks of 10 % at the start, middle and end (PLAY, ALPHV's percent mode).
 * - `footer`: whole file encrypted, then a 512-byte key blob appended (Conti, LockBit footers).
 * - `rename`: whole file encrypted and renamed with a group extension (handled by the caller's
 *   path; the bytes are as `whole`).
 */
import { createCipheriv, createHash } from 'node:crypto';

/** Every simulated mode. */
export const RANSOMWARE_MODES = [
  'whole',
  'first-4k',
  'header-kept',
  'intermittent-16-16',
  'intermittent-64-192',
  'chunks-3x10',
  'footer',
  'rename',
] as const;

/** One simulated mode. */
export type RansomwareMode = (typeof RANSOMWARE_MODES)[number];

/** Cipher used for the keystream. */
export type RansomwareCipher = 'aes-256-ctr' | 'chacha20';

/** A keystream as long as `length` for a file, from a key and the file's own id. */
function keystream(length: number, fileId: string, cipher: RansomwareCipher, seed: string): Buffer {
  const key = createHash('sha256').update(`key:${seed}`).digest();
  const iv = createHash('sha256').update(`iv:${seed}:${fileId}`).digest().subarray(0, 16);
  const c = createCipheriv(cipher, key, iv);
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}

function xorRange(out: Buffer, stream: Buffer, start: number, end: number): void {
  for (let i = start; i < Math.min(end, out.length); i++) out[i]! ^= stream[i]!;
}

/**
 * Applies `mode` to `data` and returns the new bytes. `fileId` makes the keystream per file (as
 * real families derive per-file keys or IVs).
 */
export function applyRansomware(
  data: Buffer,
  mode: RansomwareMode,
  fileId: string,
  cipher: RansomwareCipher = 'aes-256-ctr',
  seed = 'vouch-test',
): Buffer {
  const stream = keystream(data.length, fileId, cipher, seed);
  const out = Buffer.from(data);
  switch (mode) {
    case 'whole':
    case 'rename':
      xorRange(out, stream, 0, out.length);
      return out;
    case 'footer': {
      xorRange(out, stream, 0, out.length);
      // A 512-byte key blob: RSA-wrapped keys look random, so a keystream stands in for one.
      const blob = keystream(512, `footer:${fileId}`, cipher, seed);
      return Buffer.concat([out, blob]);
    }
    case 'first-4k':
      xorRange(out, stream, 0, 4096);
      return out;
    case 'header-kept':
      xorRange(out, stream, 64, out.length);
      return out;
    case 'intermittent-16-16':
      for (let at = 0; at < out.length; at += 32) xorRange(out, stream, at, at + 16);
      return out;
    case 'intermittent-64-192':
      for (let at = 0; at < out.length; at += 256) xorRange(out, stream, at, at + 64);
      return out;
    case 'chunks-3x10': {
      const chunk = Math.max(1, Math.floor(out.length / 10));
      for (const start of [0, Math.floor(out.length / 2 - chunk / 2), out.length - chunk])
        xorRange(out, stream, start, start + chunk);
      return out;
    }
  }
}
