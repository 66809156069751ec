/**
 * The ready drill definitions shipped in `restore-drills/` (see its README): found next to the
 * sources or the build, and read as the `drill:` block of one of their sets, with script paths
 * made absolute so the block works in any policy.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The restore-drills directory of this installation, or null when it is not shipped. */
export function readyDrillsDir(): string | null {
  // agent/drills/ in the sources, dist/ in the bundle.
  for (const relative of ['../../restore-drills', '../restore-drills']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path.join(dir, 'README.md'))) return dir;
  }
  return null;
}

/** The `drill:` block of set `set` in restore-drills/`file`, scripts resolved to absolute paths. */
export async function readyDrill(file: string, set: string): Promise<Record<string, unknown>> {
  const dir = readyDrillsDir();
  if (!dir) throw new Error('restore-drills/ is not installed next to vouch');
  const document = parse(await readFile(path.join(dir, file), 'utf8')) as {
    sets?: Record<string, { drill?: Record<string, unknown> }>;
  };
  const drill = document.sets?.[set]?.drill;
  if (!drill) throw new Error(`restore-drills/${file} has no drill for set ${set}`);
  const commands = (drill.commands as unknown[] | undefined)?.map((command) =>
    typeof command === 'object' && command !== null && 'script' in command
      ? { ...command, script: path.join(dir, String(command.script)) }
      : command,
  );
  return { ...drill, ...(commands ? { commands } : {}) };
}
