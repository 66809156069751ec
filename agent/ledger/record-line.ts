/**
 * The one byte form of a stored ledger record: `JSON.stringify` of the record, on one line, in
 * UTF-8, ending in `\n`. It is a function of the record's value (JSON.parse keeps key order, and
 * JavaScript prints every number and string one way), so verification can demand that each stored
 * line be exactly the bytes this gives for the record it parses to. Anything else — whitespace,
 * `\u` escapes of plain characters, CRLF, a BOM, `1.0` for `1`, a key written twice
 * (`"set":"evil","set":"st"`: JSON.parse keeps the last, so the hash would still match) — is an
 * edit the hash alone would not see.
 */

/** Longest line a record may take (writers refuse larger records; verification names longer lines without buffering them). */
export const MAX_RECORD_LINE_BYTES = 64 * 2 ** 20;

/** The line (without its newline) vouch writes for `record`. */
export function recordLine(record: unknown): string {
  return JSON.stringify(record);
}

/** Why `stored` (one line's bytes, no newline) is not the canonical line of `record`, or null when it is. */
export function nonCanonicalReason(stored: Buffer, record: unknown): string | null {
  const canonical = Buffer.from(recordLine(record), 'utf8');
  if (canonical.equals(stored)) return null;
  const duplicate = duplicateKey(stored.toString('utf8'));
  if (duplicate !== null)
    return `key "${duplicate}" appears twice in one object (the hash covers only the last)`;
  let at = 0;
  while (at < stored.length && at < canonical.length && stored[at] === canonical[at]) at++;
  const found = stored[at];
  const what =
    found === undefined
      ? 'it ends early'
      : found === 0x0d
        ? 'a carriage return (CRLF line ending)'
        : found === 0x20 || found === 0x09
          ? 'whitespace'
          : found === 0x5c
            ? 'an escape sequence the canonical form does not use'
            : found === 0xef && stored[at + 1] === 0xbb
              ? 'a byte-order mark'
              : `byte 0x${found.toString(16).padStart(2, '0')} where the canonical form has ${canonical[at] === undefined ? 'its end' : `0x${canonical[at]!.toString(16).padStart(2, '0')}`}`;
  return `bytes differ from the record's canonical form at byte ${at + 1}: ${what}`;
}

/**
 * The first key that occurs twice in one object of a JSON text, or null. A linear scan that only
 * tracks strings and nesting; the text is known to parse.
 */
export function duplicateKey(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = stack.at(-1);
      if (keys && expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (char === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      stack.push(null);
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      expectKey = stack.at(-1) !== null && stack.length > 0;
    }
  }
  return null;
}
