import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { withIdleTimeout } from '../../agent/sources/idle-timeout.js';

class Failure extends Error {
  constructor(
    message: string,
    readonly upstream?: unknown,
  ) {
    super(message);
  }
}
const describeFailure = (message: string, cause?: unknown) => new Failure(message, cause);

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('withIdleTimeout', () => {
  it('fails a source that stalls while data is wanted', async () => {
    const stalled = new Readable({ read() {} });
    stalled.push(Buffer.from('abc'));
    const started = Date.now();
    const wrapped = withIdleTimeout(stalled, 100, describeFailure);
    const error = await collect(wrapped).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Failure);
    expect((error as Failure).message).toMatch(/no data received for 100 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(stalled.destroyed).toBe(true);
  });

  it('does not count time the consumer spends not reading', async () => {
    const data = Buffer.alloc(8 * 64 * 1024, 7);
    // Produces each chunk only when asked, so a naive "time since the last chunk" timer would fire.
    const source = Readable.from(
      (function* () {
        for (let offset = 0; offset < data.length; offset += 64 * 1024)
          yield data.subarray(offset, offset + 64 * 1024);
      })(),
    );
    const wrapped = withIdleTimeout(source, 50, describeFailure);
    const chunks: Buffer[] = [];
    for await (const chunk of wrapped) {
      chunks.push(chunk as Buffer);
      await sleep(150); // a slow consumer: 3× the idle timeout per chunk
    }
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('passes upstream errors through describe, with the cause', async () => {
    const broken = new Readable({
      read() {
        this.destroy(Object.assign(new Error('disk on fire'), { code: 'EIO' }));
      },
    });
    const error = (await collect(withIdleTimeout(broken, 1_000, describeFailure)).catch(
      (e: unknown) => e,
    )) as Failure;
    expect(error).toBeInstanceOf(Failure);
    expect(error.message).toMatch(/read failed: disk on fire/);
    expect((error.upstream as NodeJS.ErrnoException).code).toBe('EIO');
  });

  it('reports a source that closes before its end', async () => {
    const source = new Readable({ read() {} });
    const wrapped = withIdleTimeout(source, 1_000, describeFailure);
    const pending = collect(wrapped).catch((e: unknown) => e);
    source.push(Buffer.from('partial'));
    setImmediate(() => source.destroy());
    const error = (await pending) as Failure;
    expect(error).toBeInstanceOf(Failure);
    expect(error.message).toMatch(/premature close/i);
  });

  it('destroys the source when the consumer gives up', async () => {
    const source = new Readable({ read() {} });
    const wrapped = withIdleTimeout(source, 1_000, describeFailure);
    wrapped.destroy();
    await sleep(10);
    expect(source.destroyed).toBe(true);
  });
});
