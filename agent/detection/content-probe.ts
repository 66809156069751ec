/**
 * The content probe: everything detection measures about one entry, in the scan's single pass
 * over its bytes. It holds the first HEAD_BYTES to recognise the type by magic, then streams the
 * entry through that type's structure validator and through the sampled byte statistics; small
 * text files are also searched for ransom-note phrases. The result is plain data (it crosses
 * from analysis workers) that classify.ts turns into a judgement.
 */
import { isUtf8 } from 'node:buffer';
import { armourOf, type Armour } from './armour.js';
import { ByteSampler, type ByteStats } from './byte-statistics.js';
import type { ContentType } from './content-type.js';
import { encryptedFormatOf } from './encrypted-formats.js';
import { catalogTypeOf } from './magic-catalog.js';
import { ransomMarkersIn } from './ransom-note.js';
import {
  DEFAULT_VALIDATOR_LIMITS,
  type StructureValidator,
  type StructureVerdict,
  type ValidatorDefinition,
  type ValidatorLimits,
} from './validator.js';

/** Bytes held to recognise the type (and to look for ransom-note phrases). */
export const HEAD_BYTES = 64 * 1024;
/**
 * Types whose whole entries are worth trying without per-window statistics (ByteSampler.whole
 * proves per entry whether they can be skipped): text, bytecode, message catalogues, executables
 * and unrecognised content, where the proof holds for most or many real files. For compressed
 * formats it never does, and the attempt would only cost counting the first window twice.
 */
const MAY_SKIP_WINDOWS: ReadonlySet<ContentType> = new Set<ContentType>([
  'text',
  'pyc',
  'gettext-mo',
  'java-class',
  'elf',
  'unknown',
]);
/** Files larger than this are never taken for ransom notes (notes are a few KiB). */
const NOTE_MAX_BYTES = 256 * 1024;

/** What the probe measured. Plain data. */
export interface ContentFeatures {
  /** Type by magic and structure; `unknown` when nothing matched, `empty` for zero bytes. */
  type: ContentType;
  /** The type's validator verdict; null when the type has none. */
  structure: StructureVerdict | null;
  stats: ByteStats;
  /** Ransom-note phrases found in a small text file (see ransom-note.ts). */
  ransomMarkers: string[];
  /** Bytes seen. */
  bytes: number;
  /** Set when the entry is ciphertext written as base64 or hex text (see armour.ts). */
  armour?: Armour;
  /**
   * Set when the type is a legitimately encrypted format in its ASCII armour (`-----BEGIN PGP
   * MESSAGE-----`, age's armour): text that says it is encrypted, unlike the binary containers.
   */
  armoured?: true;
}

/** Measures one entry's content as it streams by. */
export class ContentProbe {
  private head: Uint8Array[] = [];
  private headLength = 0;
  private decided = false;
  private type: ContentType = 'unknown';
  private validator: StructureValidator | null = null;
  private validatorFailure: string | null = null;
  private readonly sampler: ByteSampler;
  private bytes = 0;
  private markers: string[] = [];
  private armour: Armour | null = null;
  private armoured = false;
  /** Set by whole(): the byte statistics are taken there, not chunk by chunk. */
  private wholeEntry = false;
  /** The validator runs because the name claims its format, not because its magic matched. */
  private byClaim = false;
  /** The validator runs on a guess (its format has no magic and the head decoded so far). */
  private sniffed = false;

  /**
   * `size` is the declared size; `validators` are tried in order (see registry.ts), after the
   * legitimately encrypted formats. `claimed` is the validator of a magic-less format the
   * entry's name claims (brotli for `.br`), run only when nothing else matches; `sniffable` the
   * magic-less formats tried on a head nothing recognised (see ValidatorDefinition.sniff).
   */
  constructor(
    private readonly size: number,
    private readonly validators: readonly ValidatorDefinition[],
    private readonly limits: ValidatorLimits = DEFAULT_VALIDATOR_LIMITS,
    private readonly claimed: ValidatorDefinition | null = null,
    private readonly sniffable: readonly ValidatorDefinition[] = [],
  ) {
    this.sampler = new ByteSampler(size);
  }

  /** Feeds the next chunk. */
  update(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    if (!this.wholeEntry) this.sampler.update(chunk);
    if (this.decided) {
      this.feed(chunk);
      return;
    }
    // Once the head is complete (or the entry is: a small file read whole), decide on it with
    // this chunk as it is; only a head still incomplete is copied (the caller reuses `chunk`).
    if (this.headLength + chunk.length >= HEAD_BYTES || (this.size > 0 && this.bytes >= this.size)) {
      const head =
        this.head.length === 0 ? chunk : concat([...this.head, chunk], this.headLength + chunk.length);
      this.head = [];
      this.headLength = 0;
      this.decideOn(head);
      return;
    }
    this.head.push(chunk.slice());
    this.headLength += chunk.length;
  }

  /**
   * The measurements of an entry given whole in `data` (nothing fed before, nothing after), as a
   * worker that reads a small file at once has it: what `update(data)` then `finish()` return,
   * except that the byte statistics skip the per-window detail no classification rule can read
   * for this entry (see ByteSampler.whole). Call instead of update/finish.
   */
  whole(data: Uint8Array): ContentFeatures {
    if (this.bytes > 0 || data.length === 0) {
      this.update(data);
      return this.finish();
    }
    this.wholeEntry = true;
    this.update(data);
    return this.complete(this.sampler.whole(data, !MAY_SKIP_WINDOWS.has(this.type)));
  }

  /** The measurements; call once after the last chunk. */
  finish(): ContentFeatures {
    return this.complete(null);
  }

  /** The measurements, with the byte statistics when already taken. */
  private complete(stats: ByteStats | null): ContentFeatures {
    if (!this.decided) this.decide();
    let structure: StructureVerdict | null = null;
    if (this.validator) {
      try {
        structure = this.validator.finish();
      } catch (error) {
        this.validatorFailure ??= describe(error);
      }
    }
    // A validator that breaks is a bug in vouch, not damage in the backup: never an 'invalid'.
    if (this.validatorFailure)
      structure = {
        status: 'unsupported',
        detail: `validator failed: ${this.validatorFailure}`,
        checkedBytes: 0,
      };
    // A format recognised only by its name, or guessed, is that format only if it validates; a
    // failed guess says nothing about the bytes.
    if ((this.byClaim || this.sniffed) && structure?.status !== 'valid') this.type = 'unknown';
    if (this.sniffed && structure?.status !== 'valid') structure = null;
    return {
      type: this.bytes === 0 ? 'empty' : this.type,
      structure,
      stats: stats ?? this.sampler.finish(),
      ransomMarkers: this.markers,
      bytes: this.bytes,
      ...(this.armour ? { armour: this.armour } : {}),
      ...(this.armoured ? { armoured: true as const } : {}),
    };
  }

  private decide(): void {
    const head = concat(this.head, this.headLength);
    this.head = [];
    this.decideOn(head);
  }

  private decideOn(head: Uint8Array): void {
    this.decided = true;
    let text: boolean | null = null;
    const isText = (): boolean => (text ??= looksLikeText(head));
    let definition = identify(head, this.validators);
    const named = definition === null ? (encryptedFormatOf(head) ?? catalogTypeOf(head)) : null;
    if (definition === null && named === null && this.claimed && head.length > 0) {
      definition = this.claimed;
      this.byClaim = true;
    }
    // Compressed formats are binary: text is never guessed to be one.
    if (definition === null && named === null && head.length > 0 && !isText()) {
      definition = this.sniffable.find((candidate) => sniffs(candidate, head)) ?? null;
      this.sniffed = definition !== null;
    }
    if (definition === null) {
      this.type = named ?? 'unknown';
      this.armoured = (named === 'openpgp' || named === 'age') && isText();
    } else {
      this.type = definition.type;
      try {
        this.validator = definition.create(this.size, this.limits);
      } catch (error) {
        this.validatorFailure = describe(error);
      }
    }
    if ((this.type === 'text' || this.type === 'unknown') && isText()) {
      // The phrases are looked for in the first HEAD_BYTES only, even when the head is a whole
      // file read at once: notes are a few KiB, and the search costs per byte. Armour is judged
      // on the whole head: the decoded bytes' chi-square needs them — 48 KiB of base64'd gzip
      // data pass for random bytes, a MiB of it does not (an adversarial review of the bound).
      if (this.size <= NOTE_MAX_BYTES) this.markers = ransomMarkersIn(head.subarray(0, HEAD_BYTES));
      this.armour = armourOf(head);
    }
    if (head.length > 0) this.feed(head);
  }

  private feed(chunk: Uint8Array): void {
    if (!this.validator || this.validatorFailure) return;
    try {
      this.validator.update(chunk);
    } catch (error) {
      this.validatorFailure = describe(error);
    }
  }
}

/** The first validator whose magic matches, after ruling out legitimately encrypted formats. */
export function identify(
  head: Uint8Array,
  validators: readonly ValidatorDefinition[],
): ValidatorDefinition | null {
  if (head.length === 0 || encryptedFormatOf(head) !== null) return null;
  for (const definition of validators) {
    try {
      if (definition.matches(head)) return definition;
    } catch {
      // A matcher that throws claims nothing.
    }
  }
  return null;
}

function sniffs(definition: ValidatorDefinition, head: Uint8Array): boolean {
  try {
    return definition.sniff?.(head) ?? false;
  } catch {
    return false;
  }
}

/** Mostly printable: notes come as UTF-8, UTF-16 is rare enough to ignore, HTML counts. */
function looksLikeText(head: Uint8Array): boolean {
  const sample = head.subarray(0, 4096);
  if (sample.length === 0 || !isUtf8(sample.subarray(0, lastCompleteUtf8(sample)))) return false;
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const byte = sample[i]!;
    if (byte < 9 || (byte > 13 && byte < 32)) control++;
  }
  return control <= sample.length / 100;
}

/** Length of `bytes` without a UTF-8 sequence cut at its end. */
function lastCompleteUtf8(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
