/**
 * Formats vouch recognises by their magic bytes but does not validate: images, audio and video
 * containers, fonts, executables, office and archive formats. Recognising them matters twice:
 * a file that still starts with its magic was not encrypted from its first byte, and when the
 * previous snapshot saw one of these at a path that now starts with random bytes, the header
 * is gone (history-based magic mismatch).
 */

/** Recognised, unvalidated formats and their signatures (offset, bytes). */
export const MAGIC_CATALOG = {
  gif: [
    [0, 'GIF87a'],
    [0, 'GIF89a'],
  ],
  webp: [[8, 'WEBP']],
  wav: [[8, 'WAVE']],
  avi: [[8, 'AVI ']],
  bmp: [[0, 'BM']],
  tiff: [
    [0, [0x49, 0x49, 0x2a, 0x00]],
    [0, [0x4d, 0x4d, 0x00, 0x2a]],
  ],
  ico: [[0, [0x00, 0x00, 0x01, 0x00]]],
  psd: [[0, '8BPS']],
  heif: [
    [4, 'ftypheic'],
    [4, 'ftypmif1'],
    [4, 'ftypavif'],
  ],
  mp3: [[0, 'ID3']],
  ogg: [[0, 'OggS']],
  flac: [[0, 'fLaC']],
  matroska: [[0, [0x1a, 0x45, 0xdf, 0xa3]]],
  rar: [[0, 'Rar!\x1a\x07']],
  cab: [[0, 'MSCF']],
  ole: [[0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]]],
  pe: [[0, 'MZ']],
  macho: [
    [0, [0xcf, 0xfa, 0xed, 0xfe]],
    [0, [0xce, 0xfa, 0xed, 0xfe]],
    [0, [0xca, 0xfe, 0xba, 0xbe]],
  ],
  wasm: [[0, [0x00, 0x61, 0x73, 0x6d]]],
  woff: [
    [0, 'wOFF'],
    [0, 'wOF2'],
  ],
  lz4: [[0, [0x04, 0x22, 0x4d, 0x18]]],
  lzip: [[0, 'LZIP']],
  rtf: [[0, '{\\rtf']],
  postscript: [[0, '%!PS']],
  djvu: [[0, 'AT&TFORM']],
  dex: [[0, 'dex\n']],
  'java-class': [[0, [0xca, 0xfe, 0xba, 0xbe, 0x00]]],
  'git-pack': [[0, 'PACK']],
  'sqlite-wal': [
    [0, [0x37, 0x7f, 0x06, 0x82]],
    [0, [0x37, 0x7f, 0x06, 0x83]],
  ],
  pcap: [
    [0, [0xd4, 0xc3, 0xb2, 0xa1]],
    [0, [0xa1, 0xb2, 0xc3, 0xd4]],
    [0, [0x0a, 0x0d, 0x0d, 0x0a]],
  ],
  cpio: [
    [0, '070701'],
    [0, '070702'],
    [0, '070707'],
  ],
  rpm: [[0, [0xed, 0xab, 0xee, 0xdb]]],
  // Protocols 2–5 open with PROTO; 0 and 1 have no magic (0 is text).
  'python-pickle': [
    [0, [0x80, 0x04, 0x95]],
    [0, [0x80, 0x05, 0x95]],
    [0, [0x80, 0x02]],
    [0, [0x80, 0x03]],
  ],
  kdbx: [[0, [0x03, 0xd9, 0xa2, 0x9a]]],
  'gettext-mo': [
    [0, [0xde, 0x12, 0x04, 0x95]],
    [0, [0x95, 0x04, 0x12, 0xde]],
  ],
  // CPython 3 bytecode: a two-byte magic whose high byte is 0x0d, then CR LF, then flags (PEP 552).
  pyc: [[1, [0x0d, 0x0d, 0x0a]]],
} as const satisfies Record<string, readonly (readonly [number, string | readonly number[]])[]>;

/** A recognised, unvalidated format. */
export type CatalogType = keyof typeof MAGIC_CATALOG;

const PICKLE_OPENERS = new Set([
  0x63, 0x5d, 0x7d, 0x29, 0x28, 0x4b, 0x4a, 0x4d, 0x58, 0x55, 0x4e, 0x88, 0x89, 0x8a, 0x8c, 0x47, 0x71,
]);

/**
 * Extra structure for two-byte magics, which one random header in 65,536 starts with: a PE file's
 * DOS header points at its `PE\0\0` signature; a BMP's reserved header bytes are zero.
 */
const CONFIRM: Partial<Record<CatalogType, (head: Uint8Array) => boolean>> = {
  pe: (head) => {
    if (head.length < 0x40) return false;
    const offset = head[0x3c]! | (head[0x3d]! << 8) | (head[0x3e]! << 16) | (head[0x3f]! << 24);
    return (
      offset >= 0x40 &&
      offset + 4 <= head.length &&
      head[offset] === 0x50 &&
      head[offset + 1] === 0x45 &&
      head[offset + 2] === 0 &&
      head[offset + 3] === 0
    );
  },
  // After PROTO 2 or 3 comes an opcode: GLOBAL, EMPTY_LIST/DICT/TUPLE, MARK, a number or a string.
  'python-pickle': (head) => head[1]! >= 4 || (head.length >= 3 && PICKLE_OPENERS.has(head[2]!)),
  pyc: (head) => head.length >= 16 && head[4]! <= 3 && head[5] === 0 && head[6] === 0 && head[7] === 0,
  bmp: (head) =>
    head.length >= 18 &&
    head[6] === 0 &&
    head[7] === 0 &&
    head[8] === 0 &&
    head[9] === 0 &&
    [12, 40, 52, 56, 64, 108, 124].includes(head[14]! | (head[15]! << 8)),
};

/**
 * The catalogue as one flat list, built once: every signature as bytes, in the order they are
 * tried — Java classes before Mach-O fat binaries, which share CAFEBABE.
 */
const SIGNATURES: readonly { type: CatalogType; offset: number; bytes: readonly number[] }[] = (
  Object.entries(MAGIC_CATALOG) as [CatalogType, readonly (readonly [number, string | readonly number[]])[]][]
)
  .sort(([a], [b]) => (a === 'java-class' ? -1 : b === 'java-class' ? 1 : 0))
  .flatMap(([type, signatures]) =>
    signatures.map(([offset, signature]) => ({
      type,
      offset,
      bytes: typeof signature === 'string' ? Array.from(signature, (c) => c.charCodeAt(0)) : signature,
    })),
  );

/** The catalogued format `head` starts with, or null (see SIGNATURES for the order). */
export function catalogTypeOf(head: Uint8Array): CatalogType | null {
  for (const { type, offset, bytes } of SIGNATURES) {
    if (head.length < offset + bytes.length) continue;
    let same = true;
    for (let i = 0; i < bytes.length && same; i++) same = head[offset + i] === bytes[i];
    if (same && (CONFIRM[type]?.(head) ?? true)) return type;
  }
  return null;
}
