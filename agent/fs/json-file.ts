/** Reading the state directory's small JSON files (written with writeFileAtomic). */
import { readdir, readFile } from 'node:fs/promises';
import { VouchError } from '../errors.js';

/** A state file that exists but cannot be used; the message names it, its path and the way forward. */
export class StateFileError extends VouchError {
  override name = 'StateFileError';
}

/**
 * The JSON object in `file`, or `missing()` when the file does not exist. Anything else — an
 * unreadable file, text that is not JSON, JSON that is not an object, or one `check` refuses —
 * throws a StateFileError naming `what` ("drill index for set orders") and the file.
 */
export async function readJsonFile<T, M = T>(
  file: string,
  missing: () => M,
  what: string,
  check?: (value: Record<string, unknown>) => string | null,
): Promise<T | M> {
  const fail = (why: string, cause?: unknown) =>
    new StateFileError(
      `${what} (${file}) is unreadable: ${why}. It is a cache of the ledger: move it aside and run \`vouch scan\` to rebuild it.`,
      cause === undefined ? undefined : { cause },
    );
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return missing();
    throw fail((error as NodeJS.ErrnoException).code ?? (error as Error).message, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw fail(text.trim() ? 'not JSON' : 'it is empty', error);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw fail('not a JSON object');
  const problem = check?.(value as Record<string, unknown>);
  if (problem) throw fail(problem);
  return value as T;
}

/**
 * The names of the JSON files in `dir` without their `.json` (hidden and temporary files left out),
 * sorted; none when `dir` does not exist. How a store lists the keys it keeps one file per key for.
 */
export async function jsonFileNames(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}
