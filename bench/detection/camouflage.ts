/**
 * Camouflaged ransomware: corpus files replaced by a legitimate encryption container made by the
 * real tool — OpenPGP (gpg), age, `openssl enc` (Salted__), 7-Zip with encrypted headers, a zip
 * with a password (zip -P), a LUKS volume (a header made by cryptsetup, the file's ciphertext as
 * its payload) — or by base64 text of raw ciphertext (openssl enc | base64). Each is measured in
 * place (same name, as Qlocker and openssl scripts leave it) and renamed to `*.locked` (paired
 * with its predecessor by the scan's own rule). Built once into bench-data/detection/camouflage/.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCipheriv, createHash } from 'node:crypto';
import { CORPUS_TYPES, type Corpus, type CorpusFile } from './corpus.js';
import { mixedOrder, runTool } from './tools.js';

/** Every container camouflage is tried in. */
export const CAMOUFLAGE_CONTAINERS = [
  'openpgp',
  'age',
  'openssl-salted',
  '7z',
  'zip-encrypted',
  'luks',
  'base64',
] as const;
export type CamouflageContainer = (typeof CAMOUFLAGE_CONTAINERS)[number];

/** Where the container lands: the same name, or renamed with a ransomware extension. */
export const CAMOUFLAGE_PLACEMENTS = ['in-place', 'renamed'] as const;
export type CamouflagePlacement = (typeof CAMOUFLAGE_PLACEMENTS)[number];

/** The scenario name of one container × placement. */
export type CamouflageScenario = `camouflage:${CamouflageContainer}:${CamouflagePlacement}`;
export const camouflageScenario = (
  container: CamouflageContainer,
  placement: CamouflagePlacement,
): CamouflageScenario => `camouflage:${container}:${placement}`;

/** The extension camouflaged files are renamed with. */
export const CAMOUFLAGE_EXTENSION = '.locked';

/** Corpus files per type put in each container. */
const PER_TYPE = 8;
const MAX_SOURCE_BYTES = 2 * 2 ** 20;
const VERSION = 1;
const PASSPHRASE = 'pay-us-in-bitcoin';

/** One camouflaged file. */
export interface CamouflageFile {
  container: CamouflageContainer;
  source: CorpusFile;
  /** Stored under `<root>/<container>/<source.path>`. */
  size: number;
}

/** Built camouflage. */
export interface Camouflage {
  root: string;
  files: CamouflageFile[];
}

/** The real tools' keys and scratch space, set up once. */
export interface Encaser {
  encase(data: Buffer, container: CamouflageContainer, id: string): Buffer;
  close(): void;
}

/** Sets up gpg, age and a LUKS header in a scratch directory; `close` removes it. */
export function createEncaser(): Encaser {
  const scratch = mkdtempSync(path.join(tmpdir(), 'vouch-camouflage-'));
  const gnupgHome = path.join(scratch, 'gnupg');
  mkdirSync(gnupgHome, { mode: 0o700 });
  const identity = path.join(scratch, 'age-identity.txt');
  runTool('age-keygen', ['-o', identity]);
  const recipient = runTool('age-keygen', ['-y', identity]).toString('utf8').trim();
  // A LUKS1 volume whose payload starts right after its key slots: the header is cryptsetup's.
  const volume = path.join(scratch, 'volume.img');
  writeFileSync(volume, Buffer.alloc(4 * 2 ** 20));
  runTool(
    'cryptsetup',
    [
      'luksFormat',
      '--batch-mode',
      '--type',
      'luks1',
      '--pbkdf-force-iterations',
      '1000',
      '--align-payload',
      '2048',
      '--key-file',
      '-',
      volume,
    ],
    { input: PASSPHRASE },
  );
  const payloadSectors = readFileSync(volume).readUInt32BE(104);
  const luksHeader = readFileSync(volume).subarray(0, payloadSectors * 512);
  const env = { ...process.env, GNUPGHOME: gnupgHome };
  return {
    encase(data, container, id) {
      const input = path.join(scratch, 'input');
      writeFileSync(input, data);
      switch (container) {
        case 'openpgp':
          return runTool(
            'gpg',
            [
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
              '--output',
              '-',
              input,
            ],
            { env },
          );
        case 'age':
          return runTool('age', ['-r', recipient, input]);
        case 'openssl-salted':
          return runTool('openssl', [
            'enc',
            '-aes-256-cbc',
            '-pbkdf2',
            '-salt',
            '-pass',
            `pass:${PASSPHRASE}`,
            '-in',
            input,
          ]);
        case '7z': {
          const out = path.join(scratch, 'out.7z');
          rmSync(out, { force: true });
          runTool('7zz', ['a', '-bd', '-bso0', `-p${PASSPHRASE}`, '-mhe=on', out, input]);
          return readFileSync(out);
        }
        case 'zip-encrypted': {
          const out = path.join(scratch, 'out.zip');
          rmSync(out, { force: true });
          runTool('zip', ['-q', '-j', '-P', PASSPHRASE, out, input]);
          return readFileSync(out);
        }
        case 'luks': {
          // dm-crypt's payload: the file's bytes under AES (a keystream per volume stands in for XTS).
          const key = createHash('sha256').update(`luks:${id}`).digest();
          const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
          return Buffer.concat([luksHeader, cipher.update(data), cipher.final()]);
        }
        case 'base64': {
          const raw = runTool('openssl', [
            'enc',
            '-aes-256-ctr',
            '-nosalt',
            '-K',
            createHash('sha256').update(id).digest('hex'),
            '-iv',
            '00'.repeat(16),
            '-in',
            input,
          ]);
          return runTool('base64', ['-w', '76'], { input: raw });
        }
      }
    },
    close() {
      try {
        runTool('gpgconf', ['--kill', 'gpg-agent'], { env });
      } catch {
        // no agent was started
      }
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** The corpus files camouflaged: PER_TYPE of every type. */
function sample(corpus: Corpus): CorpusFile[] {
  return CORPUS_TYPES.flatMap((type) =>
    mixedOrder(
      corpus.files.filter((file) => file.type === type && file.size <= MAX_SOURCE_BYTES),
      (file) => file.path,
      'camouflage',
    ).slice(0, PER_TYPE),
  );
}

/** Where a camouflaged file's bytes are. */
export function camouflageFilePath(camouflage: Camouflage, file: CamouflageFile): string {
  return path.join(camouflage.root, file.container, file.source.path);
}

function build(root: string, corpus: Corpus): Camouflage {
  rmSync(root, { recursive: true, force: true });
  const encaser = createEncaser();
  const files: CamouflageFile[] = [];
  try {
    for (const source of sample(corpus)) {
      const data = readFileSync(path.join(corpus.root, source.path));
      for (const container of CAMOUFLAGE_CONTAINERS) {
        const out = encaser.encase(data, container, source.path);
        const file = { container, source, size: out.length };
        const target = camouflageFilePath({ root, files }, file);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, out);
        files.push(file);
      }
    }
  } finally {
    encaser.close();
  }
  return { root, files };
}

/** The camouflage in `dir`: reused when complete and made from this corpus, built otherwise. */
export function loadOrBuildCamouflage(
  dir: string,
  corpus: Corpus & { reused: boolean },
  options: { rebuild?: boolean } = {},
): Camouflage & { reused: boolean } {
  const root = path.join(dir, 'camouflage');
  const manifest = path.join(dir, `camouflage-v${VERSION}.json`);
  if (!options.rebuild && corpus.reused && existsSync(manifest)) {
    const files = JSON.parse(readFileSync(manifest, 'utf8')) as CamouflageFile[];
    const camouflage = { root, files };
    if (files.every((file) => existsSync(camouflageFilePath(camouflage, file))))
      return { ...camouflage, reused: true };
  }
  rmSync(manifest, { force: true });
  const camouflage = build(root, corpus);
  writeFileSync(manifest, JSON.stringify(camouflage.files, null, 1));
  return { ...camouflage, reused: false };
}
