/**
 * Loads a policy: YAML text → schema validation → resolved values. Every problem is reported
 * with its path (`sets.orders.source.s3.bucket: required`), all at once.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { policySchema } from './policy-schema.js';
import { resolvePolicy, type Policy } from './resolve-policy.js';

/** `a.b[0].c`-style path of a schema issue. */
function issuePath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${issuePath([...issue.path, key])}: unknown key`).join('\n  ');
  }
  if (issue.code === 'invalid_key') {
    const why = issue.issues.map((inner) => inner.message).join('; ');
    return `${issuePath(issue.path)}: invalid name (${why})`;
  }
  return `${issuePath(issue.path)}: ${issue.message}`;
}

/** Validates a policy given as a plain value (already parsed from YAML or JSON). */
export function validatePolicy(value: unknown, file: string, baseDir: string): Policy {
  const result = policySchema.safeParse(value, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined),
  });
  if (!result.success) {
    throw new ConfigError(`${file}: invalid policy`, result.error.issues.map(describeIssue));
  }
  return resolvePolicy(result.data, file, baseDir);
}

/** Parses and validates policy text; `file` names it in messages and anchors relative paths. */
export function parsePolicy(text: string, file: string): Policy {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      `${file}: not valid YAML`,
      document.errors.map((error) => error.message.split('\n')[0]!),
    );
  }
  let value: unknown;
  try {
    // Building values can still fail on what parsed (an alias to an anchor that is not there, say).
    value = document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new ConfigError(`${file}: not valid YAML`, [(error as Error).message.split('\n')[0]!], { cause: error });
  }
  return validatePolicy(value, file, path.dirname(path.resolve(file)));
}

/** Reads, parses and validates a policy file. */
export async function loadPolicy(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read policy ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`, [], {
      cause: error,
    });
  }
  return parsePolicy(text, path.resolve(file));
}
