/**
 * Ransom notes: the text files ransomware drops beside what it encrypted. A note is recognised
 * by what it says (Tor `.onion` contacts, payment in cryptocurrency, "your files are encrypted",
 * decryption offers) and, more weakly, by the names families give them. Either alone is too
 * common (README.txt; a security policy that mentions bitcoin), so a finding needs the name and
 * two markers, or four markers on their own.
 */

/** Phrases (lower case) that ransom notes use and ordinary documents rarely combine. */
const MARKERS: readonly [string, RegExp][] = [
  ['onion-link', /\b[a-z2-7]{16}(?:[a-z2-7]{40})?\.onion\b/],
  ['tor-browser', /\btor ?browser\b|torproject\.org/],
  ['files-encrypted', /\b(?:your|all) (?:important )?(?:files|documents|data)[^.\n]{0,40}\b(?:have been|are|were) (?:encrypted|locked)\b|\bfiles (?:have been|are) encrypted\b/],
  ['decrypt-offer', /\bdecrypt(?:ion|or|ing)?\b[^.\n]{0,60}\b(?:files|tool|key|software|for free|price|pay)\b|\bhow to (?:decrypt|restore|recover) (?:your )?files\b/],
  ['payment', /\b(?:bitcoin|btc|monero|xmr|cryptocurrency)\b[^.\n]{0,80}\b(?:pay|wallet|address|amount|send|price)\b|\bpay(?:ment)?\b[^.\n]{0,80}\b(?:bitcoin|btc|monero|xmr)\b/],
  ['personal-id', /\b(?:personal|your|unique) (?:id|key|identifier)\b\s*[:=]?\s*[a-z0-9-]{8,}/],
  ['threat', /\b(?:publish(?:ed)?|leak(?:ed)?|sold)\b[^.\n]{0,60}\b(?:data|files|blog)\b|\bprice (?:will )?(?:double|increase)/],
  ['do-not-modify', /\bdo not (?:rename|modify|delete|try to decrypt)\b/],
];

/** Names families give their notes (matched against the file name, case-insensitively). */
const NOTE_NAMES = /^(?:[!_#-]*)?(?:how[_ -]?to[_ -]?(?:decrypt|restore|recover|back)|(?:decrypt|restore|recover)[_ -]?(?:my|your|all)?[_ -]?files|readme[_ -]?(?:for[_ -]?)?(?:decrypt|restore|recover)|_?readme|read[_ -]?me[!_ -]*|ransom[_ -]?note|[a-z0-9]{5,10}[_-]readme|help[_ -]?(?:decrypt|restore|recover|instructions))[^/]*\.(?:txt|html?|hta|rtf|url)$/i;

/** Markers found in `text` (the head of a small text file), by name. */
export function ransomMarkers(text: string): string[] {
  const lower = text.toLowerCase();
  return MARKERS.filter(([, pattern]) => pattern.test(lower)).map(([name]) => name);
}

/** True when a file's name is one families give their notes. */
export function hasRansomNoteName(path: string): boolean {
  return NOTE_NAMES.test(path.slice(path.lastIndexOf('/') + 1));
}

/** True when a file with these markers and this path is a ransom note. */
export function isRansomNote(path: string, markers: readonly string[]): boolean {
  return (hasRansomNoteName(path) && markers.length >= 2) || markers.length >= 4;
}
