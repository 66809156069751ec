/**
 * Prepares a plain-format pg_dump for restoring into a throwaway server as a non-superuser, the
 * way `pg_restore --no-owner --no-privileges` treats a custom-format dump: ownership
 * (`ALTER … OWNER TO`, `SET SESSION AUTHORIZATION`) and privilege (`GRANT`, `REVOKE`) statements
 * are dropped, so every object belongs to the restoring role and no role of the original cluster
 * has to exist. The dump's own `\restrict`/`\unrestrict` fence is dropped too: the caller puts
 * psql in restricted mode with a key the dump cannot know, so a hostile dump's `\!` shell escapes
 * and `\o` file writes fail the restore instead of running.
 *
 * COPY data is passed through untouched (a row may look like anything). Lines are split on `\n`;
 * a line longer than LONG_LINE bytes (a huge bytea row, a long statement) is passed through in
 * pieces, since no line this filter drops is that long.
 */
import { Transform, type TransformCallback } from 'node:stream';

const LONG_LINE = 1 << 20;
const DROPPED = [
  /^\\(?:un)?restrict\s+\S+\s*$/,
  /^ALTER\s+.+\s+OWNER\s+TO\s+.+;\s*$/,
  /^(?:GRANT|REVOKE)\s.+;\s*$/,
  /^SET\s+SESSION\s+AUTHORIZATION\s/i,
];
const COPY_START = /^COPY\s.+\sFROM\s+stdin;\s*$/;
const COPY_END = '\\.';

/** What the filter did, for the drill's report. */
export interface DumpFilterStats {
  droppedOwnership: number;
  droppedPrivileges: number;
  droppedFence: number;
}

/** Decides one complete line; returns whether to keep it and the new COPY state. Pure. */
export function filterDumpLine(
  line: string,
  inCopy: boolean,
  stats: DumpFilterStats,
): { keep: boolean; inCopy: boolean } {
  if (inCopy) return { keep: true, inCopy: line !== COPY_END };
  if (COPY_START.test(line)) return { keep: true, inCopy: true };
  const dropped = DROPPED.findIndex((pattern) => pattern.test(line));
  if (dropped === -1) return { keep: true, inCopy: false };
  if (dropped === 0) stats.droppedFence++;
  else if (dropped === 2) stats.droppedPrivileges++;
  else stats.droppedOwnership++;
  return { keep: false, inCopy: false };
}

/** A transform stream applying `filterDumpLine`, with `prefix` written first. */
export function createDumpFilter(prefix: string, stats: DumpFilterStats): Transform {
  let pending = Buffer.alloc(0);
  let inCopy = false;
  /** Inside a line longer than LONG_LINE that is being passed through. */
  let passingLongLine = false;
  let started = false;

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const out: Buffer[] = [];
      if (!started) {
        started = true;
        out.push(Buffer.from(prefix, 'utf8'));
      }
      let data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      pending = Buffer.alloc(0);
      let start = 0;
      for (let newline = data.indexOf(10, start); newline !== -1; newline = data.indexOf(10, start)) {
        const line = data.subarray(start, newline);
        if (passingLongLine) {
          out.push(data.subarray(start, newline + 1));
          passingLongLine = false;
        } else {
          const decided = filterDumpLine(line.toString('utf8').replace(/\r$/, ''), inCopy, stats);
          inCopy = decided.inCopy;
          if (decided.keep) out.push(data.subarray(start, newline + 1));
        }
        start = newline + 1;
      }
      data = data.subarray(start);
      if (passingLongLine || data.length > LONG_LINE) {
        out.push(data);
        passingLongLine = true;
      } else {
        pending = Buffer.from(data);
      }
      callback(null, out.length ? Buffer.concat(out) : undefined);
    },
    flush(callback: TransformCallback) {
      const out: Buffer[] = [];
      if (!started) out.push(Buffer.from(prefix, 'utf8'));
      if (pending.length && (passingLongLine || filterDumpLine(pending.toString('utf8'), inCopy, stats).keep))
        out.push(pending, Buffer.from('\n'));
      callback(null, out.length ? Buffer.concat(out) : undefined);
    },
  });
}
