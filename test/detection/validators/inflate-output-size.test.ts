import { randomBytes } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_VALIDATOR_LIMITS } from '../../../agent/detection/validator.js';
import { DecodeBudget, StreamInflater } from '../../../agent/detection/validators/inflate-check.js';

/** Inflates `input` in one push and ends; what a caller sees. */
function inflate(input: Uint8Array, expectedOutput?: number): Record<string, unknown> {
  const inflater = new StreamInflater({
    wrapper: 'raw',
    crc32: true,
    budget: new DecodeBudget(DEFAULT_VALIDATOR_LIMITS),
    ...(expectedOutput !== undefined ? { expectedOutput } : {}),
  });
  const rest = inflater.push(input);
  const after = inflater.state === 'running' ? inflater.end() : rest;
  return {
    state: inflater.state,
    inputBytes: inflater.inputBytes,
    outputBytes: inflater.outputBytes,
    crc: inflater.crc,
    after: after.length,
  };
}

describe('the output size a container declares', () => {
  it('sizes only the buffer: a right, wrong or missing size gives the same result', () => {
    const text = Buffer.from('invoice 42 shipped to the warehouse\n'.repeat(3000));
    for (const plain of [text, randomBytes(5000), text.subarray(0, 100)]) {
      const stream = deflateRawSync(plain);
      // Followed by the rest of an archive, as a zip member without sizes is.
      const input = Buffer.concat([stream, randomBytes(200_000)]);
      const expected = {
        state: 'ended',
        outputBytes: plain.length,
        crc: crc32(plain),
        inputBytes: stream.length,
      };
      for (const declared of [undefined, plain.length, 0, 10, plain.length * 50])
        expect(inflate(input, declared), `declared ${declared}`).toMatchObject(expected);
    }
  });
});
