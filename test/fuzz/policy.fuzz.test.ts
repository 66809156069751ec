/**
 * Fuzzing the policy loader: a valid policy file mutated character by character (deleted,
 * inserted, replaced characters; dropped, repeated and swapped lines) either loads or is refused
 * with a ConfigError naming the problem — never another exception, never a hang.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../agent/config/load-policy.js';
import { ConfigError } from '../../agent/errors.js';
import { fuzzParameters } from '../helpers/fuzz.js';

const SEED_POLICY = readFileSync(new URL('../../policies/s3-object-lock.yaml', import.meta.url), 'utf8');

type Edit =
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'replace'; at: number; text: string }
  | { kind: 'drop-line' | 'repeat-line'; line: number }
  | { kind: 'swap-lines'; line: number; other: number };

const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const fragment = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    ':',
    ': ',
    '- ',
    '  ',
    '\n',
    '{',
    '}',
    '[',
    ']',
    "'",
    '"',
    '&a',
    '*a',
    '!!binary',
    '<<: *a',
    '0x',
    '-1',
    '1e999',
    '99999999999999999999d',
    '%',
    '\t',
    '#',
  ),
);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, text: fragment }),
  fc.record({ kind: fc.constant('replace' as const), at: position, text: fragment }),
  fc.record({ kind: fc.constantFrom('drop-line' as const, 'repeat-line' as const), line: position }),
  fc.record({ kind: fc.constant('swap-lines' as const), line: position, other: position }),
);

function apply(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const e of edits) {
    if (e.kind === 'delete' || e.kind === 'insert' || e.kind === 'replace') {
      const at = Math.floor(e.at * out.length);
      if (e.kind === 'delete') out = out.slice(0, at) + out.slice(at + e.length);
      else if (e.kind === 'insert') out = out.slice(0, at) + e.text + out.slice(at);
      else out = out.slice(0, at) + e.text + out.slice(at + e.text.length);
      continue;
    }
    const lines = out.split('\n');
    const index = Math.floor(e.line * lines.length);
    if (e.kind === 'drop-line') lines.splice(index, 1);
    else if (e.kind === 'repeat-line') lines.splice(index, 0, lines[index]!);
    else if (e.kind === 'swap-lines') {
      const other = Math.floor(e.other * lines.length);
      [lines[index], lines[other]] = [lines[other]!, lines[index]!];
    }
    out = lines.join('\n');
  }
  return out;
}

describe('policy files, mutated (fuzz)', () => {
  it('load, or are refused with a ConfigError that names the problem', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        const text = apply(SEED_POLICY, edits);
        const started = Date.now();
        try {
          const policy = parsePolicy(text, 'fuzzed.yaml');
          expect(policy.sets.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).message).toMatch(/\S/);
        }
        expect(Date.now() - started).toBeLessThan(5_000);
      }),
      fuzzParameters(400),
    );
  });
});
