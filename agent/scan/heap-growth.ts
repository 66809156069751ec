/**
 * Keeps V8's heap compact while a large snapshot is read.
 *
 * A scan's live heap stays flat (tens of MiB) however many entries a snapshot has, but reading a
 * million entries produces garbage fast — entry buffers of the sort spool live long enough to be
 * promoted, then die — and V8's default heap growth lets the old generation reach several times
 * the live heap between full collections (peak RSS 330 MiB on a 1,000,000-entry .tar.gz, of
 * which ~40 MiB live). Capping the growth factor at 2× brings that to ~255 MiB. It is not the
 * default for everything because it costs time where garbage is mostly large buffers (a .tar.gz
 * of big files scans ~20 % slower with it), so it is held only while some spool has spilled to
 * disk, i.e. while a snapshot too large for memory is being read (`npm run bench:scale`).
 *
 * The flag is read at every collection, so changing it while running takes effect at the next
 * one, in this thread and the worker threads alike.
 */
import { setFlagsFromString } from 'node:v8';

let holders = 0;

/** Caps heap growth until the returned function is called (nested holds are counted). */
export function holdCompactHeap(): () => void {
  if (holders++ === 0) setFlagsFromString('--heap-growing-percent=100');
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // 0 is V8's default: the growth factor is chosen from the collector's speed.
    if (--holders === 0) setFlagsFromString('--heap-growing-percent=0');
  };
}
