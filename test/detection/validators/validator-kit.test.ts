import { describe, expect, it } from 'vitest';
import { CLAIMED_VALIDATORS, VALIDATORS } from '../../../agent/detection/registry.js';
import { DEFAULT_VALIDATOR_LIMITS, type StructureVerdict } from '../../../agent/detection/validator.js';
import {
  Damage,
  guardedValidator,
  stopVerdict,
  Unsupported,
  type FormatWalk,
  type Stop,
} from '../../../agent/detection/validators/validator-kit.js';

/** A walk that fails as told on its `failOn`-th update (or in finish), recording what it was asked. */
function failingWalk(
  failure: unknown,
  failOn: number | 'finish',
): FormatWalk & { updates: number; finished: number; stops: Stop[] } {
  return {
    updates: 0,
    finished: 0,
    stops: [],
    update(chunk: Uint8Array): void {
      this.updates++;
      if (this.updates === failOn) throw failure;
      void chunk;
    },
    finish(): StructureVerdict {
      this.finished++;
      if (failOn === 'finish') throw failure;
      return { status: 'valid', checkedBytes: 3 * this.updates };
    },
    stopped(stop: Stop): StructureVerdict {
      this.stops.push(stop);
      return stopVerdict(stop, 3 * this.updates, { parts: 7 });
    },
  };
}

function run(walk: FormatWalk, chunks: number): StructureVerdict {
  const validator = guardedValidator(walk);
  for (let i = 0; i < chunks; i++) validator.update(new Uint8Array(3));
  return validator.finish();
}

/** A chunk whose every property read throws: whatever a validator does with it is a failure of the validator, not of the bytes. */
const POISONED = new Proxy(new Uint8Array(16), {
  get(): never {
    throw new TypeError('poisoned chunk');
  },
});

describe('validator kit', () => {
  it('turns a plain Error thrown by update into unsupported (validator failed), never invalid', () => {
    const walk = failingWalk(new Error('index 12 is out of range'), 2);
    expect(run(walk, 4)).toEqual({
      status: 'unsupported',
      detail: 'validator failed: index 12 is out of range',
      checkedBytes: 6,
      parts: 7,
    });
  });

  it('turns a plain Error thrown by finish into unsupported too', () => {
    expect(run(failingWalk(new TypeError('cannot read properties of undefined'), 'finish'), 2)).toMatchObject(
      { status: 'unsupported', detail: 'validator failed: cannot read properties of undefined' },
    );
    expect(run(failingWalk('a thrown string', 'finish'), 1)).toMatchObject({
      status: 'unsupported',
      detail: 'validator failed: a thrown string',
    });
  });

  it('turns Damage into invalid at its offset, and Unsupported into unsupported', () => {
    expect(run(failingWalk(new Damage('CRC-32 mismatch in chunk IDAT', 40), 1), 3)).toEqual({
      status: 'invalid',
      detail: 'CRC-32 mismatch in chunk IDAT',
      offset: 40,
      checkedBytes: 3,
      parts: 7,
    });
    expect(run(failingWalk(new Damage('ends inside a frame', 9), 'finish'), 3)).toEqual({
      status: 'invalid',
      detail: 'ends inside a frame',
      offset: 9,
      checkedBytes: 9,
      parts: 7,
    });
    expect(run(failingWalk(new Unsupported('JPEG-LS image'), 1), 2)).toEqual({
      status: 'unsupported',
      detail: 'JPEG-LS image',
      checkedBytes: 3,
      parts: 7,
    });
  });

  it('feeds a walk nothing more once it stopped, and asks it once for the verdict', () => {
    const walk = failingWalk(new Damage('damaged', 0), 2);
    const validator = guardedValidator(walk);
    for (let i = 0; i < 5; i++) validator.update(new Uint8Array(3));
    expect(validator.finish()).toBe(validator.finish());
    expect({ updates: walk.updates, finished: walk.finished, stops: walk.stops.length }).toEqual({
      updates: 2,
      finished: 0,
      stops: 1,
    });
  });

  it('keeps the contract when the walk fails again while reporting where it stopped', () => {
    const walk: FormatWalk = {
      update: () => {
        throw new Error('first bug');
      },
      finish: () => ({ status: 'valid', checkedBytes: 0 }),
      stopped: () => {
        throw new Error('second bug');
      },
    };
    expect(run(walk, 1)).toEqual({
      status: 'unsupported',
      detail: 'validator failed: first bug',
      checkedBytes: 0,
    });
  });

  it.each(
    [...VALIDATORS, ...Object.values(CLAIMED_VALIDATORS)].map(
      (definition) => [definition.type, definition] as const,
    ),
  )('%s: a bug in the validator reads unsupported, not invalid', (_type, definition) => {
    const validator = definition.create(64, DEFAULT_VALIDATOR_LIMITS);
    expect(() => validator.update(POISONED)).not.toThrow();
    expect(validator.finish()).toMatchObject({
      status: 'unsupported',
      detail: 'validator failed: poisoned chunk',
    });
  });
});
