/** Progress of a scan, in source bytes. The CLI draws a bar on a terminal; elsewhere nothing. */

/** Receives progress events; every method must be cheap. */
export interface ScanProgress {
  /** More work became known (bytes of snapshots about to be considered). */
  addTotal(bytes: number): void;
  /** Bytes done (read, or skipped by the cheap pass). */
  advance(bytes: number): void;
  /** What is being scanned now. */
  status(text: string): void;
  /** The scan ended. */
  stop(): void;
}

/** Progress that goes nowhere. */
export const silentProgress: ScanProgress = { addTotal() {}, advance() {}, status() {}, stop() {} };
