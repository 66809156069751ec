import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  hasRansomNoteName,
  isRansomNote,
  MARKERS,
  ransomMarkers,
  ransomMarkersIn,
} from '../../agent/detection/ransom-note.js';
import { ransomNote } from '../../agent/demo/ransomware.js';
import { findMachineFiles } from '../helpers/machine-files.js';

/** Notes in the style of real families (paraphrased, contacts made up). */
const NOTES: [string, string][] = [
  ['HOW_TO_DECRYPT.txt', ransomNote(7)],
  [
    'Restore-My-Files.txt',
    'All your important files are stolen and encrypted!\nYou must find Restore-My-Files.txt file and follow the instruction!\nTo get your files back you need our decryption tool. Price: 2 BTC, send to our bitcoin wallet address.\nTor Browser: http://lockbitapt6vx57t3eeqjofwgcglmutr3a35nygvokja5uuccip4ykyd.onion\nYour personal ID: 3F2A-99C1-7712',
  ],
  [
    'readme.html',
    '<html><body><h1>Your files are encrypted</h1><p>Do not rename encrypted files. Do not try to decrypt your data using third party software, it may cause permanent data loss.</p><p>To decrypt your files you need to buy our special software. Pay in Monero to the wallet below.</p><p>Contact: http://abcdefghij234567.onion</p></body></html>',
  ],
];

/** The note of the issue-12 adversarial review: no Tor, no victim ID — a claim, a BTC demand, an e-mail contact. */
const TERSE_NOTE =
  'YOUR FILES HAVE BEEN ENCRYPTED!\nAll your documents, databases and backups are encrypted.\nTo decrypt them send 2 BTC to bc1qxyz and email decrypt@evil.example with your ID.\nDo not try to recover files yourself or they will be lost forever.\n';

/** Every regular file under `dir` (recursively). */
function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const full = path.join(dir, name);
    const stat = statSync(full, { throwIfNoEntry: false });
    return stat?.isDirectory() ? filesUnder(full) : stat?.isFile() ? [full] : [];
  });
}

describe('ransom notes', () => {
  it('recognises a terse note that claims encryption and demands bitcoin by e-mail, under any name', () => {
    for (const name of [
      'README_DECRYPT.txt',
      'HOW_TO_DECRYPT.txt',
      'RESTORE_MY_FILES.html',
      'notes/night.txt',
    ]) {
      expect(isRansomNote(name, ransomMarkers(TERSE_NOTE)), name).toBe(true);
    }
    // With a note's name, a claim and a demand are enough.
    expect(
      isRansomNote(
        'HOW_TO_DECRYPT.txt',
        ransomMarkers('Your files have been encrypted.\nPay 0.5 BTC to get them back.'),
      ),
    ).toBe(true);
  });

  it('needs a claim and a demand: encryption talk or a payment alone is not a note, whatever the name', () => {
    expect(
      isRansomNote(
        'README_DECRYPT.txt',
        ransomMarkers(
          'All your files are encrypted at rest with AES-256. How to restore files: run restic restore.',
        ),
      ),
    ).toBe(false);
    expect(
      isRansomNote(
        'HOW_TO_DECRYPT.txt',
        ransomMarkers(
          'We accept bitcoin: send the amount to our wallet address. Contact us at billing@example.com.',
        ),
      ),
    ).toBe(false);
  });

  it('never takes the documentation and manual pages of gpg, openssl, cryptsetup and age (decompressed) for notes', () => {
    const docs = [
      '/usr/share/doc/gnupg',
      '/usr/share/doc/gpg',
      '/usr/share/doc/openssl',
      '/usr/share/doc/cryptsetup-bin',
      '/usr/share/doc/age',
      '/usr/share/man/man1',
      '/usr/share/man/man8',
    ]
      .flatMap(filesUnder)
      .filter(
        (file) => !file.includes('/man/') || /\/(?:gpg|openssl|cryptsetup|age|veritysetup)[^/]*$/.test(file),
      );
    expect(docs.length).toBeGreaterThan(20);
    const flagged = docs.filter((file) => {
      let data = readFileSync(file);
      if (file.endsWith('.gz')) data = gunzipSync(data);
      return (
        data.length <= 256 * 1024 &&
        isRansomNote(file.replace(/\.gz$/, ''), ransomMarkers(data.subarray(0, 64 * 1024).toString('utf8')))
      );
    });
    expect(flagged).toEqual([]);
  });

  it('recognises notes in the style of real families', () => {
    for (const [name, text] of NOTES) {
      expect(isRansomNote(name, ransomMarkers(text)), name).toBe(true);
    }
  });

  it('needs the content, not just a note-like name', () => {
    expect(hasRansomNoteName('README.txt')).toBe(true);
    expect(isRansomNote('README.txt', ransomMarkers('Build with make. See INSTALL for details.'))).toBe(
      false,
    );
    expect(isRansomNote('docs/notes.txt', ransomMarkers(NOTES[1]![1]))).toBe(true);
  });

  it('flags none of hundreds of real README, changelog and licence texts on this machine', () => {
    const files = findMachineFiles({
      roots: ['/usr/share/doc', '/usr/share/common-licenses', '/usr/lib/python3', '/usr/share/perl'],
      name: (name) =>
        /^(readme|changelog|news|copying|license)/i.test(name) || /\.(txt|md|html)(\.gz)?$/i.test(name),
      limit: 600,
      maxSize: 256 * 1024,
    });
    expect(files.length).toBeGreaterThan(300);
    let withMarkers = 0;
    const flagged = files.filter((file) => {
      let data = readFileSync(file.path);
      if (file.path.endsWith('.gz')) data = gunzipSync(data);
      const head = data.subarray(0, 64 * 1024);
      const markers = ransomMarkers(head.toString('utf8'));
      // The byte search the content probe runs finds the same markers in real files.
      expect(ransomMarkersIn(head), file.path).toEqual(markers);
      if (markers.length > 0) withMarkers++;
      return isRansomNote(file.path, markers);
    });
    expect(withMarkers).toBeGreaterThan(0);
    expect(flagged.map((file) => file.path)).toEqual([]);
  });
});

describe('ransom note markers', () => {
  /** Every marker whose pattern matches, found the slow way: each pattern over the whole text. */
  const everyPattern = (text: string): string[] => {
    const lower = text.toLowerCase();
    return MARKERS.filter(({ pattern }) => pattern.test(lower)).map(({ name }) => name);
  };

  it('finds the same markers as running every pattern, however the words overlap', () => {
    const phrases = [
      'your key: 0123456789abcdef',
      'your keyyour key = abcdefgh-1234',
      'unique identifier 7f3a9c21',
      'personal id:x1y2z3w4q5',
      'price will double',
      'price increase',
      'data will be published on our blog',
      'leaked files',
      'sold data',
      'do not try to decrypt',
      'do not do not rename',
      'how to recover files',
      'how to restore your files',
      'decryptor tool',
      'decryption key',
      'pay in bitcoin',
      'payment in xmr',
      'btc wallet',
      'cryptocurrency amount',
      'tor browser',
      'torbrowser',
      'torproject.org',
      'abcdefghij234567.onion',
      'abcdefghij234567abcdefghij234567abcdefghij234567abcdefgh.onion',
      'all your documents have been encrypted',
      'your data were locked',
      'files are encrypted',
      'to decrypt them send 2 btc',
      'send 2 btc to bc1qxyz',
      'email decrypt@evil.example',
      'contact us at help@example.org',
      "don't try to recover",
    ];
    const texts: string[] = [...NOTES.map(([, text]) => text)];
    // Phrases alone, run together without separators, and overlapping by one word.
    for (const phrase of phrases) texts.push(phrase, phrase.toUpperCase(), `x${phrase}y`);
    for (let i = 0; i < phrases.length; i++) {
      for (let j = 0; j < phrases.length; j++) {
        texts.push(
          `${phrases[i]}${phrases[j]}`,
          `${phrases[i]} ${phrases[j]}`,
          `${phrases[i]!.slice(0, -3)}${phrases[j]}`,
        );
      }
    }
    // Non-ASCII text, some of which lower-cases into marker words (the Kelvin sign into `k`).
    texts.push(
      'your \u212Aey: 0123456789abcdef',
      'ÉCRIVEZ: contact us at help@example.org — fichiers chiffrés',
      'pay in BİTCOİN to the wallet',
      'tor browser\u00a0— personal id: abcdefgh12',
      'ends in a marker word @',
    );
    for (const text of texts) {
      expect(ransomMarkers(text), text).toEqual(everyPattern(text));
      expect(ransomMarkersIn(Buffer.from(text)), text).toEqual(everyPattern(text));
    }
    // Every marker is reached.
    expect(new Set(texts.flatMap(ransomMarkers))).toEqual(new Set(MARKERS.map(({ name }) => name)));
  });
});
