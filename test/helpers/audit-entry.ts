/** Audits the first set of a policy and prints the audit as JSON (run inside a bwrap namespace by tests). */
import path from 'node:path';
import { loadPolicy } from '../../agent/config/load-policy.js';
import { auditSet } from '../../agent/immutability/audit-set.js';

const policy = await loadPolicy(process.argv[2]!);
process.stdout.write(
  JSON.stringify(await auditSet(policy.sets[0]!, { stateDir: path.dirname(policy.file) })),
);
