/** Path containment, the one test every "must stay under this directory" check uses. */
import path from 'node:path';

/** Whether `child` is `parent` or lies under it (both absolute, resolved). Pure. */
export function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
