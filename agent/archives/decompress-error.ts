/** The error every decompressor throws for damaged or cut data (decompress.ts, tool-decompress.ts). */
import { VouchError } from '../errors.js';

/** Corrupt or truncated compressed data. */
export class DecompressError extends VouchError {
  override name = 'DecompressError';
  constructor(
    message: string,
    /** True when the data simply stops early (a cut object), false when it is damaged. */
    readonly truncated: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
