/**
 * Content classification: is this entry's content ransomware-encrypted (or damaged the way
 * ransomware damages it), intact, or legitimately encrypted? A pure function of what the probe
 * measured, the entry's name, and what the same file was in the previous snapshot.
 *
 * Signals, strongest first:
 * 1. Structure: a format with checksums or a strict grammar that no longer decodes. Compressed
 *    formats (gzip, xz, zip, PNG…) look random when intact, so this is the only signal that
 *    works on them without history.
 * 2. Type: the magic the name or the previous snapshot promises is gone, and the bytes where it
 *    should be look random (encrypted headers: LockBit's first 4 KiB, whole-file encryption).
 * 3. Statistics: uniform bytes in the slots of an intermittent pattern while the others keep
 *    their bias; a random first block before structured content; a whole entry that is uniform.
 *    Never on their own below MIN_STATISTICS_BYTES.
 * 4. Allow-list: encryption containers (OpenPGP, age, `openssl enc`, 7-Zip, LUKS, zip with
 *    encrypted members, base64/hex-armoured ciphertext) are legitimate only where they are not a
 *    change: new content with no predecessor, content the previous snapshot already held
 *    encrypted, or a path the policy allows. A path whose previous version was plain and whose
 *    content is now one of them *became encrypted*: strong evidence, whatever the container.
 * 5. History: the same path was valid and is now invalid; its chi-square collapsed to ≈255; its
 *    type changed; it grew by a footer.
 *
 * A judgement is `strong` when a structural or historical fact backs it (it counts toward a
 * compromised verdict) and `weak` when only statistics do (it makes a snapshot suspicious).
 */
import { looksRandom, MIN_CHI2_BYTES, RANDOM_CHI2_LIMIT, type ByteStats } from './byte-statistics.js';
import {
  ENCRYPTED_TYPES,
  extensionOf,
  typeClaimedBy,
  VALIDATED_TYPES,
  type ContentType,
} from './content-type.js';
import type { ContentFeatures } from './content-probe.js';
import { MAGIC_CATALOG, type CatalogType } from './magic-catalog.js';
import { ARCHIVE_ENCRYPTED, type Strength, type Judgement, type ContentSummary } from '../model/content.js';

/** Statistics alone never decide on fewer bytes than this. */
export const MIN_STATISTICS_BYTES = 64 * 1024;
/** Chi-square at or above this over a large sample is unmistakably structured content. */
const STRUCTURED_CHI2 = 10_000;
/** Chi-square under this over a few hundred bytes: compressed or encrypted, not headers or text. */
const NEAR_RANDOM_CHI2 = 4 * RANDOM_CHI2_LIMIT;
/** A file that grew by at most this much while turning random "grew by a footer". */
const MAX_FOOTER_BYTES = 64 * 1024;

/** One entry's classification. */
export interface Classification {
  /** Ransomware-like encryption (or damage that looks like it). */
  encrypted: boolean;
  strength: Strength;
  /** 0…1: how sure. */
  score: number;
  /** The type the bytes are (see ContentFeatures.type). */
  type: ContentType;
  judgement: Judgement;
  /** Machine-readable reasons, strongest first (`structure-invalid`, `magic-mismatch`, `periodic-16-on-16-off`, …). */
  reasons: string[];
  /** One sentence for a human. */
  detail: string;
  /** For `damaged`: bytes that cannot be read as the format (0 when unknown, as for a file cut short). */
  unreadableBytes?: number;
  /** What to store for the next snapshot. */
  summary: ContentSummary;
}

/** The same file in the previous snapshot (by path, or the path it was renamed from). */
export interface PreviousContent {
  path: string;
  size: number;
  digest?: string;
  content?: ContentSummary;
}

/** What classify() needs. */
export interface ClassifyInput {
  path: string;
  features: ContentFeatures;
  /** Current digest, to recognise an unchanged file. */
  digest?: string;
  previous?: PreviousContent | null;
  /** The policy allows this path to hold encrypted content. */
  allowed?: boolean;
}

/** Types whose files start with a magic: when it is gone and random bytes stand there, the header was encrypted. */
const WITH_MAGIC: ReadonlySet<string> = new Set<ContentType>([
  ...VALIDATED_TYPES.filter((type) => type !== 'text' && type !== 'tar'),
  ...(Object.keys(MAGIC_CATALOG) as CatalogType[]),
]);
const LEGIT: ReadonlySet<string> = new Set<ContentType>(ENCRYPTED_TYPES);
/**
 * Formats recognised by magic whose body is never uniformly random: bitmaps, PCM audio, message
 * catalogues, bytecode, PostScript. (GIF, WOFF2, LZ4 and git packs compress their bodies; icons
 * may hold PNGs.)
 */
const STRUCTURED_BODY: ReadonlySet<ContentType> = new Set<ContentType>([
  'bmp',
  'wav',
  'tiff',
  'gettext-mo',
  'pyc',
  'java-class',
  'postscript',
  'wasm',
  'pe',
  'rtf',
  'pcap',
  'cpio',
  'sqlite-wal',
]);
/** Formats whose intact bytes look random (compressed throughout, or in large part: pg_dump -Fc). */
const COMPRESSED: ReadonlySet<ContentType> = new Set<ContentType>([
  'gzip',
  'xz',
  'zstd',
  'bzip2',
  'brotli',
  'pg-dump',
]);
/** Types with a legitimate fully encrypted variant that keeps the name (SQLCipher). */
const OPAQUE_VARIANTS: ReadonlySet<string> = new Set<ContentType>(['sqlite']);

/**
 * The type an entry's name claims: its extension, or for a renamed file (`invoice.pdf.locked`)
 * the extension before an unknown one.
 */
export function claimedType(path: string): ContentType | null {
  const own = typeClaimedBy(path);
  if (own) return own;
  const outer = extensionOf(path);
  if (!outer) return null;
  return typeClaimedBy(path.slice(0, -(outer.length + 1)));
}

function summary(features: ContentFeatures, judgement: Judgement, strength: Strength): ContentSummary {
  const container = containerOf(features);
  return {
    type: features.type,
    structure: features.structure?.status ?? 'none',
    chi2: Math.round(features.stats.chi2),
    sampled: features.stats.sampledBytes,
    judgement,
    strength,
    ...(container ? { container } : {}),
    ...(features.ransomMarkers.length ? { markers: features.ransomMarkers } : {}),
  };
}

/**
 * The encryption container an entry's content is in, or null: a legitimately encrypted format
 * (`openpgp`, `age`, `openssl-salted`, `7z`, `luks`), a zip whose members are encrypted
 * (`zip-encrypted`), or ciphertext armoured as text (`base64`, `hex`, or `base64:openssl-salted`
 * for `openssl enc -a`). Pure.
 */
export function containerOf(features: ContentFeatures): string | null {
  if (LEGIT.has(features.type)) return features.type;
  if (features.type === 'zip' && (features.structure?.encryptedMembers ?? 0) > 0) return 'zip-encrypted';
  if (features.armour)
    return features.armour.inner === 'random'
      ? features.armour.encoding
      : `${features.armour.encoding}:${features.armour.inner}`;
  return null;
}

/** What a container is, for a person. */
function describeContainer(container: string): string {
  const [outer, inner] = container.split(':');
  const names: Record<string, string> = {
    openpgp: 'an OpenPGP (gpg) message',
    age: 'an age-encrypted file',
    'openssl-salted': 'an `openssl enc` (Salted__) file',
    '7z': 'a 7-Zip archive',
    luks: 'a LUKS volume',
    'zip-encrypted': 'a zip with password-protected members',
    base64: 'base64 text of ciphertext',
    hex: 'hex text of ciphertext',
  };
  return inner ? `${outer} text of ${names[inner] ?? inner}` : (names[outer!] ?? outer!);
}

/** Extensions applications give the files they encrypt themselves (`openssl enc -out x.tar.enc`). */
const APPLICATION_ENCRYPTED_EXTENSIONS: ReadonlySet<string> = new Set(['enc']);

interface Verdict {
  judgement: Judgement;
  strength: Strength;
  score: number;
  reasons: string[];
  detail: string;
  unreadableBytes?: number;
}

/** Damaged, not encrypted; `unreadableBytes` says how much of it is lost (the finding's severity). */
const damaged = (reasons: string[], detail: string, unreadableBytes: number): Verdict => ({
  judgement: 'damaged',
  strength: 'weak',
  score: 0.5,
  reasons,
  detail,
  unreadableBytes,
});
const intact = (reasons: string[] = [], detail = 'intact'): Verdict => ({
  judgement: 'intact',
  strength: 'none',
  score: 0,
  reasons,
  detail,
});
const legit = (reason: string, detail: string): Verdict => ({
  judgement: 'legit-encrypted',
  strength: 'none',
  score: 0,
  reasons: [reason],
  detail,
});
const encrypted = (
  strength: 'strong' | 'weak',
  score: number,
  reasons: string[],
  detail: string,
): Verdict => ({ judgement: 'encrypted', strength, score, reasons, detail });

/**
 * The periodic pattern whose "on" slots are uniform while the rest keep a strong bias, if any.
 * `minOnBytes`: 8 KiB on statistics alone; less when a structural fact (a lost magic) backs it.
 */
function periodicPattern(stats: ByteStats, minOnBytes = 8192): string | null {
  for (const pattern of stats.periodic) {
    if (pattern.onBytes < minOnBytes) continue;
    // The "off" bytes must be far from uniform: ten times the random limit at any sample size.
    if (looksRandom(pattern.onChi2, pattern.onBytes) && pattern.offChi2 > 10 * RANDOM_CHI2_LIMIT) {
      return `periodic-${pattern.on}-on-${pattern.period - pattern.on}-off`;
    }
  }
  return null;
}

/** Random first window, structured rest: the header was encrypted (LockBit's first 4 KiB). */
function randomFirstBlock(stats: ByteStats): boolean {
  return (
    looksRandom(stats.head.chi2, stats.head.bytes) &&
    stats.structuredMedianChi2 !== null &&
    stats.structuredMedianChi2 > 4 * RANDOM_CHI2_LIMIT &&
    stats.randomWindows <= Math.max(1, stats.windows / 4)
  );
}

const uniform = (stats: ByteStats) => looksRandom(stats.chi2, stats.sampledBytes);

/**
 * Ciphertext-like bytes anywhere in the entry: a random stretch, a random start, uniform bytes
 * throughout, or one slot of every period. Every ransomware mode leaves at least one; damage
 * to a structured (uncompressed) format leaves none.
 */
function ciphertextEvidence(stats: ByteStats): string[] {
  return [
    stats.randomRuns.length > 0 ? 'random-run' : null,
    looksRandom(stats.head.chi2, stats.head.bytes) ? 'random-block-0' : null,
    stats.prefixes.some((prefix) => looksRandom(prefix.chi2, prefix.bytes)) ? 'random-prefix' : null,
    uniform(stats) && stats.sampledBytes >= MIN_CHI2_BYTES ? 'random-content' : null,
    periodicPattern(stats, 512),
  ].filter((reason): reason is string => reason !== null);
}

function describeStructure(features: ContentFeatures): string {
  const s = features.structure!;
  return `${features.type} structure broken${s.offset !== undefined ? ` at byte ${s.offset}` : ''}${s.detail ? `: ${s.detail}` : ''}`;
}

/** True when the previous version was plain content: neither encrypted nor random-looking. */
function wasPlain(before: ContentSummary): boolean {
  if (
    before.judgement === 'encrypted' ||
    before.judgement === 'legit-encrypted' ||
    before.container ||
    LEGIT.has(before.type)
  )
    return false;
  if (before.type === 'empty') return false;
  return !(before.type === 'unknown' && looksRandom(before.chi2, before.sampled));
}

/**
 * Content in an encryption container. It became encrypted when the previous version (at this
 * path, or the path it was renamed from) was plain: what Qlocker (7-Zip), VaultCrypt (GnuPG) and
 * `openssl enc` scripts leave. New content in a container is legitimate; so is content that was
 * encrypted before. Without history, the name decides: binary ciphertext under a plain-text name
 * (`orders.csv` holding `Salted__…`, a gpg message in `notes.txt`), or an encryption tool's
 * output (gpg, age, `openssl enc`) under a document's or image's name (`invoice.pdf`), is
 * camouflage — strong; another container where the name promises another format (a 7-Zip
 * `invoice.pdf`), or ciphertext written as text under a text name, is suspicious, not proof.
 * Names that say encrypted (`.gpg`, `.enc`, `x.csv.aes`) or claim nothing keep containers legitimate.
 */
function judgeContainer(
  path: string,
  container: string,
  previous: PreviousContent | null,
  textual: boolean,
): Verdict {
  const before = previous?.content;
  const what = describeContainer(container);
  if (before && wasPlain(before)) {
    const moved = previous.path !== path ? ` (renamed from ${previous.path})` : '';
    return encrypted(
      'strong',
      0.95,
      ['became-encrypted', `container:${container}`],
      `became encrypted: was ${before.type} in the previous snapshot${moved}, now ${what}`,
    );
  }
  if (before?.judgement === 'encrypted')
    return encrypted(
      before.strength === 'strong' ? 'strong' : 'weak',
      0.8,
      ['encrypted-before', `container:${container}`],
      `${what}; the previous snapshot already judged this path encrypted`,
    );
  if (before)
    return legit('encrypted-before', `${what}; the previous snapshot already held this path encrypted`);
  const claim = ENCRYPTION_EXTENSIONS.has(extensionOf(path)) ? null : claimedType(path);
  const outer = container.split(':')[0]!;
  if (claim && claim !== 'text' && WITH_MAGIC.has(claim) && !CONTAINER_CLAIMS[outer]?.includes(claim)) {
    // An encryption tool's own output never carries a document's or an image's name.
    if (TOOL_CONTAINERS.has(outer) && !textual) {
      return encrypted(
        'strong',
        0.9,
        ['camouflaged-container', `container:${container}`],
        `named as ${claim} (.${extensionOf(path)}) but holds ${what}: no encryption tool names its output so`,
      );
    }
    return encrypted(
      'weak',
      0.6,
      ['container-under-foreign-name', `container:${container}`],
      `expected ${claim} (by extension), found ${what}`,
    );
  }
  if (claim === 'text') {
    // Binary ciphertext under a plain-text name (`orders.csv` holding `Salted__…`) is camouflage;
    // a tool's container written as text there (`openssl enc -a`: base64 of `Salted__…`) is out
    // of place. Armour that says what it is (`-----BEGIN PGP MESSAGE-----`) and base64 of bytes
    // no tool marks (keys, tokens, test data: /usr holds such .txt files) stay legitimate.
    if (!textual)
      return encrypted(
        'strong',
        0.9,
        ['camouflaged-container', `container:${container}`],
        `named as plain text (.${extensionOf(path) || 'txt'}) but holds ${what}`,
      );
    const inner = container.split(':')[1];
    if (inner && TOOL_CONTAINERS.has(inner))
      return encrypted(
        'weak',
        0.6,
        ['container-under-foreign-name', `container:${container}`],
        `named as plain text (.${extensionOf(path)}) but holds ${what}`,
      );
  }
  return legit(`allow-listed:${container}`, `${what}, new at this path`);
}

/**
 * Extensions that say a file is encrypted (`.enc` of `openssl enc -out`, `.aes`, `.crypt`…): the
 * extension before them (`orders.csv.enc`) is what was encrypted, not a claim about the content.
 * (`.gpg`, `.asc`, `.age`, `.7z`, `.kdbx` claim their encrypted types themselves.)
 */
const ENCRYPTION_EXTENSIONS: ReadonlySet<string> = new Set([
  ...APPLICATION_ENCRYPTED_EXTENSIONS,
  'aes',
  'crypt',
  'encrypted',
  'cpt',
  'axx',
  'nc',
  'bfe',
  'p7m',
  'kdb',
]);
/** Containers only encryption tools write (gpg, age, `openssl enc`): never a format's legitimate variant. */
const TOOL_CONTAINERS: ReadonlySet<string> = new Set(['openpgp', 'age', 'openssl-salted']);

/** Types a name may claim for content in each container without it being out of place. */
const CONTAINER_CLAIMS: Readonly<Record<string, readonly ContentType[]>> = {
  'zip-encrypted': ['zip'],
  '7z': ['7z'],
};

/** Classifies one entry. Pure. */
export function classify(input: ClassifyInput): Classification {
  const { features } = input;
  const verdict = decide(input);
  return {
    encrypted: verdict.judgement === 'encrypted',
    strength: verdict.strength,
    score: verdict.score,
    type: features.type,
    judgement: verdict.judgement,
    reasons: verdict.reasons,
    detail: verdict.detail,
    ...(verdict.unreadableBytes !== undefined ? { unreadableBytes: verdict.unreadableBytes } : {}),
    summary: summary(features, verdict.judgement, verdict.strength),
  };
}

function decide({ path, features, digest, previous, allowed }: ClassifyInput): Verdict {
  const { stats, structure, type } = features;
  const before = previous?.content;
  if (type === 'empty') return intact();
  if (allowed) return legit('allowed-by-policy', 'the policy allows encrypted content at this path');

  // An unchanged file keeps its judgement: same bytes, same facts.
  if (
    before &&
    previous?.digest !== undefined &&
    previous.digest === digest &&
    before.judgement !== 'intact'
  ) {
    const reasons = [
      'unchanged-since-previous',
      ...(before.judgement === 'encrypted' ? ['encrypted-before'] : []),
    ];
    if (before.judgement === 'legit-encrypted')
      return legit(
        'encrypted-before',
        'unchanged since the previous snapshot, which held it legitimately encrypted',
      );
    if (before.judgement === 'encrypted')
      return encrypted(
        before.strength === 'strong' ? 'strong' : 'weak',
        before.strength === 'strong' ? 0.9 : 0.6,
        reasons,
        'unchanged since the previous snapshot, where it was already judged encrypted',
      );
  }

  const container = containerOf(features);
  if (container)
    return judgeContainer(
      path,
      container,
      previous ?? null,
      features.armoured === true || features.armour !== undefined,
    );
  // Named encrypted by its application (`fixture.tar.enc`) and new at its path: encrypted on
  // purpose. Ransomware's `.enc` rename of a plain file is paired with that file, and judged so.
  if (
    !before &&
    APPLICATION_ENCRYPTED_EXTENSIONS.has(extensionOf(path)) &&
    (type === 'unknown' || uniform(stats))
  ) {
    return legit(
      `named-encrypted:.${extensionOf(path)}`,
      `new content named as encrypted by its application (.${extensionOf(path)})`,
    );
  }

  const history: string[] = [];
  const claimedByHistory =
    before && before.type !== 'unknown' && before.type !== 'empty' && !LEGIT.has(before.type)
      ? before.type
      : null;
  const claim = claimedByHistory ?? claimedType(path);
  const wasStructured =
    before !== undefined &&
    (before.structure === 'valid' ||
      (before.sampled >= MIN_STATISTICS_BYTES && before.chi2 >= STRUCTURED_CHI2));
  if (before?.structure === 'valid' && structure?.status === 'invalid') history.push('was-valid');
  if (
    before &&
    before.sampled >= MIN_STATISTICS_BYTES &&
    before.chi2 >= STRUCTURED_CHI2 &&
    uniform(stats) &&
    stats.sampledBytes >= MIN_STATISTICS_BYTES
  )
    history.push('chi2-collapsed');
  if (
    previous &&
    features.bytes > previous.size &&
    features.bytes - previous.size <= MAX_FOOTER_BYTES &&
    uniform(stats)
  )
    history.push('grew-by-footer');
  if (claimedByHistory && type !== claimedByHistory) history.push(`type-changed:${claimedByHistory}→${type}`);

  // An entry the previous snapshot held legitimately encrypted may stay encrypted.
  if (before?.judgement === 'legit-encrypted' && (type === before.type || uniform(stats))) {
    return legit('encrypted-before', 'the previous snapshot already held this path encrypted');
  }

  // 1. Structure. Broken structure is encryption only where ciphertext-like bytes are; without
  // them it is damage (`corrupted`): a file cut short, a flipped bit, a bad sector.
  if (structure?.status === 'invalid') {
    const truncatedAtEnd = structure.offset !== undefined && structure.offset >= features.bytes - 1;
    const randomDamage = stats.randomRuns.length > 0 || periodicPattern(stats) !== null;
    // Cut short: compressed formats look random throughout, so only a periodic pattern (never
    // left by a short read) says otherwise for them.
    if (truncatedAtEnd && periodicPattern(stats) === null && (!randomDamage || COMPRESSED.has(type))) {
      return damaged(
        ['structure-invalid', 'truncated'],
        `${describeStructure(features)} (the file ends early)`,
        0,
      );
    }
    if (structure.localized && periodicPattern(stats, 512) === null) {
      return damaged(
        ['structure-invalid', 'checksum-mismatch', ...history],
        `${describeStructure(features)} — damage, not encryption: the framing holds`,
        structure.localized.damagedBytes,
      );
    }
    if (ciphertextEvidence(stats).length === 0) {
      return damaged(
        ['structure-invalid', 'no-ciphertext', ...history],
        `${describeStructure(features)} — damage, not encryption: no ciphertext-like bytes`,
        features.bytes - (structure.offset ?? 0),
      );
    }
    const supporting = [periodicPattern(stats), randomFirstBlock(stats) ? 'random-block-0' : null].filter(
      (r): r is string => r !== null,
    );
    return encrypted(
      'strong',
      history.includes('was-valid') ? 0.97 : 0.9,
      ['structure-invalid', ...history, ...supporting],
      describeStructure(features),
    );
  }

  // 2. Type: the promised magic is gone and random bytes stand where it should be — all of them
  // (whole-file, first 4 KiB), the first few hundred (a chunk at the start), or one slot in
  // every period (intermittent encryption starts at byte 0 too).
  if (type === 'unknown' && claim && (WITH_MAGIC.has(claim) || claim === 'text' || claim === 'tar')) {
    const evidence = [
      looksRandom(stats.head.chi2, stats.head.bytes) ? 'random-block-0' : null,
      stats.prefixes.some((prefix) => looksRandom(prefix.chi2, prefix.bytes)) ? 'random-prefix' : null,
      uniform(stats) && stats.sampledBytes >= 256 ? 'random-content' : null,
      periodicPattern(stats, 512),
    ].filter((reason): reason is string => reason !== null);
    if (evidence.length > 0) {
      const source = claimedByHistory ? 'history' : 'extension';
      const detail = `expected ${claim} (by ${source}), found ${evidence[0] === 'random-block-0' || evidence[0] === 'random-content' ? 'random bytes from the first byte' : evidence[0]!.startsWith('periodic') ? `an encrypted ${evidence[0]!.replace(/^periodic-/, '').replaceAll('-', ' ')} pattern` : 'random bytes at the start'}`;
      // SQLCipher databases are SQLite files encrypted by design, with no header left: a name
      // alone cannot tell them from a hit one.
      if (!claimedByHistory && OPAQUE_VARIANTS.has(claim))
        return encrypted('weak', 0.6, ['magic-mismatch', ...evidence, ...history], detail);
      return encrypted('strong', 0.95, ['magic-mismatch', ...evidence, ...history], detail);
    }
    // Compressed formats look nearly random when intact, so intermittent encryption leaves no
    // statistical mark on them: a lost magic over near-random bytes is the evidence.
    const prefixBelow = (limit: number) =>
      stats.prefixes.some((prefix) => prefix.bytes >= 256 && prefix.chi2 < limit);
    const nearRandom = prefixBelow(NEAR_RANDOM_CHI2);
    // With history the type is known for a fact; half-encrypted headers of a compressed format
    // stay well below what headers or text give.
    if (claimedByHistory && prefixBelow(2 * NEAR_RANDOM_CHI2)) {
      return encrypted(
        'strong',
        0.9,
        ['magic-mismatch', 'near-random-prefix', ...history],
        `was ${claimedByHistory} in the previous snapshot; its header is gone and near-random bytes stand there`,
      );
    }
    if (nearRandom && !claimedByHistory && claim !== 'text') {
      return encrypted(
        'weak',
        0.6,
        ['magic-mismatch', 'near-random-prefix'],
        `expected ${claim} (by extension), found no header and near-random bytes`,
      );
    }
    if (claimedByHistory) {
      return damaged(
        ['magic-mismatch', ...history],
        `was ${claimedByHistory} in the previous snapshot, no longer recognisable as one`,
        features.bytes,
      );
    }
  }

  // 3. Statistics, backed by history where there is some.
  const enough = features.bytes >= MIN_STATISTICS_BYTES;
  // A format whose body is never random, recognised by its intact magic: uniform slots of a
  // periodic pattern, or a uniform body, are encryption at any size.
  const structuredBody = STRUCTURED_BODY.has(type);
  const periodic = periodicPattern(stats, structuredBody ? 512 : 8192);
  if (periodic) {
    if (enough || wasStructured || structuredBody)
      return encrypted(
        'strong',
        0.9,
        [periodic, ...history],
        `bytes in a ${periodic.replace(/^periodic-/, '').replaceAll('-', ' ')} pattern are uniformly random, the rest are not`,
      );
  }
  if (type === 'unknown' && randomFirstBlock(stats) && (enough || wasStructured)) {
    return encrypted(
      'strong',
      0.9,
      ['random-block-0', ...history],
      'the first block is uniformly random while the rest is structured, and no known header is left',
    );
  }
  if (
    (type === 'unknown' || type === 'text') &&
    uniform(stats) &&
    stats.sampledBytes >= MIN_STATISTICS_BYTES
  ) {
    if (history.includes('chi2-collapsed') || claimedByHistory) {
      return encrypted(
        'strong',
        0.95,
        ['random-content', ...history],
        `uniformly random content (chi-square ${Math.round(stats.chi2)} over ${stats.sampledBytes} bytes) where the previous snapshot held structured data`,
      );
    }
    if (
      before &&
      before.chi2 < STRUCTURED_CHI2 &&
      before.sampled >= MIN_STATISTICS_BYTES &&
      before.judgement !== 'encrypted'
    ) {
      // Random before too, and not judged encrypted then: an opaque format this file always had.
      return intact(['random-before'], 'uniformly random, as in the previous snapshot');
    }
    return encrypted(
      'weak',
      0.6,
      ['random-content', ...history],
      `uniformly random content (chi-square ${Math.round(stats.chi2)} over ${stats.sampledBytes} bytes) with no known format and no history`,
    );
  }
  if (structuredBody && uniform(stats) && stats.sampledBytes >= MIN_CHI2_BYTES * 4) {
    return encrypted(
      'strong',
      0.9,
      ['random-content', ...history],
      `${type} header intact but its body is uniformly random (chi-square ${Math.round(stats.chi2)} over ${stats.sampledBytes} bytes), which a ${type} body never is`,
    );
  }
  // A format vouch recognises but cannot validate (fonts, GIF, .deb…): uniform bytes where the
  // previous snapshot held structured data mean everything after the magic was encrypted.
  if (type !== 'unknown' && type !== 'text' && structure === null && history.includes('chi2-collapsed')) {
    return encrypted(
      'strong',
      0.9,
      ['random-content', ...history],
      `${type} header intact but the content became uniformly random (chi-square ${Math.round(stats.chi2)} over ${stats.sampledBytes} bytes; the previous snapshot's was ${before!.chi2})`,
    );
  }
  // A file that became another valid, recognised format (compressed in place, re-encoded) is a
  // change, not damage.
  return intact(
    structure?.status === 'valid'
      ? ['structure-valid', ...history.filter((reason) => reason.startsWith('type-changed'))]
      : [],
  );
}

/**
 * Classifies a member its archive stores encrypted (a password-protected zip member), whose bytes
 * vouch cannot read: only its history can judge it. Encryption is a change like any other
 * container's (judgeContainer): a path whose previous version was plain and that the archive now
 * stores password-protected *became encrypted* — strong, what ransomware re-packing a backup with
 * `zip -P` leaves; a path encrypted before stays as it was judged; a new path is legitimate (the
 * snapshot-level rule in SnapshotDetection weighs an archive whose every member is so). Pure.
 */
export function classifyArchiveEncrypted(
  path: string,
  previous: PreviousContent | null,
  allowed = false,
): Classification {
  const before = previous?.content;
  const what = 'password-protected by its archive (stored encrypted, unreadable without the password)';
  let verdict: Verdict;
  if (allowed) verdict = legit('allowed-by-policy', 'the policy allows encrypted content at this path');
  else if (before && wasPlain(before)) {
    const moved = previous.path !== path ? ` (renamed from ${previous.path})` : '';
    verdict = encrypted(
      'strong',
      0.95,
      ['became-encrypted', `container:${ARCHIVE_ENCRYPTED}`],
      `became encrypted: was ${before.type} in the previous snapshot${moved}, now ${what}`,
    );
  } else if (before?.judgement === 'encrypted') {
    verdict = encrypted(
      before.strength === 'strong' ? 'strong' : 'weak',
      0.8,
      ['encrypted-before', `container:${ARCHIVE_ENCRYPTED}`],
      `${what}; the previous snapshot already judged this path encrypted`,
    );
  } else if (before)
    verdict = legit('encrypted-before', `${what}; the previous snapshot already held this path encrypted`);
  else verdict = legit(`allow-listed:${ARCHIVE_ENCRYPTED}`, `${what}, new at this path`);
  const summary: ContentSummary = {
    type: 'unknown',
    structure: 'none',
    chi2: 0,
    sampled: 0,
    judgement: verdict.judgement,
    strength: verdict.strength,
    container: ARCHIVE_ENCRYPTED,
  };
  return {
    encrypted: verdict.judgement === 'encrypted',
    strength: verdict.strength,
    score: verdict.score,
    type: 'unknown',
    judgement: verdict.judgement,
    reasons: verdict.reasons,
    detail: verdict.detail,
    summary,
  };
}
