/**
 * Content classification: is this entry's content ransomware-encrypted (or damaged the way
 * ransomware damages it), intact, or legitimately encrypted? A pure function of what the probe
 * measured, the entry's name, and what the same file was in the previous snapshot.
 *
 * Signals, strongest first (DESIGN.md, *Detection*):
 * 1. Structure: a format with checksums or a strict grammar that no longer decodes. Compressed
 *    formats (gzip, xz, zip, PNG…) look random when intact, so this is the only signal that
 *    works on them without history.
 * 2. Type: the magic the name or the previous snapshot promises is gone, and the bytes where it
 *    should be look random (encrypted headers: LockBit's first 4 KiB, whole-file encryption).
 * 3. Statistics: uniform bytes in the slots of an intermittent pattern while the others keep
 *    their bias; a random first block before structured content; a whole entry that is uniform.
 *    Never on their own below MIN_STATISTICS_BYTES.
 * 4. Allow-list: formats that are encrypted by design, paths the policy allows, and entries the
 *    previous snapshot already held legitimately encrypted.
 * 5. History: the same path was valid and is now invalid; its chi-square collapsed to ≈255; its
 *    type changed; it grew by a footer.
 *
 * A judgement is `strong` when a structural or historical fact backs it (it counts toward a
 * compromised verdict) and `weak` when only statistics do (it makes a snapshot suspicious).
 */
import { looksRandom, RANDOM_CHI2_LIMIT, type ByteStats } from './byte-statistics.js';
import { ENCRYPTED_TYPES, extensionOf, typeClaimedBy, VALIDATED_TYPES, type ContentType } from './content-type.js';
import type { ContentFeatures } from './content-probe.js';
import { MAGIC_CATALOG, type CatalogType } from './magic-catalog.js';

/** Statistics alone never decide on fewer bytes than this. */
export const MIN_STATISTICS_BYTES = 64 * 1024;
/** Chi-square at or above this over a large sample is unmistakably structured content. */
const STRUCTURED_CHI2 = 10_000;
/** Chi-square under this over a few hundred bytes: compressed or encrypted, not headers or text. */
const NEAR_RANDOM_CHI2 = 4 * RANDOM_CHI2_LIMIT;
/** A file that grew by at most this much while turning random "grew by a footer". */
const MAX_FOOTER_BYTES = 64 * 1024;

/** How sure a judgement is. */
export type Strength = 'strong' | 'weak' | 'none';

/** What an entry's content is, as judged. Stored in manifests so the next snapshot has history. */
export type Judgement = 'intact' | 'encrypted' | 'legit-encrypted' | 'damaged';

/** The compact record of a classification kept in the manifest, for the next snapshot's history. */
export interface ContentSummary {
  type: ContentType;
  /** Structure verdict status, or `none` when the type has no validator. */
  structure: 'valid' | 'invalid' | 'unsupported' | 'none';
  /** Chi-square over the sampled bytes, rounded. */
  chi2: number;
  /** Bytes the statistics sampled. */
  sampled: number;
  judgement: Judgement;
  strength: Strength;
}

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
const WITH_MAGIC: ReadonlySet<ContentType> = new Set<ContentType>([
  ...VALIDATED_TYPES.filter((type) => type !== 'text' && type !== 'tar'),
  ...(Object.keys(MAGIC_CATALOG) as CatalogType[]),
]);
const LEGIT: ReadonlySet<ContentType> = new Set<ContentType>(ENCRYPTED_TYPES);
/** Types with a legitimate fully encrypted variant that keeps the name (SQLCipher). */
const OPAQUE_VARIANTS: ReadonlySet<ContentType> = new Set<ContentType>(['sqlite']);

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
  return {
    type: features.type,
    structure: features.structure?.status ?? 'none',
    chi2: Math.round(features.stats.chi2),
    sampled: features.stats.sampledBytes,
    judgement,
    strength,
  };
}

interface Verdict {
  judgement: Judgement;
  strength: Strength;
  score: number;
  reasons: string[];
  detail: string;
}

const intact = (reasons: string[] = [], detail = 'intact'): Verdict => ({ judgement: 'intact', strength: 'none', score: 0, reasons, detail });
const legit = (reason: string, detail: string): Verdict => ({ judgement: 'legit-encrypted', strength: 'none', score: 0, reasons: [reason], detail });
const encrypted = (strength: 'strong' | 'weak', score: number, reasons: string[], detail: string): Verdict => ({ judgement: 'encrypted', strength, score, reasons, detail });

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

function describeStructure(features: ContentFeatures): string {
  const s = features.structure!;
  return `${features.type} structure broken${s.offset !== undefined ? ` at byte ${s.offset}` : ''}${s.detail ? `: ${s.detail}` : ''}`;
}

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
    summary: summary(features, verdict.judgement, verdict.strength),
  };
}

function decide({ path, features, digest, previous, allowed }: ClassifyInput): Verdict {
  const { stats, structure, type } = features;
  const before = previous?.content;
  if (type === 'empty') return intact();
  if (allowed) return legit('allowed-by-policy', 'the policy allows encrypted content at this path');
  if (LEGIT.has(type)) return legit(`allow-listed:${type}`, `${type} is encrypted by design`);

  // An unchanged file keeps its judgement: same bytes, same facts.
  if (before && previous?.digest !== undefined && previous.digest === digest && before.judgement !== 'intact') {
    const reasons = ['unchanged-since-previous', ...(before.judgement === 'encrypted' ? ['encrypted-before'] : [])];
    if (before.judgement === 'legit-encrypted') return legit('encrypted-before', 'unchanged since the previous snapshot, which held it legitimately encrypted');
    if (before.judgement === 'encrypted') return encrypted(before.strength === 'strong' ? 'strong' : 'weak', before.strength === 'strong' ? 0.9 : 0.6, reasons, 'unchanged since the previous snapshot, where it was already judged encrypted');
  }

  const history: string[] = [];
  const claimedByHistory = before && before.type !== 'unknown' && before.type !== 'empty' && !LEGIT.has(before.type) ? before.type : null;
  const claim = claimedByHistory ?? claimedType(path);
  const wasStructured = before !== undefined && (before.structure === 'valid' || (before.sampled >= MIN_STATISTICS_BYTES && before.chi2 >= STRUCTURED_CHI2));
  if (before?.structure === 'valid' && structure?.status === 'invalid') history.push('was-valid');
  if (before && before.sampled >= MIN_STATISTICS_BYTES && before.chi2 >= STRUCTURED_CHI2 && uniform(stats) && stats.sampledBytes >= MIN_STATISTICS_BYTES) history.push('chi2-collapsed');
  if (previous && features.bytes > previous.size && features.bytes - previous.size <= MAX_FOOTER_BYTES && uniform(stats)) history.push('grew-by-footer');
  if (claimedByHistory && type !== claimedByHistory) history.push(`type-changed:${claimedByHistory}→${type}`);

  // An entry the previous snapshot held legitimately encrypted may stay encrypted.
  if (before?.judgement === 'legit-encrypted' && (type === before.type || uniform(stats))) {
    return legit('encrypted-before', 'the previous snapshot already held this path encrypted');
  }

  // 1. Structure.
  if (structure?.status === 'invalid') {
    const truncatedAtEnd = structure.offset !== undefined && structure.offset >= features.bytes - 1;
    const randomDamage = stats.randomRuns.length > 0 || periodicPattern(stats) !== null;
    if (truncatedAtEnd && !randomDamage && !history.includes('was-valid')) {
      return { judgement: 'damaged', strength: 'weak', score: 0.5, reasons: ['structure-invalid', 'truncated'], detail: `${describeStructure(features)} (the file ends early)` };
    }
    const supporting = [periodicPattern(stats), randomFirstBlock(stats) ? 'random-block-0' : null].filter((r): r is string => r !== null);
    return encrypted('strong', history.includes('was-valid') ? 0.97 : 0.9, ['structure-invalid', ...history, ...supporting], describeStructure(features));
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
      if (!claimedByHistory && OPAQUE_VARIANTS.has(claim)) return encrypted('weak', 0.6, ['magic-mismatch', ...evidence, ...history], detail);
      return encrypted('strong', 0.95, ['magic-mismatch', ...evidence, ...history], detail);
    }
    // Compressed formats look nearly random when intact, so intermittent encryption leaves no
    // statistical mark on them: a lost magic over near-random bytes is the evidence.
    const prefixBelow = (limit: number) => stats.prefixes.some((prefix) => prefix.bytes >= 256 && prefix.chi2 < limit);
    const nearRandom = prefixBelow(NEAR_RANDOM_CHI2);
    // With history the type is known for a fact; half-encrypted headers of a compressed format
    // stay well below what headers or text give.
    if (claimedByHistory && prefixBelow(2 * NEAR_RANDOM_CHI2)) {
      return encrypted('strong', 0.9, ['magic-mismatch', 'near-random-prefix', ...history], `was ${claimedByHistory} in the previous snapshot; its header is gone and near-random bytes stand there`);
    }
    if (nearRandom && !claimedByHistory && claim !== 'text') {
      return encrypted('weak', 0.6, ['magic-mismatch', 'near-random-prefix'], `expected ${claim} (by extension), found no header and near-random bytes`);
    }
    if (claimedByHistory) {
      return { judgement: 'damaged', strength: 'weak', score: 0.5, reasons: ['magic-mismatch', ...history], detail: `was ${claimedByHistory} in the previous snapshot, no longer recognisable as one` };
    }
  }

  // 3. Statistics, backed by history where there is some.
  const enough = features.bytes >= MIN_STATISTICS_BYTES;
  const periodic = periodicPattern(stats);
  if (periodic) {
    if (enough || wasStructured) return encrypted('strong', 0.9, [periodic, ...history], `bytes in a ${periodic.replace(/^periodic-/, '').replaceAll('-', ' ')} pattern are uniformly random, the rest are not`);
  }
  if (type === 'unknown' && randomFirstBlock(stats) && (enough || wasStructured)) {
    return encrypted('strong', 0.9, ['random-block-0', ...history], 'the first block is uniformly random while the rest is structured, and no known header is left');
  }
  if ((type === 'unknown' || type === 'text') && uniform(stats) && stats.sampledBytes >= MIN_STATISTICS_BYTES) {
    if (history.includes('chi2-collapsed') || claimedByHistory) {
      return encrypted('strong', 0.95, ['random-content', ...history], `uniformly random content (chi-square ${Math.round(stats.chi2)} over ${stats.sampledBytes} bytes) where the previous snapshot held structured data`);
    }
    if (before && before.chi2 < STRUCTURED_CHI2 && before.sampled >= MIN_STATISTICS_BYTES && before.judgement !== 'encrypted') {
      // Random before too, and not judged encrypted then: an opaque format this file always had.
      return intact(['random-before'], 'uniformly random, as in the previous snapshot');
    }
    return encrypted('weak', 0.6, ['random-content', ...history], `uniformly random content (chi-square ${Math.round(stats.chi2)} over ${stats.sampledBytes} bytes) with no known format and no history`);
  }
  // A format vouch recognises but cannot validate (fonts, GIF, .deb…): uniform bytes where the
  // previous snapshot held structured data mean everything after the magic was encrypted.
  if (type !== 'unknown' && type !== 'text' && structure === null && history.includes('chi2-collapsed')) {
    return encrypted('strong', 0.9, ['random-content', ...history], `${type} header intact but the content became uniformly random (chi-square ${Math.round(stats.chi2)} over ${stats.sampledBytes} bytes; the previous snapshot's was ${before!.chi2})`);
  }
  // A file that became another valid, recognised format (compressed in place, re-encoded) is a
  // change, not damage.
  return intact(structure?.status === 'valid' ? ['structure-valid', ...history.filter((reason) => reason.startsWith('type-changed'))] : []);
}
