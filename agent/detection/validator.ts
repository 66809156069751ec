/**
 * The contract every structure validator implements. A validator checks that an entry's bytes
 * still obey their format's grammar and checksums (gzip CRC-32 and ISIZE, PNG chunk CRCs, JPEG
 * marker grammar, …). Ransomware that leaves the magic bytes in place — header-preserving,
 * partial or intermittent encryption — breaks these checks; intact files never do.
 *
 * Validators are streaming and synchronous: they see each chunk once, in order, keep bounded
 * state (never the whole entry), and never throw — bad bytes are a verdict, not an exception.
 * validators/validator-kit.ts holds the guard every validator runs under: a `Damage` is an
 * `invalid` verdict, an `Unsupported` an `unsupported` one, and any other exception (a bug in
 * vouch, not damage in the backup) is `unsupported` too, never `invalid`.
 * They run inside the one streaming pass that also computes the digest, on the main thread or in
 * an analysis worker, so they must not do I/O and must stay within their caps.
 */
import type { ContentType } from './content-type.js';

/** What a validator concluded. */
export interface StructureVerdict {
  /**
   * `valid`: every structure checked holds (`checkedBytes` says how far the checks reached;
   * past a cap the rest was not checked). `invalid`: a check failed — the bytes are damaged or
   * encrypted. `unsupported`: the file uses a variant the validator cannot check (say so in
   * `detail`); treated as if there were no validator.
   */
  status: 'valid' | 'invalid' | 'unsupported';
  /** For `invalid` and `unsupported`: what failed, one short phrase (`CRC-32 mismatch in chunk IDAT`). */
  detail?: string;
  /** For `invalid`: byte offset in the entry where the damage was found. */
  offset?: number;
  /** Bytes of the entry the checks covered (from the start); the whole entry when uncapped. */
  checkedBytes: number;
  /**
   * Containers only (zip): members stored encrypted by the format itself (zip traditional or
   * AES encryption). Their bytes are not checked and are never taken for ransomware.
   */
  encryptedMembers?: number;
  /** Members or parts checked (zip members, PNG chunks, PDF streams, …), for the reasons line. */
  parts?: number;
  /**
   * For `invalid`: set when the format's framing held to the end and only checksums over some
   * content failed (a PNG chunk's CRC, a gzip member's CRC-32): damage confined to `damagedBytes`
   * bytes — bit rot, a bad sector — which encryption, breaking framing wherever it reaches, never
   * leaves.
   */
  localized?: { damagedBytes: number };
}

/** One entry's validation in progress. */
export interface StructureValidator {
  /** Feeds the next chunk of the entry. Cheap once the validator has decided `invalid`. */
  update(chunk: Uint8Array): void;
  /** Called once after the last chunk; the verdict for the whole entry. */
  finish(): StructureVerdict;
}

/** Limits every validator respects. */
export interface ValidatorLimits {
  /**
   * Compressed bytes a validator may decompress to check (inflate, zstd, xz, bzip2). Past it,
   * structure walking without decompression goes on where the format allows; the verdict stays
   * `valid` with `checkedBytes` saying where full checking stopped.
   */
  maxDecodeBytes: number;
  /** Bytes of output any one decompression may produce before the validator stops decoding (bombs). */
  maxOutputBytes: number;
}

/** Defaults: enough to check typical files completely, bounded for huge ones. */
export const DEFAULT_VALIDATOR_LIMITS: ValidatorLimits = {
  maxDecodeBytes: 32 * 2 ** 20,
  maxOutputBytes: 256 * 2 ** 20,
};

/** A format's validator, registered in registry.ts. One per file in validators/. */
export interface ValidatorDefinition {
  readonly type: ContentType;
  /**
   * True when `head` (the entry's first bytes: up to 64 KiB, or the whole entry if shorter)
   * starts the way this format must start. Must not match other registered formats' heads.
   */
  matches(head: Uint8Array): boolean;
  /**
   * Formats without a magic only: true when `head` could start this format (it decodes so far),
   * so the probe may try the validator on an entry nothing else recognised, whatever its name
   * (compressed data under a name vouch does not know, `jquery.min.js.brotli`). The format is
   * then taken only if the whole entry validates; a failed guess is no evidence of anything.
   */
  sniff?(head: Uint8Array): boolean;
  /**
   * One-time asynchronous set-up (loading a WebAssembly hasher, say), awaited once per thread
   * before the first `create`. Optional.
   */
  prepare?(): Promise<void>;
  /** A validator for one entry of `size` bytes (the declared size; the stream may end early). */
  create(size: number, limits: ValidatorLimits): StructureValidator;
}
