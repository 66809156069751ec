/**
 * What every structure validator shares: the two ways a check ends a walk early, and the guard
 * that turns whatever a walk throws into a verdict.
 *
 * A format's walk throws `Damage` where the bytes break the format (an `invalid` verdict, which
 * vouch reports as damage or ransomware) and `Unsupported` where the file uses a variant the walk
 * cannot check. Anything else thrown is a bug in vouch, not a fact about the backup: the guard
 * makes it `unsupported` (`validator failed: …`), never `invalid`, so a bug can neither raise a
 * false ransomware finding nor escape the validator (the contract says validators never throw).
 */
import type { StructureValidator, StructureVerdict } from '../validator.js';

/** The bytes break the format at `offset` (entry offset): the entry is `invalid`. */
export class Damage extends Error {
  override name = 'Damage';
  constructor(
    message: string,
    readonly offset: number,
    options?: ErrorOptions & { localized?: { damagedBytes: number } },
  ) {
    super(message, options);
    if (options?.localized) this.localized = options.localized;
  }

  /** The framing held; only checksummed content failed (see StructureVerdict.localized). */
  readonly localized?: { damagedBytes: number };
}

/** The entry uses a variant the walk cannot check (`offset`: where it showed, when that matters to the verdict). */
export class Unsupported extends Error {
  override name = 'Unsupported';
  constructor(
    message: string,
    readonly offset?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A description of what is malformed, thrown by a pure parsing helper that does not know where
 * its bytes sit in the entry; its caller, which does, rethrows it as `Damage`. Catching only this
 * class (never `Error`) keeps a bug in the helper from being taken for damage.
 */
export class Malformed extends Error {
  override name = 'Malformed';
}

/** Why a walk ended early. */
export type Stop =
  | { status: 'invalid'; detail: string; offset: number; localized?: { damagedBytes: number } }
  | { status: 'unsupported'; detail: string; offset?: number };

/** What a value thrown by a walk means: `Damage` is invalid, `Unsupported` unsupported, anything else a failure of the validator (unsupported). */
export function stopFor(error: unknown): Stop {
  if (error instanceof Damage)
    return {
      status: 'invalid',
      detail: error.message,
      offset: error.offset,
      ...(error.localized ? { localized: error.localized } : {}),
    };
  if (error instanceof Unsupported)
    return error.offset === undefined
      ? { status: 'unsupported', detail: error.message }
      : { status: 'unsupported', detail: error.message, offset: error.offset };
  return {
    status: 'unsupported',
    detail: `validator failed: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/**
 * The verdict for a stop, with what the checks covered: `checkedBytes`, and the validator's
 * counts (`parts`, `encryptedMembers`) when it keeps them.
 */
export function stopVerdict(
  stop: Stop,
  checkedBytes: number,
  counts: Pick<StructureVerdict, 'parts' | 'encryptedMembers'> = {},
): StructureVerdict {
  return { ...stop, checkedBytes, ...counts };
}

/** One entry's walk through a format, as `guardedValidator` runs it. */
export interface FormatWalk {
  /** Walks the next chunk; throws `Damage` or `Unsupported` to end the walk. */
  update(chunk: Uint8Array): void;
  /** The input is over: the final checks (which may throw as `update` does) and the verdict. */
  finish(): StructureVerdict;
  /**
   * The verdict once `update` or `finish` threw, from what the walk had covered by then. Called
   * once, right after the throw; the walk is fed nothing more.
   */
  stopped(stop: Stop): StructureVerdict;
}

/**
 * A validator that runs `walk` and never throws: whatever `update` or `finish` throws becomes
 * the verdict (see `stopFor`), and once a verdict is reached further chunks cost nothing.
 */
export function guardedValidator(walk: FormatWalk): StructureValidator {
  let verdict: StructureVerdict | null = null;
  const stop = (error: unknown): StructureVerdict => {
    const reason = stopFor(error);
    try {
      return walk.stopped(reason);
    } catch {
      // The walk's own accounting failed too: the reason alone still keeps the contract.
      return { ...reason, checkedBytes: 0 };
    }
  };
  return {
    update(chunk: Uint8Array): void {
      if (verdict) return;
      try {
        walk.update(chunk);
      } catch (error) {
        verdict = stop(error);
      }
    },
    finish(): StructureVerdict {
      if (verdict) return verdict;
      try {
        verdict = walk.finish();
      } catch (error) {
        verdict = stop(error);
      }
      return verdict;
    },
  };
}

/**
 * The shape of a walk made of steps (PNG chunks, JPEG segments, zip records): each step is
 * handed the bytes at `offset` and returns those that follow what it walked. A step may hand back
 * bytes it had held (an inflater's staged input), which moves `offset` back to them.
 */
export abstract class StepWalk<Bytes extends Uint8Array = Uint8Array> {
  /** Entry offset of the first byte the current step is given. */
  protected offset = 0;

  /** Walks one step. */
  protected abstract step(data: Bytes): Bytes;

  /** Steps until `data` is used up. */
  protected walkSteps(data: Bytes): void {
    while (data.length > 0) {
      const rest = this.step(data);
      this.offset += data.length - rest.length;
      data = rest;
    }
  }
}
