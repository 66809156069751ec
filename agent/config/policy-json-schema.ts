/** The policy's JSON Schema (draft 2020-12), generated from the zod schema so the two never disagree. */
import { z } from 'zod';
import { policySchema } from './policy-schema.js';

/** JSON Schema describing policy files as written (inputs, with defaults shown). */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }),
    title: 'vouch policy',
  };
}
