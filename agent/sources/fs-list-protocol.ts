/** Messages between a filesystem source and its listing worker (fs-list-worker.ts). */
import type { Unlisted } from '../archives/plain-reader.js';

/** One listed object, as the worker sends it (fs-source.ts turns it into a SourceObject). */
export interface ListedEntry {
  key: string;
  size: number;
  mtimeMs: number;
  kind: 'file' | 'symlink' | 'other';
  validator?: string;
  linkTarget?: string;
  /**
   * Set when the walk could not list this name and reports it instead (kind `other`, size 0):
   * `unsafe-entry` for a name that is not valid UTF-8 (its key shows the name escaped), `read-error`
   * for a directory it could not read or a name it could not stat. Never read.
   */
  unlisted?: Unlisted;
}

/** Main thread → worker: start walking `directory`, send the next batch of at most `max`, or drop a walk. */
export type ListRequest =
  | {
      type: 'start';
      id: number;
      directory: string;
      dirKey: string;
      namePrefix: string;
      /** Top-level folders of a walk from the root (`dirKey` `''`) not to descend into. */
      skip?: string[];
    }
  | { type: 'more'; id: number; max: number }
  | { type: 'stop'; id: number };

/**
 * Worker → main thread: the next entries (`done` when the walk ended), or the entries before a
 * failure and the failure (the key it concerns, the action, the error's message and code).
 */
export type ListResponse =
  | { type: 'entries'; id: number; entries: ListedEntry[]; done: boolean }
  | {
      type: 'error';
      id: number;
      entries: ListedEntry[];
      key: string;
      action: string;
      message: string;
      code?: string;
    };
