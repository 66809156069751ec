/**
 * Ransom notes: the text files ransomware drops beside what it encrypted. A note is recognised
 * by what it says (Tor `.onion` contacts, payment in cryptocurrency, "your files are encrypted",
 * decryption offers) and, more weakly, by the names families give them. Either alone is too
 * common (README.txt; a security policy that mentions bitcoin), so a finding needs the name and
 * two markers, or four markers on their own.
 */

/**
 * Phrases (lower case) that ransom notes use and ordinary documents rarely combine, each with the
 * words of which any match contains one. Nearly every file contains none of them, and one search
 * for all the words costs far less than running every pattern over the file.
 */
export const MARKERS: readonly { name: string; needs: readonly string[]; pattern: RegExp }[] = [
  { name: 'onion-link', needs: ['.onion'], pattern: /\b[a-z2-7]{16}(?:[a-z2-7]{40})?\.onion\b/ },
  { name: 'tor-browser', needs: ['tor browser', 'torbrowser', 'torproject.org'], pattern: /\btor ?browser\b|torproject\.org/ },
  { name: 'files-encrypted', needs: [' encrypted', ' locked'], pattern: /\b(?:your|all) (?:important )?(?:files|documents|data)[^.\n]{0,40}\b(?:have been|are|were) (?:encrypted|locked)\b|\bfiles (?:have been|are) encrypted\b/ },
  { name: 'decrypt-offer', needs: ['decrypt', 'how to restore', 'how to recover'], pattern: /\bdecrypt(?:ion|or|ing)?\b[^.\n]{0,60}\b(?:files|tool|key|software|for free|price|pay)\b|\bhow to (?:decrypt|restore|recover) (?:your )?files\b/ },
  { name: 'payment', needs: ['bitcoin', 'btc', 'monero', 'xmr', 'cryptocurrency'], pattern: /\b(?:bitcoin|btc|monero|xmr|cryptocurrency)\b[^.\n]{0,80}\b(?:pay|wallet|address|amount|send|price)\b|\bpay(?:ment)?\b[^.\n]{0,80}\b(?:bitcoin|btc|monero|xmr)\b/ },
  { name: 'personal-id', needs: ['personal id', 'personal key', 'your id', 'your key', 'unique id', 'unique key'], pattern: /\b(?:personal|your|unique) (?:id|key|identifier)\b\s*[:=]?\s*[a-z0-9-]{8,}/ },
  { name: 'threat', needs: ['publish', 'leak', 'sold', 'price will', 'price double', 'price increase'], pattern: /\b(?:publish(?:ed)?|leak(?:ed)?|sold)\b[^.\n]{0,60}\b(?:data|files|blog)\b|\bprice (?:will )?(?:double|increase)/ },
  { name: 'do-not-modify', needs: ['do not '], pattern: /\bdo not (?:rename|modify|delete|try to decrypt)\b/ },
];

/** Every marker's words, longest first, as one pattern. */
const WORDS = [...new Set(MARKERS.flatMap(({ needs }) => needs))].sort((a, b) => b.length - a.length);
const WORD_SEARCH = new RegExp(WORDS.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');

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

/** Names families give their notes (matched against the file name, case-insensitively). */
const NOTE_NAMES = /^(?:[!_#-]*)?(?:how[_ -]?to[_ -]?(?:decrypt|restore|recover|back)|(?:decrypt|restore|recover)[_ -]?(?:my|your|all)?[_ -]?files|readme[_ -]?(?:for[_ -]?)?(?:decrypt|restore|recover)|_?readme|read[_ -]?me[!_ -]*|ransom[_ -]?note|[a-z0-9]{5,10}[_-]readme|help[_ -]?(?:decrypt|restore|recover|instructions))[^/]*\.(?:txt|html?|hta|rtf|url)$/i;

/** Markers found in `text` (the head of a small text file), by name. */
export function ransomMarkers(text: string): string[] {
  const lower = text.toLowerCase();
  const words = wordsIn(lower);
  return MARKERS.filter(({ needs, pattern }) => needs.some((word) => words.has(word)) && pattern.test(lower)).map(({ name }) => name);
}

/** True when a file's name is one families give their notes. */
export function hasRansomNoteName(path: string): boolean {
  return NOTE_NAMES.test(path.slice(path.lastIndexOf('/') + 1));
}

/** True when a file with these markers and this path is a ransom note. */
export function isRansomNote(path: string, markers: readonly string[]): boolean {
  return (hasRansomNoteName(path) && markers.length >= 2) || markers.length >= 4;
}
