/** Reading from a BackupSource in tests: whole bodies, and the SourceError a read fails with. */
import type { Readable } from 'node:stream';
import { expect } from 'vitest';
import { SourceError } from '../../agent/errors.js';

/** Every byte of `stream`. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The SourceError `promise` rejects with (fails the test when it resolves or rejects with something else). */
export async function sourceFailure(promise: Promise<unknown>): Promise<SourceError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}
