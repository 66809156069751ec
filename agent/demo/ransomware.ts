/**
 * A ransomware hit on a snapshot's files, for the demo and for detection tests. It does what
 * current families do: small files are fully encrypted (AES-256-CTR) and renamed with the
 * group's extension, with a short footer holding the per-file IV; databases and large files are
 * encrypted intermittently in place (16 bytes on, 16 off — LockBit-style "fast mode"), keeping
 * name and size; and a ransom note with an .onion contact link is dropped at the top.
 * Deterministic for a given seed, and the input files are never modified.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { DemoFile } from './demo-file.js';
import { Random } from './prng.js';

export const RANSOM_EXTENSION = '.kandalock';
export const RANSOM_NOTE = 'HOW_TO_DECRYPT.txt';
const FOOTER_MAGIC = Buffer.from('KLCK', 'latin1');
const INTERMITTENT_MIN_BYTES = 256 * 1024;
const SLOT = 16;

function keystreamCipher(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** How the hit treats one file. */
export function ransomTreatment(file: DemoFile): 'full' | 'intermittent' | 'skip' {
  const name = file.path.split('/').pop() ?? file.path;
  if (name === RANSOM_NOTE || /^readme(\.txt)?$/i.test(name) || name.endsWith(RANSOM_EXTENSION))
    return 'skip';
  if (file.path.startsWith('db/') || file.data.length >= INTERMITTENT_MIN_BYTES) return 'intermittent';
  return 'full';
}

export function ransomNote(seed: number): string {
  const random = new Random(seed, 'ransom-note');
  const onion = random.string(56, 'abcdefghijklmnopqrstuvwxyz234567');
  const victim = random.string(32, '0123456789ABCDEF');
  return [
    '~~~ KandaLock ~~~',
    '',
    '>>>> YOUR FILES HAVE BEEN ENCRYPTED',
    '',
    'All your documents, databases, invoices and backups have been encrypted with AES-256.',
    `Encrypted files have the extension ${RANSOM_EXTENSION}. Do not rename or modify them,`,
    'and do not try third-party recovery tools: you will damage them permanently.',
    '',
    '>>>> HOW TO GET YOUR DATA BACK',
    '',
    '1. Download and install Tor Browser: https://www.torproject.org/',
    `2. Open http://${onion}.onion/`,
    `3. Enter your personal ID: ${victim}`,
    '',
    'You can decrypt 2 files for free as proof. If you do not contact us within 72 hours,',
    'the price doubles and your data will be published on our blog.',
    '',
  ].join('\r\n');
}

/** Simulates a ransomware hit; returns the new file list (note first, then the files in order). */
export function ransomwareHit(files: DemoFile[], seed = 1): DemoFile[] {
  const key = createHash('sha256').update(`kandalock-key:${seed}`).digest();
  // The hit starts 20 s after the newest legitimate write and encrypts ~10 files a second, so a
  // backup taken a few minutes after that write (as the demo's 02:00Z one is) captures it all.
  const newest = files.reduce((max, file) => Math.max(max, file.mtime.getTime()), 0);
  const hitAt = Math.floor(newest / 1000) * 1000 + 20_000;
  const out: DemoFile[] = [
    { path: RANSOM_NOTE, data: Buffer.from(ransomNote(seed), 'utf8'), mtime: new Date(hitAt - 1000) },
  ];
  files.forEach((file, index) => {
    const treatment = ransomTreatment(file);
    if (treatment === 'skip') {
      out.push({ path: file.path, data: Buffer.from(file.data), mtime: new Date(file.mtime) });
      return;
    }
    const iv = createHash('sha256').update(key).update(file.path).digest().subarray(0, 16);
    const encrypted = keystreamCipher(key, iv, file.data);
    const mtime = new Date(hitAt + Math.floor(index / 10) * 1000);
    if (treatment === 'full') {
      out.push({
        path: `${file.path}${RANSOM_EXTENSION}`,
        data: Buffer.concat([encrypted, iv, FOOTER_MAGIC]),
        mtime,
      });
      return;
    }
    const data = Buffer.from(file.data);
    for (let at = 0; at < data.length; at += 2 * SLOT)
      encrypted.copy(data, at, at, Math.min(at + SLOT, data.length));
    out.push({ path: file.path, data, mtime });
  });
  return out;
}
