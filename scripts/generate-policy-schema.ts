/** Writes policies/vouch-policy.schema.json from the zod schema, so editors validate policy files. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { policyJsonSchema } from '../agent/config/policy-json-schema.js';

const target = fileURLToPath(new URL('../policies/vouch-policy.schema.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
