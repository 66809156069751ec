/** Finding a file an application check names among what the drill restored. */
import { normaliseEntryName } from '../../archives/safe-path.js';
import type { RestoreOutcome } from '../restore.js';

/** The normalised path of `name` when the drill restored it as a file, else why not. */
export function restoredFile(
  restore: RestoreOutcome,
  name: string,
): { ok: true; path: string } | { ok: false; reason: string } {
  const normalised = normaliseEntryName(name, { maxPathLength: 4096, maxDepth: 128 });
  if (!normalised.ok)
    return {
      ok: false,
      reason: `'${name}' is not a relative path inside the snapshot (${normalised.reason})`,
    };
  const entry = restore.entries.get(normalised.path);
  if (!entry) return { ok: false, reason: `${normalised.path} was not restored (not in this snapshot)` };
  if (entry.type !== 'file' && !(entry.type === 'hardlink' && entry.materialised))
    return { ok: false, reason: `${normalised.path} is a ${entry.type}, not a file` };
  return { ok: true, path: normalised.path };
}
