/**
 * Which entries a sampled drill restores (pure). Each drill draws afresh (the choice is a hash of
 * the drill id and the path, so it is uniform, reproducible for that drill and different for the
 * next); files the application checks name are always restored.
 */
import { createHash } from 'node:crypto';

/** A predicate: is this entry part of the drill's sample? */
export function sampleSelector(
  drillId: string,
  fraction: number,
  pinned: ReadonlySet<string> = new Set(),
): (path: string) => boolean {
  if (fraction >= 1) return () => true;
  const threshold = Math.floor(fraction * 2 ** 32);
  return (path) => {
    if (pinned.has(path)) return true;
    const hash = createHash('sha256').update(drillId).update('\0').update(path).digest();
    return hash.readUInt32BE(0) < threshold;
  };
}
