/**
 * The detection benchmark's corpus: real files from this machine, by type, capped in size and
 * picked deterministically (a well-mixed order by path hash, round-robin over extensions, one copy
 * of each content). Where the machine has too few real files of a type, more are derived from
 * real files with the real tools of that format: xz/zstd/bzip2 of real text and ELF files, tar of
 * real directories, sqlite3 databases filled with real text, pdfseparate/pdfunite of the real
 * PDFs, JPEGs re-encoded by jpegtran or rendered from the real PDFs by pdftoppm.
 *
 * Built once into a directory (bench-data/detection/, ignored by git) with a manifest written
 * last, so an interrupted build is redone and a finished one is reused.
 */
import { isUtf8 } from 'node:buffer';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findMachineFiles, MACHINE_ROOTS, type MachineFile } from '../../test/helpers/machine-files.js';
import { ROOT as REPOSITORY } from '../bench-kit.js';
import { demoSnapshotFiles } from '../../agent/demo/estate.js';
import { mixedOrder, runTool, sha256 } from './tools.js';

/** What corpus files are, by construction (not by what the classifier says). */
export const CORPUS_TYPES = [
  'text',
  'gzip',
  'xz',
  'zstd',
  'bzip2',
  'zip',
  'png',
  'jpeg',
  'pdf',
  'elf',
  'sqlite',
  'tar',
  'gif',
  'woff2',
  'deb',
  'font',
  'mo',
  'pyc',
  'java-class',
  'wasm',
  'ico',
  'bmp',
  'tiff',
  'wav',
  'pe',
  'static-lib',
  'postscript',
  'pg-sql',
  'lz4',
  'pickle',
  'git-pack',
] as const;

export type CorpusType = (typeof CORPUS_TYPES)[number];

/** Files wanted per type. Formats without a validator of their own (gif, woff2, deb, font) are fewer. */
export const QUOTAS: Readonly<Record<CorpusType, number>> = {
  text: 250,
  gzip: 250,
  xz: 150,
  zstd: 150,
  bzip2: 150,
  zip: 250,
  png: 250,
  jpeg: 150,
  pdf: 150,
  elf: 250,
  sqlite: 120,
  tar: 150,
  gif: 60,
  woff2: 60,
  deb: 60,
  font: 40,
  mo: 60,
  pyc: 60,
  'java-class': 60,
  wasm: 40,
  ico: 40,
  bmp: 40,
  tiff: 40,
  wav: 40,
  pe: 40,
  'static-lib': 40,
  postscript: 40,
  'pg-sql': 30,
  lz4: 40,
  pickle: 40,
  'git-pack': 20,
};

/** Size bounds of every corpus file: big enough to hold a format, small enough that a run stays short. */
export const MIN_FILE_BYTES = 1024;
export const MAX_FILE_BYTES = 4 * 2 ** 20;

/** One file of the corpus. */
export interface CorpusFile {
  type: CorpusType;
  /** Relative to the corpus root: `<type>/<nnnn>-<name>`, keeping the name's real extension. */
  path: string;
  /** Where it came from: a real path, or the tool and the real file(s) it was derived from. */
  origin: string;
  size: number;
  /** True when derived by a tool rather than found on the machine. */
  derived: boolean;
}

/** A built corpus. */
export interface Corpus {
  root: string;
  files: CorpusFile[];
}

/** Bumped whenever what the builder makes changes, so an older corpus is rebuilt. */
const CORPUS_VERSION = 2;
/** Where real files are looked for: the helpers' machine roots plus the toolchains' own trees. */
const ROOTS = [
  ...MACHINE_ROOTS,
  '/root/.pyenv',
  '/root/.rustup',
  '/root/.m2',
  '/root/.cargo',
  path.join(REPOSITORY, 'node_modules'),
];

const TEXT_EXTENSIONS = [
  'txt',
  'md',
  'rst',
  'html',
  'htm',
  'py',
  'js',
  'json',
  'xml',
  'csv',
  'conf',
  'c',
  'h',
  'css',
  'sh',
  'pl',
  'rb',
  'yaml',
  'yml',
  'ini',
  'cfg',
  'sql',
  'svg',
  'tsv',
  'log',
];

/** A real type: which names to consider and what the bytes must start with. */
interface RealRule {
  name: RegExp;
  accepts: (data: Buffer) => boolean;
}

const startsWith = (bytes: string | number[]) => {
  const magic = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  return (data: Buffer) => data.subarray(0, magic.length).equals(magic);
};

/** Printable UTF-8 without NUL bytes: what a text file is. */
function isText(data: Buffer): boolean {
  if (!isUtf8(data)) return false;
  let control = 0;
  for (const byte of data) {
    if (byte === 0) return false;
    if (byte < 9 || (byte > 13 && byte < 32)) control++;
  }
  return control <= data.length / 200;
}

const RULES: Readonly<Record<CorpusType, RealRule>> = {
  text: { name: new RegExp(`\\.(${TEXT_EXTENSIONS.join('|')})$`, 'i'), accepts: isText },
  gzip: { name: /\.gz$/i, accepts: startsWith([0x1f, 0x8b, 0x08]) },
  xz: { name: /\.(xz|txz)$/i, accepts: startsWith([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  zstd: { name: /\.(zst|tzst)$/i, accepts: startsWith([0x28, 0xb5, 0x2f, 0xfd]) },
  bzip2: { name: /\.(bz2|tbz2)$/i, accepts: startsWith('BZh') },
  zip: {
    name: /\.(zip|jar|whl|odt|ods|odp|epub|apk|docx|xlsx|pptx|egg)$/i,
    accepts: startsWith('PK\x03\x04'),
  },
  png: { name: /\.png$/i, accepts: startsWith([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  jpeg: { name: /\.(jpg|jpeg)$/i, accepts: startsWith([0xff, 0xd8, 0xff]) },
  pdf: { name: /\.pdf$/i, accepts: startsWith('%PDF-') },
  elf: { name: /\.so(\.\d+)*$/, accepts: startsWith('\x7fELF') },
  sqlite: { name: /\.(sqlite|sqlite3|db)$/i, accepts: startsWith('SQLite format 3\0') },
  tar: { name: /\.tar$/i, accepts: (data) => data.subarray(257, 262).toString('latin1') === 'ustar' },
  gif: { name: /\.gif$/i, accepts: startsWith('GIF8') },
  woff2: { name: /\.woff2$/i, accepts: startsWith('wOF2') },
  deb: { name: /\.deb$/i, accepts: startsWith('!<arch>\ndebian-binary') },
  font: {
    name: /\.(ttf|otf)$/i,
    accepts: (data) => startsWith([0, 1, 0, 0])(data) || startsWith('OTTO')(data),
  },
  mo: {
    name: /\.g?mo$/i,
    accepts: (data) =>
      startsWith([0xde, 0x12, 0x04, 0x95])(data) || startsWith([0x95, 0x04, 0x12, 0xde])(data),
  },
  pyc: { name: /\.pyc$/i, accepts: (data) => data[1] === 0x0d && data[2] === 0x0d && data[3] === 0x0a },
  'java-class': { name: /\.class$/i, accepts: startsWith([0xca, 0xfe, 0xba, 0xbe]) },
  wasm: { name: /\.wasm$/i, accepts: startsWith([0x00, 0x61, 0x73, 0x6d]) },
  ico: { name: /\.ico$/i, accepts: startsWith([0x00, 0x00, 0x01, 0x00]) },
  bmp: { name: /\.bmp$/i, accepts: startsWith('BM') },
  tiff: {
    name: /\.tiff?$/i,
    accepts: (data) =>
      startsWith([0x49, 0x49, 0x2a, 0x00])(data) || startsWith([0x4d, 0x4d, 0x00, 0x2a])(data),
  },
  wav: {
    name: /\.wav$/i,
    accepts: (data) => startsWith('RIFF')(data) && data.subarray(8, 12).toString('latin1') === 'WAVE',
  },
  pe: { name: /\.(exe|dll)$/i, accepts: startsWith('MZ') },
  'static-lib': { name: /\.a$/, accepts: startsWith('!<arch>\n') },
  postscript: { name: /\.(ps|eps)$/i, accepts: startsWith('%!PS') },
  'pg-sql': { name: /\.sql$/i, accepts: startsWith('--\n-- PostgreSQL database dump\n') },
  lz4: { name: /\.lz4$/i, accepts: startsWith([0x04, 0x22, 0x4d, 0x18]) },
  pickle: {
    name: /\.(pkl|pickle)$/i,
    accepts: (data) => startsWith([0x80, 0x04, 0x95])(data) || startsWith([0x80, 0x05, 0x95])(data),
  },
  'git-pack': { name: /\.pack$/i, accepts: startsWith('PACK') },
};

type Log = (message: string) => void;

/** Writes corpus files: one copy of each content, within the size bounds, up to each type's quota. */
class CorpusWriter {
  readonly files: CorpusFile[] = [];
  private readonly contents = new Set<string>();
  private readonly counts = new Map<CorpusType, number>();

  constructor(readonly root: string) {}

  count(type: CorpusType): number {
    return this.counts.get(type) ?? 0;
  }

  full(type: CorpusType): boolean {
    return this.count(type) >= QUOTAS[type];
  }

  /** Adds `data` as a `type` file named like `name`; false when it is a duplicate, out of bounds, or the type is full. */
  add(type: CorpusType, name: string, data: Buffer, origin: string, derived: boolean): boolean {
    if (this.full(type) || data.length < MIN_FILE_BYTES || data.length > MAX_FILE_BYTES) return false;
    const digest = sha256(data);
    if (this.contents.has(digest)) return false;
    this.contents.add(digest);
    const index = this.count(type);
    const relative = `${type}/${String(index).padStart(4, '0')}-${safeName(name)}`;
    mkdirSync(path.join(this.root, type), { recursive: true });
    writeFileSync(path.join(this.root, relative), data);
    this.files.push({ type, path: relative, origin, size: data.length, derived });
    this.counts.set(type, index + 1);
    return true;
  }
}

/** A file name safe everywhere, keeping its (last two) extensions. */
function safeName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._+-]/g, '_');
  if (clean.length <= 80) return clean;
  const ext = clean.match(/(\.[A-Za-z0-9]{1,8}){1,2}$/)?.[0] ?? '';
  return clean.slice(0, 80 - ext.length) + ext;
}

const extensionOf = (file: string) => path.extname(file).toLowerCase();

/**
 * `files` ordered for picking: a hash-mixed order within each extension, round-robin across
 * extensions, so no one extension (or directory) crowds out the rest.
 */
function roundRobin(files: readonly MachineFile[], salt: string): MachineFile[] {
  const groups = new Map<string, MachineFile[]>();
  for (const file of mixedOrder(files, (f) => f.path, salt)) {
    const ext = extensionOf(file.path);
    const group = groups.get(ext);
    if (group) group.push(file);
    else groups.set(ext, [file]);
  }
  const queues = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, queue]) => queue);
  const out: MachineFile[] = [];
  for (let round = 0; out.length < files.length; round++) {
    for (const queue of queues) if (round < queue.length) out.push(queue[round]!);
  }
  return out;
}

function readOrNull(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

/** Real files of every type found by one bounded walk of the machine (plus ELF programs). */
function machineCandidates(): Map<CorpusType, MachineFile[]> {
  const all = findMachineFiles({
    name: (name) => CORPUS_TYPES.some((type) => RULES[type].name.test(name)),
    limit: 1_000_000,
    minSize: MIN_FILE_BYTES,
    maxSize: MAX_FILE_BYTES,
    roots: ROOTS,
    maxVisits: 2_000_000,
  });
  const programs = findMachineFiles({
    name: () => true,
    limit: 100_000,
    minSize: MIN_FILE_BYTES,
    maxSize: MAX_FILE_BYTES,
    roots: ['/usr/bin', '/usr/sbin'],
  });
  const byType = new Map<CorpusType, MachineFile[]>(CORPUS_TYPES.map((type) => [type, []]));
  for (const file of all) {
    const name = path.basename(file.path);
    const type = CORPUS_TYPES.find((t) => RULES[t].name.test(name));
    if (type) byType.get(type)!.push(file);
  }
  byType.get('elf')!.push(...programs);
  return byType;
}

/** Real files that really are `type` (by content), in picking order. */
function* realFiles(
  candidates: readonly MachineFile[],
  type: CorpusType,
  salt: string,
): Generator<{ file: MachineFile; data: Buffer }> {
  for (const file of roundRobin(candidates, `${salt}:${type}`)) {
    const data = readOrNull(file.path);
    if (data && RULES[type].accepts(data)) yield { file, data };
  }
}

/** Picks real files of `type` until its quota is met or the machine has no more. */
function addReal(writer: CorpusWriter, type: CorpusType, candidates: readonly MachineFile[]): void {
  for (const { file, data } of realFiles(candidates, type, 'real')) {
    if (writer.full(type)) return;
    writer.add(type, path.basename(file.path), data, file.path, false);
  }
}

/** Text and ELF files, alternately, as the raw material compressors and databases are fed. */
function* rawMaterial(
  candidates: Map<CorpusType, MachineFile[]>,
  salt: string,
  maxBytes: number,
): Generator<{ file: MachineFile; data: Buffer }> {
  const text = realFiles(
    candidates.get('text')!.filter((f) => f.size <= maxBytes),
    'text',
    salt,
  );
  const elf = realFiles(
    candidates.get('elf')!.filter((f) => f.size <= maxBytes),
    'elf',
    salt,
  );
  for (;;) {
    const a = text.next();
    const b = elf.next();
    if (a.done && b.done) return;
    if (!a.done) yield a.value;
    if (!b.done) yield b.value;
  }
}

/** Compressor variants, cycled through so each level and check type appears. */
const COMPRESSORS: Record<'xz' | 'zstd' | 'bzip2', { command: string; ext: string; variants: string[][] }> = {
  xz: {
    command: 'xz',
    ext: 'xz',
    variants: [
      ['-6'],
      ['-0'],
      ['-9', '--check=sha256'],
      ['-3', '--check=crc32'],
      ['-6', '-e'],
      ['-2', '--check=none'],
    ],
  },
  zstd: {
    command: 'zstd',
    ext: 'zst',
    variants: [['-3'], ['-1'], ['-9'], ['-3', '--no-check'], ['-12'], ['-6', '--no-check']],
  },
  bzip2: { command: 'bzip2', ext: 'bz2', variants: [['-9'], ['-1'], ['-5']] },
};

/** Tops up a compressed type with real text and ELF files compressed by its real CLI. */
function deriveCompressed(
  writer: CorpusWriter,
  type: 'xz' | 'zstd' | 'bzip2',
  candidates: Map<CorpusType, MachineFile[]>,
): void {
  const { command, ext, variants } = COMPRESSORS[type];
  let index = 0;
  for (const { file, data } of rawMaterial(candidates, `derive:${type}`, MAX_FILE_BYTES)) {
    if (writer.full(type)) return;
    const args = variants[index++ % variants.length]!;
    const out = runTool(command, [...args, '-c', '-q'], { input: data });
    writer.add(
      type,
      `${path.basename(file.path)}.${ext}`,
      out,
      `${command} ${args.join(' ')} of ${file.path}`,
      true,
    );
  }
}

/** Total bytes under `dir`, or null when it is too large, too busy, or holds anything but files and directories. */
function treeBytes(dir: string, limit: number): number | null {
  let total = 0;
  let entries = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (++entries > 2000) return null;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) total += statSync(full).size;
      else if (!entry.isSymbolicLink()) return null;
      if (total > limit) return null;
    }
  }
  return total;
}

const TAR_FORMATS = ['gnu', 'posix', 'ustar'] as const;

/** Tops up tar with reproducible archives of real directories (the ones real text files live in). */
function deriveTar(writer: CorpusWriter, candidates: Map<CorpusType, MachineFile[]>): void {
  const dirs = [...new Set(candidates.get('text')!.map((f) => path.dirname(f.path)))];
  let index = 0;
  for (const dir of mixedOrder(dirs, (d) => d, 'derive:tar')) {
    if (writer.full('tar')) return;
    let bytes: number | null;
    try {
      bytes = treeBytes(dir, MAX_FILE_BYTES - 512 * 1024);
    } catch {
      continue;
    }
    if (bytes === null || bytes < 8 * 1024) continue;
    const format = TAR_FORMATS[index++ % TAR_FORMATS.length]!;
    const args = [
      '-cf',
      '-',
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      `--format=${format}`,
      '-C',
      path.dirname(dir),
      path.basename(dir),
    ];
    let out: Buffer;
    try {
      out = runTool('tar', args);
    } catch {
      continue; // ustar cannot hold long names; unreadable files
    }
    writer.add('tar', `${path.basename(dir)}.tar`, out, `tar --format=${format} of ${dir}/`, true);
  }
}

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** SQL that builds one database from real text files, in one of a few real-world shapes. */
function databaseScript(sources: readonly { path: string; text: string }[], variant: number): string {
  const pageSizes = [4096, 1024, 8192, 65536, 512, 16384];
  const lines = sources.flatMap((source) =>
    source.text.split('\n').map((line, n) => ({ file: source.path, n, line })),
  );
  const out = [
    `PRAGMA page_size=${pageSizes[variant % pageSizes.length]};`,
    variant % 4 === 1 ? 'PRAGMA auto_vacuum=FULL;' : '',
    'BEGIN;',
  ];
  switch (variant % 3) {
    case 0:
      out.push(
        'CREATE TABLE lines(id INTEGER PRIMARY KEY, file TEXT NOT NULL, n INTEGER NOT NULL, line TEXT);',
      );
      for (const l of lines)
        out.push(
          `INSERT INTO lines(file, n, line) VALUES(${sqlString(l.file)}, ${l.n}, ${sqlString(l.line)});`,
        );
      out.push('CREATE INDEX lines_by_text ON lines(line);');
      break;
    case 1: {
      out.push('CREATE TABLE words(word TEXT PRIMARY KEY, uses INTEGER NOT NULL) WITHOUT ROWID;');
      const uses = new Map<string, number>();
      for (const word of lines.flatMap((l) => l.line.split(/\s+/)).filter(Boolean))
        uses.set(word, (uses.get(word) ?? 0) + 1);
      for (const [word, count] of uses) out.push(`INSERT INTO words VALUES(${sqlString(word)}, ${count});`);
      break;
    }
    default:
      out.push(
        'CREATE TABLE files(path TEXT PRIMARY KEY, bytes INTEGER, body TEXT);',
        'CREATE TABLE notes(id INTEGER PRIMARY KEY, path TEXT REFERENCES files(path), note TEXT);',
      );
      for (const source of sources)
        out.push(
          `INSERT INTO files VALUES(${sqlString(source.path)}, ${source.text.length}, ${sqlString(source.text)});`,
        );
      for (const l of lines.filter((_, i) => i % 7 === 0))
        out.push(`INSERT INTO notes(path, note) VALUES(${sqlString(l.file)}, ${sqlString(l.line)});`);
      out.push('DELETE FROM notes WHERE id % 3 = 0;');
  }
  out.push('COMMIT;');
  return out.join('\n');
}

/** Tops up sqlite with databases made by the sqlite3 CLI from real text files (1 to 6 per database). */
function deriveSqlite(
  writer: CorpusWriter,
  candidates: Map<CorpusType, MachineFile[]>,
  scratch: string,
): void {
  const texts = realFiles(
    candidates.get('text')!.filter((f) => f.size <= 512 * 1024),
    'text',
    'derive:sqlite',
  );
  const extensions = ['sqlite', 'db', 'sqlite3'];
  for (let index = 0; !writer.full('sqlite'); index++) {
    const sources: { path: string; text: string }[] = [];
    for (let n = 0; n <= index % 6; n++) {
      const next = texts.next();
      if (next.done) break;
      sources.push({ path: next.value.file.path, text: next.value.data.toString('utf8') });
    }
    if (sources.length === 0) return;
    const file = path.join(scratch, `db-${index}`);
    rmSync(file, { force: true });
    runTool('sqlite3', [file], { input: databaseScript(sources, index) });
    const name = `${path.basename(sources[0]!.path).replace(/\.[^.]*$/, '')}.${extensions[index % extensions.length]}`;
    writer.add(
      'sqlite',
      name,
      readFileSync(file),
      `sqlite3 database of ${sources.map((s) => s.path).join(', ')}`,
      true,
    );
  }
}

/** Pages of the real PDFs, split by pdfseparate (kept for rendering JPEGs too). */
interface PdfPage {
  source: string;
  page: number;
  file: string;
}

/** Tops up pdf with single pages (pdfseparate) and runs of pages (pdfunite) of the real PDFs. */
function derivePdf(writer: CorpusWriter, realPdfs: readonly string[], scratch: string): PdfPage[] {
  const pages: PdfPage[] = [];
  realPdfs.forEach((source, s) => {
    const dir = path.join(scratch, `pdf-${s}`);
    mkdirSync(dir, { recursive: true });
    runTool('pdfseparate', [source, path.join(dir, 'page-%d.pdf')]);
    const count = readdirSync(dir).length;
    for (let page = 1; page <= count; page++)
      pages.push({ source, page, file: path.join(dir, `page-${page}.pdf`) });
  });
  for (const page of pages)
    writer.add(
      'pdf',
      `${path.basename(page.source, '.pdf')}-p${page.page}.pdf`,
      readFileSync(page.file),
      `pdfseparate page ${page.page} of ${page.source}`,
      true,
    );
  // Runs of 2, 3, 4… consecutive pages of one document, from every start.
  for (let length = 2; length <= 8 && !writer.full('pdf'); length++) {
    for (let start = 0; start + length <= pages.length && !writer.full('pdf'); start++) {
      const run = pages.slice(start, start + length);
      if (run.some((page) => page.source !== run[0]!.source)) continue;
      const out = path.join(scratch, `unite-${length}-${start}.pdf`);
      runTool('pdfunite', [...run.map((page) => page.file), out]);
      const label = `${path.basename(run[0]!.source, '.pdf')}-p${run[0]!.page}-${run.at(-1)!.page}.pdf`;
      writer.add(
        'pdf',
        label,
        readFileSync(out),
        `pdfunite of pages ${run[0]!.page}–${run.at(-1)!.page} of ${run[0]!.source}`,
        true,
      );
    }
  }
  return pages;
}

const JPEGTRAN_VARIANTS = [
  ['-progressive'],
  ['-optimize'],
  ['-grayscale'],
  ['-rotate', '90'],
  ['-flip', 'horizontal', '-copy', 'none'],
  ['-progressive', '-optimize', '-copy', 'none'],
];

/** Tops up jpeg: the real JPEGs re-encoded losslessly by jpegtran, then the real PDFs' pages rendered by pdftoppm. */
function deriveJpeg(
  writer: CorpusWriter,
  realJpegs: readonly string[],
  pages: readonly PdfPage[],
  scratch: string,
): void {
  for (const variant of JPEGTRAN_VARIANTS) {
    for (const source of realJpegs) {
      if (writer.full('jpeg')) return;
      const out = runTool('jpegtran', [...variant, source]);
      writer.add(
        'jpeg',
        `${path.basename(source).replace(/\.[^.]*$/, '')}-${variant.join('').replace(/-/g, '')}.jpg`,
        out,
        `jpegtran ${variant.join(' ')} of ${source}`,
        true,
      );
    }
  }
  const settings = [
    { dpi: 50, quality: 85 },
    { dpi: 72, quality: 60 },
    { dpi: 36, quality: 95 },
  ];
  for (const { dpi, quality } of settings) {
    for (const page of pages) {
      if (writer.full('jpeg')) return;
      const prefix = path.join(scratch, `render-${dpi}-${quality}-${page.page}`);
      runTool('pdftoppm', [
        '-jpeg',
        '-jpegopt',
        `quality=${quality}`,
        '-r',
        String(dpi),
        '-singlefile',
        page.file,
        prefix,
      ]);
      const name = `${path.basename(page.source, '.pdf')}-p${page.page}-${dpi}dpi-q${quality}.jpg`;
      writer.add(
        'jpeg',
        name,
        readFileSync(`${prefix}.jpg`),
        `pdftoppm -jpeg -r ${dpi} quality=${quality} of page ${page.page} of ${page.source}`,
        true,
      );
    }
  }
}

/** Tops up java-class with the classes inside the real jars (unzip). */
function deriveJavaClasses(writer: CorpusWriter, candidates: Map<CorpusType, MachineFile[]>): void {
  const jars = candidates.get('zip')!.filter((file) => file.path.endsWith('.jar'));
  for (const jar of mixedOrder(jars, (f) => f.path, 'derive:class')) {
    if (writer.full('java-class')) return;
    let members: string[];
    try {
      members = runTool('unzip', ['-Z1', jar.path])
        .toString('utf8')
        .split('\n')
        .filter((name) => name.endsWith('.class'));
    } catch {
      continue;
    }
    for (const member of mixedOrder(members, (m) => m, 'derive:class-member').slice(0, 3)) {
      try {
        writer.add(
          'java-class',
          path.basename(member),
          runTool('unzip', ['-p', jar.path, member]),
          `unzip -p ${jar.path} ${member}`,
          true,
        );
      } catch {
        // an unreadable member: the next one
      }
    }
  }
}

/** Tops up lz4 with real text and ELF files compressed by the lz4 CLI. */
function deriveLz4(writer: CorpusWriter, candidates: Map<CorpusType, MachineFile[]>): void {
  const levels = [['-1'], ['-9'], ['-12'], ['--fast=3']];
  let index = 0;
  for (const { file, data } of rawMaterial(candidates, 'derive:lz4', MAX_FILE_BYTES)) {
    if (writer.full('lz4')) return;
    const args = levels[index++ % levels.length]!;
    writer.add(
      'lz4',
      `${path.basename(file.path)}.lz4`,
      runTool('lz4', [...args, '-c', '-q'], { input: data }),
      `lz4 ${args.join(' ')} of ${file.path}`,
      true,
    );
  }
}

/** Tops up pickle with real text files' lines pickled by CPython (protocols 4 and 5). */
function derivePickle(writer: CorpusWriter, candidates: Map<CorpusType, MachineFile[]>): void {
  const script =
    'import sys, pickle; lines = sys.stdin.buffer.read().decode("utf-8", "replace").splitlines(); sys.stdout.buffer.write(pickle.dumps({"lines": lines, "words": {w: len(w) for l in lines for w in l.split()}}, protocol=int(sys.argv[1])))';
  let index = 0;
  for (const { file, data } of realFiles(
    candidates.get('text')!.filter((f) => f.size <= 512 * 1024),
    'text',
    'derive:pickle',
  )) {
    if (writer.full('pickle')) return;
    const protocol = index++ % 2 === 0 ? '4' : '5';
    writer.add(
      'pickle',
      `${path.basename(file.path).replace(/\.[^.]*$/, '')}.pkl`,
      runTool('python3', ['-c', script, protocol], { input: data }),
      `python3 pickle.dumps(protocol=${protocol}) of ${file.path}`,
      true,
    );
  }
}

/** Tops up git-pack with packs of this repository's history (git pack-objects), a window of commits each. */
function deriveGitPacks(writer: CorpusWriter): void {
  let commits: string[];
  try {
    commits = runTool('git', ['-C', REPOSITORY, 'rev-list', '--max-count=400', 'HEAD'])
      .toString('utf8')
      .trim()
      .split('\n');
  } catch {
    return;
  }
  for (let start = 0; start + 2 < commits.length && !writer.full('git-pack'); start += 20) {
    const range = `${commits[start + 2]}..${commits[start]}`;
    const pack = runTool('git', ['-C', REPOSITORY, 'pack-objects', '--revs', '--stdout', '-q'], {
      input: `${range}\n`,
    });
    writer.add(
      'git-pack',
      `history-${start}.pack`,
      pack,
      `git pack-objects --revs ${range} of this repository`,
      true,
    );
  }
}

/** Tops up pg-sql with the demo estate's order database dumped in pg_dump's plain format, one per day. */
async function derivePgSql(writer: CorpusWriter): Promise<void> {
  for (let day = 0; !writer.full('pg-sql') && day < 30; day++) {
    const files = await demoSnapshotFiles(day, { start: new Date('2025-01-01T00:00:00Z') });
    const dump = files.find((file) => file.path.endsWith('.sql'));
    if (dump)
      writer.add(
        'pg-sql',
        `orders-day${day}.sql`,
        Buffer.from(dump.data),
        `vouch demo estate's pg_dump-format dump, day ${day}`,
        true,
      );
  }
}

/** Builds the corpus into `root` (emptied first). */
async function buildCorpus(root: string, log: Log): Promise<Corpus> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const scratch = mkdtempSync(path.join(tmpdir(), 'vouch-corpus-'));
  try {
    log('walking the machine for real files…');
    const candidates = machineCandidates();
    const writer = new CorpusWriter(root);
    for (const type of CORPUS_TYPES) addReal(writer, type, candidates.get(type)!);
    log(
      `real files: ${writer.files.length}; deriving the rest with xz, zstd, bzip2, tar, sqlite3, pdfseparate, pdfunite, jpegtran, pdftoppm…`,
    );
    for (const type of ['xz', 'zstd', 'bzip2'] as const) deriveCompressed(writer, type, candidates);
    deriveTar(writer, candidates);
    deriveSqlite(writer, candidates, scratch);
    const realPdfs = writer.files.filter((f) => f.type === 'pdf' && !f.derived).map((f) => f.origin);
    const pages = derivePdf(writer, realPdfs, scratch);
    const realJpegs = writer.files.filter((f) => f.type === 'jpeg' && !f.derived).map((f) => f.origin);
    deriveJpeg(writer, realJpegs, pages, scratch);
    deriveJavaClasses(writer, candidates);
    deriveLz4(writer, candidates);
    derivePickle(writer, candidates);
    deriveGitPacks(writer);
    await derivePgSql(writer);
    return { root, files: writer.files };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const manifestPath = (dir: string) => path.join(dir, `corpus-v${CORPUS_VERSION}.json`);

/** The complete corpus of this version in `dir`, or null when there is none. */
export function loadCorpus(dir: string): Corpus | null {
  const root = path.join(dir, 'corpus');
  if (!existsSync(manifestPath(dir))) return null;
  const files = JSON.parse(readFileSync(manifestPath(dir), 'utf8')) as CorpusFile[];
  return files.every((file) => existsSync(path.join(root, file.path))) ? { root, files } : null;
}

/** The corpus in `dir`: reused when a complete one of this version is there, built otherwise (or when `rebuild`). */
export async function loadOrBuildCorpus(
  dir: string,
  options: { rebuild?: boolean; log?: Log } = {},
): Promise<Corpus & { reused: boolean }> {
  const existing = options.rebuild ? null : loadCorpus(dir);
  if (existing) return { ...existing, reused: true };
  rmSync(manifestPath(dir), { force: true });
  const corpus = await buildCorpus(path.join(dir, 'corpus'), options.log ?? (() => {}));
  writeFileSync(manifestPath(dir), JSON.stringify(corpus.files, null, 1));
  return { ...corpus, reused: false };
}
