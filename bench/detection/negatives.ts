/**
 * Hard negatives: content that looks exactly like ransomware output to byte statistics but is
 * legitimate — files encrypted by gpg (symmetric), age and `openssl enc`, and files recompressed
 * with xz, zstd and brotli (brotli has no magic at all). Made from a sample of the corpus by the
 * real tools, named the way those tools name their output (`x.pdf.gpg`, `x.1.gz` → `x.1.xz`,
 * `app.js.br`), so each negative sits where the tool would have put it next to (or instead of)
 * its corpus original.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CORPUS_TYPES, type Corpus, type CorpusFile, type CorpusType } from './corpus.js';
import { mixedOrder, runTool } from './tools.js';

/** Every kind of negative. */
export const NEGATIVE_KINDS = ['gpg', 'age', 'openssl', 'xz', 'zstd', 'brotli'] as const;

/** One kind of negative. */
export type NegativeKind = (typeof NEGATIVE_KINDS)[number];

/** Which targets a kind counts toward. */
export const NEGATIVE_GROUP: Readonly<Record<NegativeKind, 'legit-encrypted' | 'recompressed'>> = {
  gpg: 'legit-encrypted',
  age: 'legit-encrypted',
  openssl: 'legit-encrypted',
  xz: 'recompressed',
  zstd: 'recompressed',
  brotli: 'recompressed',
};

export interface NegativeFile {
  kind: NegativeKind;
  /** Its path in the corpus's namespace (`pdf/0003-x.pdf.gpg`); stored under `<root>/<kind>/`. */
  path: string;
  /** The corpus file it was made from. */
  source: CorpusFile;
  /** The command that made it. */
  command: string;
  size: number;
}

/** Built negatives. */
export interface Negatives {
  root: string;
  files: NegativeFile[];
}

/** Corpus files sampled per corpus type for each kind. */
const PER_TYPE = 8;
/** Largest source fed to the tools (brotli -q 11 is slow). */
const MAX_SOURCE_BYTES = 2 * 2 ** 20;
const NEGATIVES_VERSION = 1;
const PASSPHRASE = 'correct horse battery staple';

/** The CLI that decompresses a compressed corpus type, and the extension it owns. */
const DECOMPRESSORS: Partial<Record<CorpusType, { command: string; ext: string }>> = {
  gzip: { command: 'gzip', ext: '.gz' },
  xz: { command: 'xz', ext: '.xz' },
  zstd: { command: 'zstd', ext: '.zst' },
  bzip2: { command: 'bzip2', ext: '.bz2' },
};

/** Where a kind's output of `source` goes, and the bytes to feed the tool. */
function recompressionInput(
  corpusRoot: string,
  source: CorpusFile,
  ext: string,
): { path: string; input: Buffer } {
  const data = readFileSync(path.join(corpusRoot, source.path));
  const decompressor = DECOMPRESSORS[source.type];
  if (decompressor && source.path.endsWith(decompressor.ext)) {
    // Recompression proper: the payload, under the name with the new compressor's extension.
    const payload = runTool(decompressor.command, ['-dc'], { input: data });
    return { path: source.path.slice(0, -decompressor.ext.length) + ext, input: payload };
  }
  return { path: source.path + ext, input: data };
}

/** Makes one negative of `source`; returns its path, bytes and the command. */
function makeNegative(
  kind: NegativeKind,
  source: CorpusFile,
  index: number,
  corpusRoot: string,
  keys: { gnupgHome: string; ageRecipient: string },
): { path: string; data: Buffer; command: string } {
  const input = path.join(corpusRoot, source.path);
  const armor = index % 4 === 3;
  switch (kind) {
    case 'gpg': {
      const args = [
        '--batch',
        '--yes',
        '--quiet',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        PASSPHRASE,
        '--s2k-count',
        '65536',
        '--symmetric',
        ...(index % 3 === 1 ? ['--cipher-algo', 'AES256'] : []),
        ...(index % 3 === 2 ? ['--compress-algo', 'none'] : []),
        ...(armor ? ['--armor'] : []),
        '--output',
        '-',
        input,
      ];
      return {
        path: source.path + (armor ? '.asc' : '.gpg'),
        data: runTool('gpg', args, { env: { ...process.env, GNUPGHOME: keys.gnupgHome } }),
        command: `gpg ${args.filter((a) => a !== PASSPHRASE).join(' ')}`,
      };
    }
    case 'age': {
      const args = ['-r', keys.ageRecipient, ...(armor ? ['-a'] : []), input];
      return {
        path: source.path + '.age',
        data: runTool('age', args),
        command: `age ${armor ? '-a ' : ''}-r <recipient>`,
      };
    }
    case 'openssl': {
      const cipher = ['aes-256-cbc', 'aes-256-ctr', 'chacha20', 'aes-128-cbc'][index % 4]!;
      const args = [
        'enc',
        `-${cipher}`,
        '-pbkdf2',
        '-salt',
        '-pass',
        `pass:${PASSPHRASE}`,
        ...(index % 5 === 4 ? ['-a'] : []),
        '-in',
        input,
      ];
      return {
        path: source.path + '.enc',
        data: runTool('openssl', args),
        command: `openssl enc -${cipher} -pbkdf2 -salt${index % 5 === 4 ? ' -a' : ''}`,
      };
    }
    case 'xz':
    case 'zstd':
    case 'brotli': {
      const ext = { xz: '.xz', zstd: '.zst', brotli: '.br' }[kind];
      const { path: target, input: bytes } = recompressionInput(corpusRoot, source, ext);
      const small = bytes.length <= 256 * 1024;
      const args = {
        xz: ['-6', '-c'],
        zstd: [small ? '-19' : '-9', '-c', '-q'],
        brotli: ['-c', '-q', small ? '11' : '9'],
      }[kind];
      return {
        path: target,
        data: runTool(kind, args, { input: bytes }),
        command: `${kind} ${args.join(' ')}`,
      };
    }
  }
}

/** The corpus files each kind is made from: PER_TYPE of every type, in a per-kind mixed order. */
function sample(corpus: Corpus, kind: NegativeKind): CorpusFile[] {
  return CORPUS_TYPES.flatMap((type) =>
    mixedOrder(
      corpus.files.filter((file) => file.type === type && file.size <= MAX_SOURCE_BYTES),
      (file) => file.path,
      `negative:${kind}`,
    ).slice(0, PER_TYPE),
  );
}

function buildNegatives(root: string, corpus: Corpus): Negatives {
  rmSync(root, { recursive: true, force: true });
  const gnupgHome = mkdtempSync(path.join(tmpdir(), 'vouch-gnupg-'));
  const files: NegativeFile[] = [];
  try {
    const identity = path.join(gnupgHome, 'age-identity.txt');
    runTool('age-keygen', ['-o', identity]);
    const ageRecipient = runTool('age-keygen', ['-y', identity]).toString('utf8').trim();
    for (const kind of NEGATIVE_KINDS) {
      sample(corpus, kind).forEach((source, index) => {
        const made = makeNegative(kind, source, index, corpus.root, { gnupgHome, ageRecipient });
        const target = path.join(root, kind, made.path);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, made.data);
        files.push({ kind, path: made.path, source, command: made.command, size: made.data.length });
      });
    }
  } finally {
    // gpg started an agent for this home: stop it through its own control tool, then remove the home.
    try {
      runTool('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gnupgHome } });
    } catch {
      // no agent was started
    }
    rmSync(gnupgHome, { recursive: true, force: true });
  }
  return { root, files };
}

/** Where a negative's bytes are. */
export function negativeFilePath(negatives: Negatives, file: NegativeFile): string {
  return path.join(negatives.root, file.kind, file.path);
}

/** The negatives in `dir`: reused when complete and made from this corpus, built otherwise. */
export function loadOrBuildNegatives(
  dir: string,
  corpus: Corpus & { reused: boolean },
  options: { rebuild?: boolean } = {},
): Negatives & { reused: boolean } {
  const root = path.join(dir, 'negatives');
  const manifest = path.join(dir, `negatives-v${NEGATIVES_VERSION}.json`);
  if (!options.rebuild && corpus.reused && existsSync(manifest)) {
    const files = JSON.parse(readFileSync(manifest, 'utf8')) as NegativeFile[];
    const negatives = { root, files };
    if (files.every((file) => existsSync(negativeFilePath(negatives, file))))
      return { ...negatives, reused: true };
  }
  rmSync(manifest, { force: true });
  const negatives = buildNegatives(root, corpus);
  writeFileSync(manifest, JSON.stringify(negatives.files, null, 1));
  return { ...negatives, reused: false };
}
