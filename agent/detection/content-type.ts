/**
 * Content types vouch recognises, and the file-name extensions that claim them. A type is named
 * by what the bytes are (magic and structure), never by the name alone; the extension and the
 * type the same path had in the previous snapshot are what the bytes are checked against.
 */

import type { CatalogType } from './magic-catalog.js';

/** Formats with a structure validator (see registry.ts). */
export const VALIDATED_TYPES = [
  'gzip',
  'zip',
  'png',
  'jpeg',
  'pdf',
  'xz',
  'zstd',
  'bzip2',
  'tar',
  'sqlite',
  'elf',
  'mp4',
  'text',
  'ar',
  'font',
  'pg-sql',
  'pg-dump',
] as const;

/** Formats with no magic, validated only when a name claims them (see registry.ts). */
export const CLAIMED_ONLY_TYPES = ['brotli'] as const;

/** Legitimately encrypted formats (allow-listed by header and structure). */
export const ENCRYPTED_TYPES = ['openpgp', 'age', 'openssl-salted', '7z', 'luks'] as const;

/**
 * Every type a classification can name: validated formats, legitimately encrypted ones, formats
 * recognised by magic only (magic-catalog.ts), `empty` for a zero-byte file and `unknown` when
 * no magic matched.
 */
export type ContentType =
  | (typeof VALIDATED_TYPES)[number]
  | (typeof CLAIMED_ONLY_TYPES)[number]
  | (typeof ENCRYPTED_TYPES)[number]
  | CatalogType
  | 'empty'
  | 'unknown';

/** Extensions (lower case, without the dot) that claim a type. Several may claim one type. */
export const EXTENSION_TYPES: Readonly<Record<string, ContentType>> = {
  gz: 'gzip',
  tgz: 'gzip',
  svgz: 'gzip',
  zip: 'zip',
  jar: 'zip',
  war: 'zip',
  ear: 'zip',
  apk: 'zip',
  whl: 'zip',
  egg: 'zip',
  docx: 'zip',
  xlsx: 'zip',
  pptx: 'zip',
  odt: 'zip',
  ods: 'zip',
  odp: 'zip',
  epub: 'zip',
  png: 'png',
  jpg: 'jpeg',
  jpeg: 'jpeg',
  pdf: 'pdf',
  xz: 'xz',
  txz: 'xz',
  zst: 'zstd',
  tzst: 'zstd',
  bz2: 'bzip2',
  tbz2: 'bzip2',
  tar: 'tar',
  sqlite: 'sqlite',
  sqlite3: 'sqlite',
  db: 'sqlite',
  so: 'elf',
  mp4: 'mp4',
  m4a: 'mp4',
  m4v: 'mp4',
  mov: 'mp4',
  br: 'brotli',
  txt: 'text',
  csv: 'text',
  tsv: 'text',
  json: 'text',
  xml: 'text',
  html: 'text',
  htm: 'text',
  md: 'text',
  sql: 'text',
  yaml: 'text',
  yml: 'text',
  conf: 'text',
  cfg: 'text',
  ini: 'text',
  log: 'text',
  py: 'text',
  js: 'text',
  sh: 'text',
  pl: 'text',
  rb: 'text',
  c: 'text',
  h: 'text',
  css: 'text',
  svg: 'text',
  rst: 'text',
  tex: 'text',
  adoc: 'text',
  asciidoc: 'text',
  org: 'text',
  toml: 'text',
  properties: 'text',
  gradle: 'text',
  java: 'text',
  go: 'text',
  rs: 'text',
  cpp: 'text',
  hpp: 'text',
  cc: 'text',
  cxx: 'text',
  kt: 'text',
  swift: 'text',
  php: 'text',
  lua: 'text',
  r: 'text',
  ps1: 'text',
  bat: 'text',
  cmd: 'text',
  pm: 'text',
  tcl: 'text',
  el: 'text',
  vim: 'text',
  diff: 'text',
  patch: 'text',
  po: 'text',
  pot: 'text',
  mk: 'text',
  cmake: 'text',
  in: 'text',
  am: 'text',
  ac: 'text',
  m4: 'text',
  awk: 'text',
  sed: 'text',
  bash: 'text',
  zsh: 'text',
  fish: 'text',
  csh: 'text',
  xsl: 'text',
  xslt: 'text',
  xsd: 'text',
  dtd: 'text',
  rss: 'text',
  atom: 'text',
  jsonl: 'text',
  ndjson: 'text',
  geojson: 'text',
  tsx: 'text',
  jsx: 'text',
  mjs: 'text',
  cjs: 'text',
  scss: 'text',
  sass: 'text',
  less: 'text',
  vue: 'text',
  svelte: 'text',
  erb: 'text',
  haml: 'text',
  twig: 'text',
  tpl: 'text',
  j2: 'text',
  graphql: 'text',
  proto: 'text',
  thrift: 'text',
  avsc: 'text',
  ldif: 'text',
  vcf: 'text',
  ics: 'text',
  eml: 'text',
  mbox: 'text',
  srt: 'text',
  vtt: 'text',
  bib: 'text',
  nfo: 'text',
  service: 'text',
  desktop: 'text',
  rules: 'text',
  repo: 'text',
  list: 'text',
  gpg: 'openpgp',
  pgp: 'openpgp',
  asc: 'openpgp',
  age: 'age',
  '7z': '7z',
  gif: 'gif',
  webp: 'webp',
  bmp: 'bmp',
  tif: 'tiff',
  tiff: 'tiff',
  ico: 'ico',
  psd: 'psd',
  heic: 'heif',
  avif: 'heif',
  mp3: 'mp3',
  ogg: 'ogg',
  oga: 'ogg',
  flac: 'flac',
  wav: 'wav',
  avi: 'avi',
  mkv: 'matroska',
  webm: 'matroska',
  rar: 'rar',
  cab: 'cab',
  doc: 'ole',
  xls: 'ole',
  ppt: 'ole',
  msi: 'ole',
  exe: 'pe',
  dll: 'pe',
  wasm: 'wasm',
  woff: 'woff',
  woff2: 'woff',
  ttf: 'font',
  otf: 'font',
  lz4: 'lz4',
  lz: 'lzip',
  rtf: 'rtf',
  ps: 'postscript',
  eps: 'postscript',
  djvu: 'djvu',
  dex: 'dex',
  class: 'java-class',
  pack: 'git-pack',
  pcap: 'pcap',
  pcapng: 'pcap',
  cpio: 'cpio',
  deb: 'ar',
  a: 'ar',
  rpm: 'rpm',
  kdbx: 'kdbx',
  pkl: 'python-pickle',
  pickle: 'python-pickle',
  mo: 'gettext-mo',
  gmo: 'gettext-mo',
  pyc: 'pyc',
  ttc: 'font',
  // pg_dump -Fc output, as its documentation names it (`pg_dump -Fc mydb > db.dump`).
  dump: 'pg-dump',
};

/** The extension of a path's last component (lower case, no dot), or '' when it has none. */
export function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** A versioned shared library's name (`libgbm.so.1.0.0`), whose last "extension" is a number. */
const VERSIONED_LIBRARY = /\.so(?:\.\d+)+$/i;

/**
 * The type a path's extension claims (a versioned shared library claims ELF), or null. Own keys
 * only: `x.constructor` or `x.__proto__` claims nothing (an inherited `Object` there could not be
 * sent to a worker, and failed every file posted with it).
 */
export function typeClaimedBy(path: string): ContentType | null {
  const extension = extensionOf(path);
  if (Object.hasOwn(EXTENSION_TYPES, extension)) return EXTENSION_TYPES[extension]!;
  return VERSIONED_LIBRARY.test(path) ? 'elf' : null;
}
