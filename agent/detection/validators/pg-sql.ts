/**
 * A PostgreSQL plain-format dump (`pg_dump` without `-F`): text that opens with pg_dump's banner
 * (`--\n-- PostgreSQL database dump\n`) must close with its trailer (`-- PostgreSQL database dump
 * complete`, followed since 2025 by a `\unrestrict` line). A dump without it ends mid-statement: a
 * backup job that failed or was cut short, which restores a partial database. The text itself is
 * checked as any text is (validators/text.ts).
 */
import type {
  StructureValidator,
  StructureVerdict,
  ValidatorDefinition,
  ValidatorLimits,
} from '../validator.js';
import { textValidator } from './text.js';
import { Damage, guardedValidator, stopVerdict, type FormatWalk, type Stop } from './validator-kit.js';

const BANNER = '--\n-- PostgreSQL database dump\n';
const TRAILER = '-- PostgreSQL database dump complete';
/** Bytes kept from the end: the trailer and what pg_dump writes after it. */
const TAIL_BYTES = 1024;

class PgSqlValidator implements FormatWalk {
  private tail = Buffer.alloc(0);
  private bytes = 0;

  constructor(private readonly text: StructureValidator) {}

  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.text.update(chunk);
    const keep = Buffer.concat([
      this.tail,
      chunk.length > TAIL_BYTES ? chunk.subarray(chunk.length - TAIL_BYTES) : chunk,
    ]);
    this.tail = keep.length > TAIL_BYTES ? keep.subarray(keep.length - TAIL_BYTES) : keep;
  }

  finish(): StructureVerdict {
    const verdict = this.text.finish();
    if (verdict.status !== 'valid') return verdict;
    if (!this.tail.toString('latin1').includes(TRAILER))
      throw new Damage(`PostgreSQL dump ends without '${TRAILER}': cut short mid-statement`, this.bytes);
    return verdict;
  }

  stopped(stop: Stop): StructureVerdict {
    return stopVerdict(stop, stop.offset ?? this.bytes);
  }
}

/** Plain pg_dump output, recognised by its banner; the trailer is checked. */
export const pgSqlValidator: ValidatorDefinition = {
  type: 'pg-sql',
  matches: (head) =>
    head.length >= BANNER.length &&
    Buffer.from(head.subarray(0, BANNER.length)).toString('latin1') === BANNER,
  create(size: number, limits: ValidatorLimits): StructureValidator {
    return guardedValidator(new PgSqlValidator(textValidator.create(size, limits)));
  },
};
