/**
 * Ransom notes: the text files ransomware drops beside what it encrypted. One classifier for notes
 * inside snapshots (content-probe.ts, snapshot-detection.ts) and beside them in the store
 * (scan/foreign-objects.ts). A note is recognised by what it says: that files were encrypted
 * (or how to decrypt them) — a *claim* — and how to pay or reach the attacker (cryptocurrency,
 * Tor `.onion`, a contact address, a victim ID) — a *demand*; and, more weakly, by the names
 * families give them. Documentation about encryption (gpg, openssl, cryptsetup manuals) makes
 * claims but demands nothing; a security policy mentions bitcoin but claims nothing. So a note
 * needs a claim and a demand together with a note's name or a third marker — or four markers.
 */
import { isAscii } from 'node:buffer';

/**
 * Phrases (lower case) that ransom notes use and ordinary documents rarely combine, each with the
 * words of which any match contains one. Nearly every file contains none of them, and one search
 * for all the words costs far less than running every pattern over the file.
 */
export const MARKERS: readonly { name: string; needs: readonly string[]; pattern: RegExp }[] = [
  { name: 'onion-link', needs: ['.onion'], pattern: /\b[a-z2-7]{16}(?:[a-z2-7]{40})?\.onion\b/ },
  {
    name: 'tor-browser',
    needs: ['tor browser', 'torbrowser', 'torproject.org'],
    pattern: /\btor ?browser\b|torproject\.org/,
  },
  {
    name: 'files-encrypted',
    needs: [' encrypted', ' locked'],
    pattern:
      /\b(?:your|all) (?:important )?(?:files|documents|data)[^.\n]{0,40}\b(?:have been|are|were) (?:encrypted|locked)\b|\bfiles (?:have been|are) encrypted\b/,
  },
  {
    name: 'decrypt-offer',
    needs: ['decrypt', 'how to restore', 'how to recover'],
    pattern:
      /\bdecrypt(?:ion|or|ing)?\b[^.\n]{0,60}\b(?:files|tool|key|software|for free|price|pay)\b|\bhow to (?:decrypt|restore|recover) (?:your )?files\b|\bto decrypt (?:them|it|your (?:files|data|documents))\b[^.\n]{0,40}\b(?:send|pay|contact|email|write|buy)\b/,
  },
  {
    name: 'payment',
    needs: ['bitcoin', 'btc', 'monero', 'xmr', 'cryptocurrency'],
    pattern:
      /\b(?:bitcoin|btc|monero|xmr|cryptocurrency)\b(?:[^.\n]|\.(?=\d)){0,80}\b(?:pay|wallet|address|amount|send|price)\b|\b(?:pay(?:ment)?|send|transfer)\b(?:[^.\n]|\.(?=\d)){0,80}\b(?:bitcoin|btc|monero|xmr)\b/,
  },
  {
    name: 'contact',
    needs: ['@'],
    pattern:
      /\b(?:contact|write|e-?mail)(?: us)?(?: at| to)?\b[^.\n]{0,40}?[a-z0-9._%+-]+@[a-z0-9-]+\.[a-z]{2,}|\bdecrypt[a-z0-9._%+-]*@[a-z0-9-]+\./,
  },
  {
    name: 'personal-id',
    needs: ['personal id', 'personal key', 'your id', 'your key', 'unique id', 'unique key'],
    pattern: /\b(?:personal|your|unique) (?:id|key|identifier)\b\s*[:=]?\s*[a-z0-9-]{8,}/,
  },
  {
    name: 'threat',
    needs: ['publish', 'leak', 'sold', 'price will', 'price double', 'price increase'],
    pattern:
      /\b(?:publish(?:ed)?|leak(?:ed)?|sold)\b[^.\n]{0,60}\b(?:data|files|blog)\b|\bprice (?:will )?(?:double|increase)/,
  },
  {
    name: 'do-not-modify',
    needs: ['do not ', "don't "],
    pattern: /\b(?:do not|don't) (?:rename|modify|delete|try to (?:decrypt|recover|restore))\b/,
  },
];

/** Markers that claim files were encrypted. */
const CLAIMS: ReadonlySet<string> = new Set(['files-encrypted', 'decrypt-offer']);
/** Markers that demand payment or contact. */
const DEMANDS: ReadonlySet<string> = new Set([
  'payment',
  'onion-link',
  'tor-browser',
  'contact',
  'personal-id',
]);

/** Every marker's words, longest first, as one pattern. */
const WORDS = [...new Set(MARKERS.flatMap(({ needs }) => needs))].sort((a, b) => b.length - a.length);
const WORD_SEARCH = new RegExp(
  WORDS.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
  'g',
);

/** The marker words `lower` contains, every occurrence considered (overlapping ones, and shorter words at the start of a longer one). */
function wordsIn(lower: string): Set<string> {
  const found = new Set<string>();
  WORD_SEARCH.lastIndex = 0;
  for (let match = WORD_SEARCH.exec(lower); match !== null; match = WORD_SEARCH.exec(lower)) {
    for (const word of WORDS) if (match[0].startsWith(word)) found.add(word);
    WORD_SEARCH.lastIndex = match.index + 1;
  }
  return found;
}

/**
 * The same search over ASCII bytes, without decoding them: a pair of lower-cased bytes that starts
 * a marker word is looked up in a table, and only then is the word compared. ASCII text decodes
 * and lower-cases byte for byte (A–Z to a–z), so this finds exactly the words `wordsIn` finds in
 * the lower-cased text — for a fraction of the regular expression's time. (Other text can
 * lower-case into ASCII, the Kelvin sign into `k`: it takes `wordsIn`.)
 */
function asciiWordsIn(bytes: Uint8Array): Set<string> {
  const found = new Set<string>();
  const length = bytes.length;
  let byte = length > 0 ? LOWER[bytes[0]!]! : 0;
  for (let i = 0; i < length; i++) {
    const next = i + 1 < length ? LOWER[bytes[i + 1]!]! : 0;
    const list = PAIR_LIST[(byte << 8) | next]!;
    byte = next;
    if (list === 0) continue;
    for (const { word, code } of WORD_LISTS[list]!) {
      if (i + code.length > length) continue;
      let j = 2;
      while (j < code.length && LOWER[bytes[i + j]!] === code[j]) j++;
      if (j >= code.length) found.add(word);
    }
  }
  return found;
}

/** ASCII lower case of every byte (others unchanged). */
const LOWER = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) LOWER[byte] = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
/**
 * The marker words by their first two bytes: PAIR_LIST[pair] indexes WORD_LISTS (0: none). A
 * one-letter word (`@`) stands under every pair it starts.
 */
const PAIR_LIST = new Uint16Array(65536);
const WORD_LISTS: { word: string; code: Uint8Array }[][] = [[]];
for (const word of WORDS) {
  const first = word.charCodeAt(0) << 8;
  const pairs =
    word.length > 1 ? [first | word.charCodeAt(1)] : Array.from({ length: 256 }, (_, next) => first | next);
  for (const pair of pairs) {
    if (PAIR_LIST[pair] === 0) PAIR_LIST[pair] = WORD_LISTS.push([]) - 1;
    WORD_LISTS[PAIR_LIST[pair]!]!.push({ word, code: Buffer.from(word, 'latin1') });
  }
}

/** Names families give their notes (matched against the file name, case-insensitively). */
const NOTE_NAMES =
  /^(?:[!_#-]*)?(?:how[_ -]?to[_ -]?(?:decrypt|restore|recover|back)|(?:decrypt|restore|recover)[_ -]?(?:my|your|all)?[_ -]?files|readme[_ -]?(?:for[_ -]?)?(?:decrypt|restore|recover)|_?readme|read[_ -]?me[!_ -]*|ransom[_ -]?note|[a-z0-9]{5,10}[_-]readme|help[_ -]?(?:decrypt|restore|recover|instructions)|[^/]*(?:decrypt|(?:restore|recover|return)[_ -]?(?:my|your|all)?[_ -]?(?:files|data)))[^/]*\.(?:txt|html?|hta|rtf|url)$/i;

/** Markers found in `text` (the head of a small text file), by name. */
export function ransomMarkers(text: string): string[] {
  const lower = text.toLowerCase();
  const words = wordsIn(lower);
  return MARKERS.filter(
    ({ needs, pattern }) => needs.some((word) => words.has(word)) && pattern.test(lower),
  ).map(({ name }) => name);
}

/**
 * Markers found in `head`, the first bytes of a small text file as UTF-8: the same as
 * `ransomMarkers` of its decoded text. ASCII (most text) is searched as bytes and decoded only
 * when a marker word is there.
 */
export function ransomMarkersIn(head: Uint8Array): string[] {
  if (!isAscii(head))
    return ransomMarkers(Buffer.from(head.buffer, head.byteOffset, head.length).toString('utf8'));
  const words = asciiWordsIn(head);
  if (words.size === 0) return [];
  const lower = Buffer.from(head.buffer, head.byteOffset, head.length).toString('latin1').toLowerCase();
  return MARKERS.filter(
    ({ needs, pattern }) => needs.some((word) => words.has(word)) && pattern.test(lower),
  ).map(({ name }) => name);
}

/** True when a file's name is one families give their notes. */
export function hasRansomNoteName(path: string): boolean {
  return NOTE_NAMES.test(path.slice(path.lastIndexOf('/') + 1));
}

/**
 * True when a file with these markers and this path is a ransom note: a claim and a demand with a
 * note's name or a third marker, or any four markers.
 */
export function isRansomNote(path: string, markers: readonly string[]): boolean {
  if (markers.length >= 4) return true;
  const claimAndDemand =
    markers.some((marker) => CLAIMS.has(marker)) && markers.some((marker) => DEMANDS.has(marker));
  return claimAndDemand && (hasRansomNoteName(path) || markers.length >= 3);
}
