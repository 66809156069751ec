/**
 * False-alarm sweep for the name-based detection rules (containers under plain-format names,
 * ransom notes): walks real trees of this machine and reports every file that would be flagged
 * with no history. Read-only; prints counts and the flagged paths.
 *
 * Usage: `tsx bench/detection/false-alarm-sweep.ts [DIR…]` (default /usr /etc ~/.npm).
 * Camouflage: every file whose first 64 KiB start an encryption container (gpg, age, `openssl
 * enc`, 7-Zip, LUKS), a zip, or base64/hex ciphertext is classified in full as new content.
 * Ransom notes: every file up to 256 KiB is probed as scans probe it; `.gz` files (gzip'd docs
 * and man pages) are also decompressed and probed, which scans do not do (their markers would
 * be searched only if a snapshot held them decompressed).
 */
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { armourOf } from '../../agent/detection/armour.js';
import { classify, claimedType } from '../../agent/detection/classify.js';
import { encryptedFormatOf } from '../../agent/detection/encrypted-formats.js';
import { isRansomNote } from '../../agent/detection/ransom-note.js';
import { prepareValidators, probeFor } from '../../agent/detection/registry.js';

const HEAD = 64 * 1024;
const NOTE_MAX = 256 * 1024;
const MAX_CLASSIFIED = 64 * 2 ** 20;

function featuresOf(data: Uint8Array, file: string) {
  const claim = claimedType(file);
  const probe = probeFor(data.length, claim);
  for (let at = 0; at < data.length; at += 65_536) probe.update(data.subarray(at, at + 65_536));
  return probe.finish();
}

function* walk(dir: string): Generator<string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const full = path.join(dir, name);
    let stat;
    try {
      stat = lstatSync(full);
    } catch {
      continue;
    }
    if (stat.isDirectory()) yield* walk(full);
    else if (stat.isFile() && stat.size > 0) yield full;
  }
}

function head(file: string): Uint8Array | null {
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(HEAD);
      return buffer.subarray(0, readSync(fd, buffer, 0, HEAD, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

await prepareValidators();
const roots = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['/usr', '/etc', path.join(homedir(), '.npm')];
const totals = { files: 0, containers: 0, camouflage: 0, probedForNotes: 0, gzProbed: 0, notes: 0 };
const flagged: string[] = [];
for (const root of roots) {
  for (const file of walk(root)) {
    totals.files++;
    const start = head(file);
    if (!start) continue;
    const size = lstatSync(file).size;
    const candidate =
      encryptedFormatOf(start) !== null ||
      (start[0] === 0x50 && start[1] === 0x4b) ||
      armourOf(start) !== null;
    if (candidate && size <= MAX_CLASSIFIED) {
      totals.containers++;
      const features = featuresOf(readFileSync(file), file);
      const judged = classify({ path: file, features });
      if (judged.encrypted) {
        totals.camouflage++;
        flagged.push(`camouflage ${judged.strength}: ${file}: ${judged.detail}`);
      }
    }
    if (size <= NOTE_MAX) {
      totals.probedForNotes++;
      const features = candidate ? null : featuresOf(start, file);
      if (features && isRansomNote(file, features.ransomMarkers)) {
        totals.notes++;
        flagged.push(`ransom note: ${file} (${features.ransomMarkers.join(', ')})`);
      }
    }
    if (file.endsWith('.gz') && size <= NOTE_MAX) {
      let text: Buffer;
      try {
        text = gunzipSync(readFileSync(file));
      } catch {
        continue;
      }
      if (text.length > NOTE_MAX) continue;
      totals.gzProbed++;
      const inner = file.slice(0, -3);
      const features = featuresOf(text.subarray(0, HEAD), inner);
      if (isRansomNote(inner, features.ransomMarkers)) {
        totals.notes++;
        flagged.push(`ransom note (decompressed): ${file} (${features.ransomMarkers.join(', ')})`);
      }
    }
  }
}
for (const line of flagged) console.log(line);
console.log(JSON.stringify({ roots, ...totals }));
