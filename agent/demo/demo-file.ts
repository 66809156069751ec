/** A demo snapshot's file, as the estate generator (estate.ts) makes it and the ransomware (ransomware.ts) rewrites it. */

/** One file of a snapshot. */
export interface DemoFile {
  path: string;
  data: Buffer;
  mtime: Date;
}
