/**
 * Every structure validator, in the order their magic is tried. One file per format in
 * validators/; adding a format is that file plus one line here. `text` has no magic (it matches
 * on what the head looks like), so it comes last.
 */
import type { ContentType } from './content-type.js';
import { ContentProbe } from './content-probe.js';
import { DEFAULT_VALIDATOR_LIMITS, type ValidatorDefinition } from './validator.js';
import { arValidator } from './validators/ar.js';
import { brotliValidator } from './validators/brotli.js';
import { bzip2Validator } from './validators/bzip2.js';
import { elfValidator } from './validators/elf.js';
import { fontValidator } from './validators/font.js';
import { gzipValidator } from './validators/gzip.js';
import { jpegValidator } from './validators/jpeg.js';
import { mp4Validator } from './validators/mp4.js';
import { pdfValidator } from './validators/pdf.js';
import { pgDumpValidator } from './validators/pg-dump.js';
import { pgSqlValidator } from './validators/pg-sql.js';
import { pngValidator } from './validators/png.js';
import { sqliteValidator } from './validators/sqlite.js';
import { tarValidator } from './validators/tar.js';
import { textValidator } from './validators/text.js';
import { xzValidator } from './validators/xz.js';
import { zipValidator } from './validators/zip.js';
import { zstdValidator } from './validators/zstd.js';

/**
 * Validators in matching order: formats with a fixed magic at offset 0 first; PDF (whose header
 * may follow junk) after them, so a compressed PDF is the compressor's; tar (magic at 257) and
 * text (no magic) last.
 */
export const VALIDATORS: readonly ValidatorDefinition[] = [
  gzipValidator,
  zipValidator,
  pngValidator,
  jpegValidator,
  xzValidator,
  zstdValidator,
  bzip2Validator,
  sqliteValidator,
  elfValidator,
  mp4Validator,
  arValidator,
  fontValidator,
  pgDumpValidator,
  pdfValidator,
  tarValidator,
  pgSqlValidator,
  textValidator,
];

/** Validators of formats with no magic, run when an entry's name claims them and nothing matched. */
export const CLAIMED_VALIDATORS: Readonly<Partial<Record<ContentType, ValidatorDefinition>>> = {
  brotli: brotliValidator,
};

/** Magic-less formats tried on an entry nothing recognised, when its head decodes as one (`sniff`). */
export const SNIFFED_VALIDATORS: readonly ValidatorDefinition[] = [brotliValidator];

let prepared: Promise<void> | null = null;

/** Runs every validator's one-time set-up (once per thread). */
export function prepareValidators(): Promise<void> {
  prepared ??= Promise.all(
    [...VALIDATORS, ...Object.values(CLAIMED_VALIDATORS)].map(async (definition) => definition.prepare?.()),
  ).then(() => undefined);
  return prepared;
}

/**
 * The probe a scan runs on an entry of `size` bytes whose name claims `claim` (claimedType): every
 * magic-recognised validator, the claimed format's magic-less validator, and the sniffed ones, at
 * the default limits. Magic-less validators that need set-up want `prepareValidators()` first.
 */
export function probeFor(size: number, claim: ContentType | null): ContentProbe {
  const claimed = claim ? (CLAIMED_VALIDATORS[claim] ?? null) : null;
  return new ContentProbe(size, VALIDATORS, DEFAULT_VALIDATOR_LIMITS, claimed, SNIFFED_VALIDATORS);
}
