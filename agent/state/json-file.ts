/** Reading the state directory's small JSON files (written with writeFileAtomic). */
import { readFile } from 'node:fs/promises';

/**
 * The JSON in `file`, or `missing()` when the file does not exist. Any other failure (unreadable,
 * not JSON) throws an Error naming `what` ("drill index for set orders"), with the cause.
 */
export async function readJsonFile<T, M = T>(file: string, missing: () => M, what: string): Promise<T | M> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return missing();
    throw new Error(`${what} is unreadable`, { cause: error });
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${what} is unreadable`, { cause: error });
  }
}
