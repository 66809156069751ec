/**
 * Loads a policy: YAML text → schema validation → resolved values. Every problem is reported
 * with its path (`sets.orders.source.s3.bucket: required`), all at once.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
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
    throw new ConfigError(`${file}: not valid YAML`, [(error as Error).message.split('\n')[0]!], {
      cause: error,
    });
  }
  return validatePolicy(value, file, path.dirname(path.resolve(file)));
}

/** The largest policy file read: real policies are a few KiB; anything near this is a mistake. */
export const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * A policy file's text. Only a regular file is read — opened without blocking and checked on the
 * open handle, so a FIFO or device never hangs the agent — and only up to MAX_POLICY_BYTES.
 */
async function readPolicyText(file: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'ENOENT'
        ? ' (name the policy with --config FILE or VOUCH_CONFIG; `vouch policy check FILE` validates one)'
        : '';
    throw new ConfigError(`cannot read policy ${file}: ${code ?? error}${hint}`, [], { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      const what = stats.isDirectory()
        ? 'a directory'
        : stats.isFIFO()
          ? 'a FIFO'
          : stats.isSocket()
            ? 'a socket'
            : 'a device';
      throw new ConfigError(`cannot read policy ${file}: it is ${what}, not a regular file`);
    }
    if (stats.size > MAX_POLICY_BYTES)
      throw new ConfigError(
        `cannot read policy ${file}: ${stats.size} bytes, over the ${MAX_POLICY_BYTES}-byte limit for a policy`,
      );
    const buffer = Buffer.alloc(MAX_POLICY_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_POLICY_BYTES)
      throw new ConfigError(
        `cannot read policy ${file}: over the ${MAX_POLICY_BYTES}-byte limit for a policy`,
      );
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads, parses and validates a policy file. */
export async function loadPolicy(file: string): Promise<Policy> {
  return parsePolicy(await readPolicyText(file), path.resolve(file));
}
