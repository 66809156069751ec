import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hasRansomNoteName, isRansomNote, MARKERS, ransomMarkers } from '../../agent/detection/ransom-note.js';
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

describe('ransom notes', () => {
  it('recognises notes in the style of real families', () => {
    for (const [name, text] of NOTES) {
      expect(isRansomNote(name, ransomMarkers(text)), name).toBe(true);
    }
  });

  it('needs the content, not just a note-like name', () => {
    expect(hasRansomNoteName('README.txt')).toBe(true);
    expect(isRansomNote('README.txt', ransomMarkers('Build with make. See INSTALL for details.'))).toBe(false);
    expect(isRansomNote('docs/notes.txt', ransomMarkers(NOTES[1]![1]))).toBe(true);
  });

  it('flags none of hundreds of real README, changelog and licence texts on this machine', () => {
    const files = findMachineFiles({
      roots: ['/usr/share/doc', '/usr/share/common-licenses', '/usr/lib/python3', '/usr/share/perl'],
      name: (name) => /^(readme|changelog|news|copying|license)/i.test(name) || /\.(txt|md|html)(\.gz)?$/i.test(name),
      limit: 600,
      maxSize: 256 * 1024,
    });
    expect(files.length).toBeGreaterThan(300);
    const flagged = files.filter((file) => {
      let data = readFileSync(file.path);
      if (file.path.endsWith('.gz')) data = gunzipSync(data);
      return isRansomNote(file.path, ransomMarkers(data.subarray(0, 64 * 1024).toString('utf8')));
    });
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
    ];
    const texts: string[] = [...NOTES.map(([, text]) => text)];
    // Phrases alone, run together without separators, and overlapping by one word.
    for (const phrase of phrases) texts.push(phrase, phrase.toUpperCase(), `x${phrase}y`);
    for (let i = 0; i < phrases.length; i++) {
      for (let j = 0; j < phrases.length; j++) {
        texts.push(`${phrases[i]}${phrases[j]}`, `${phrases[i]} ${phrases[j]}`, `${phrases[i]!.slice(0, -3)}${phrases[j]}`);
      }
    }
    for (const text of texts) expect(ransomMarkers(text), text).toEqual(everyPattern(text));
    // Every marker is reached.
    expect(new Set(texts.flatMap(ransomMarkers))).toEqual(new Set(MARKERS.map(({ name }) => name)));
  });
});
