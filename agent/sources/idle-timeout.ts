/**
 * Idle timeout for object bodies: wraps a byte stream so that it fails, instead of hanging, when
 * its source delivers no bytes for `ms` milliseconds **while the consumer is waiting for them**.
 *
 * Time spent with the consumer not asking for data (backpressure: a slow digest, a paused reader)
 * never counts as a stall; the clock runs only between "the consumer wants more" and "a chunk
 * arrived". Every failure of the wrapped stream (a stall, an upstream error, a premature close)
 * goes through `describe`, so callers get one typed error (e.g. a SourceError) whatever broke.
 */
import { Readable, finished } from 'node:stream';

/**
 * Builds the error the wrapped stream is destroyed with. `message` says what happened
 * (`no data received for 300 ms`, `read failed: …`); `cause` is the upstream error, if any.
 */
export type DescribeFailure = (message: string, cause?: unknown) => Error;

class IdleTimeoutStream extends Readable {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: Readable,
    private readonly ms: number,
    private readonly describe: DescribeFailure,
  ) {
    super();
    // Paused until the consumer asks (`_read`); attaching 'data' below must not start the flow.
    source.pause();
    source.on('data', (chunk: Buffer) => {
      this.disarm();
      if (this.destroyed) return;
      if (!this.push(chunk)) source.pause();
    });
    source.once('end', () => {
      this.disarm();
      if (!this.destroyed) this.push(null);
    });
    // Also covers a source that closes without 'end' (ERR_STREAM_PREMATURE_CLOSE).
    finished(source, (error) => {
      if (!error || this.destroyed) return;
      this.disarm();
      this.destroy(this.describe(`read failed: ${error.message}`, error));
    });
  }

  override _read(): void {
    this.arm();
    this.source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.disarm();
    if (!this.source.destroyed) this.source.destroy();
    callback(error);
  }

  private arm(): void {
    if (!(this.ms > 0) || !Number.isFinite(this.ms)) return;
    this.disarm();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.destroy(this.describe(`no data received for ${this.ms} ms (store stalled)`));
    }, this.ms);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Returns a stream with `stream`'s bytes that errors with `describe(…)` if `stream` stalls for
 * `ms` ms while data is wanted, errors, or closes early. `ms <= 0` disables the timer (errors are
 * still mapped). Destroying the returned stream destroys `stream` (for HTTP: aborts the response).
 */
export function withIdleTimeout(stream: Readable, ms: number, describe: DescribeFailure): Readable {
  return new IdleTimeoutStream(stream, ms, describe);
}
